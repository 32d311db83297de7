//! The connection a query runs on: what [`super::Db::conn`] hands every query function.
//!
//! It is a sqlx executor over `Any`, so a query is written once, bound once and read once
//! whichever connection runs it: a pooled sqlx connection (PostgreSQL's, or a SQLite
//! reader), or SQLite's writer, which runs statements on the calling thread
//! (`sqlite_direct.rs`).

use std::fmt;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt};
use sqlx::any::{AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo};
use sqlx::{Any, AnyConnection, Either, Execute, Executor};
use sqlx_core::describe::Describe;
use sqlx_core::sql_str::SqlStr;

use super::sqlite_direct::DirectConnection;

pub struct Conn<'c>(Target<'c>);

enum Target<'c> {
    /// A sqlx connection: PostgreSQL's.
    Pooled(&'c mut AnyConnection),
    /// A SQLite connection driven on this thread: the writer, or a reader.
    Direct(&'c mut DirectConnection),
}

impl<'c> Conn<'c> {
    pub(super) fn pooled(conn: &'c mut AnyConnection) -> Self {
        Conn(Target::Pooled(conn))
    }

    pub(super) fn direct(conn: &'c mut DirectConnection) -> Self {
        Conn(Target::Direct(conn))
    }
}

impl fmt::Debug for Conn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Target::Pooled(conn) => f.debug_tuple("Pooled").field(conn).finish(),
            Target::Direct(conn) => f.debug_tuple("Direct").field(conn).finish(),
        }
    }
}

impl<'c> Executor<'c> for Conn<'c> {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        mut query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self.0 {
            Target::Pooled(conn) => conn.fetch_many(query),
            Target::Direct(writer) => {
                let arguments = query.take_arguments();
                let sql = query.sql();
                let steps = async move {
                    let arguments = arguments.map_err(sqlx::Error::Encode)?;
                    writer.run(sql.as_str(), arguments.as_ref(), None)
                };
                stream::once(steps)
                    .flat_map(|ran| {
                        stream::iter(match ran {
                            Ok(steps) => steps.into_iter().map(Ok).collect(),
                            Err(e) => vec![Err(e)],
                        })
                    })
                    .boxed()
            }
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        mut query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self.0 {
            Target::Pooled(conn) => conn.fetch_optional(query),
            Target::Direct(writer) => {
                let arguments = query.take_arguments();
                let sql = query.sql();
                Box::pin(async move {
                    let arguments = arguments.map_err(sqlx::Error::Encode)?;
                    let steps = writer.run(sql.as_str(), arguments.as_ref(), Some(1))?;
                    Ok(steps.into_iter().find_map(Either::right))
                })
            }
        }
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement, sqlx::Error>>
    where
        'c: 'e,
    {
        match self.0 {
            Target::Pooled(conn) => conn.prepare_with(sql, parameters),
            Target::Direct(writer) => Box::pin(async move { writer.prepare(sql) }),
        }
    }

    /// What sqlx's query macros ask of a connection at build time; on the writer, what
    /// SQLite says of a prepared statement (its columns' nullability is not known).
    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        match self.0 {
            Target::Pooled(conn) => conn.describe(sql),
            Target::Direct(writer) => Box::pin(async move {
                let statement = writer.prepare(sql)?;
                Ok(Describe {
                    nullable: vec![None; statement.columns.len()],
                    columns: statement.columns,
                    parameters: statement.parameters,
                })
            }),
        }
    }
}
