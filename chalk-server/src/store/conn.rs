//! The connection a query runs on: what [`super::Db::conn`] hands every query function.
//!
//! It is a sqlx executor over `Any`, so a query is written once, bound once and read once
//! whichever connection runs it: a sqlx connection (PostgreSQL's), or a SQLite connection
//! (the writer or a reader) that runs statements on the calling thread
//! (`sqlite_direct.rs`).

use std::fmt;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt};
use sqlx::any::{AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo};
use sqlx::{Any, AnyConnection, Either, Execute, Executor};
use sqlx_core::describe::Describe;
use sqlx_core::sql_str::SqlStr;

use super::sqlite_direct::{DirectConnection, Steps};

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
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self.0 {
            Target::Pooled(conn) => conn.fetch_many(query),
            Target::Direct(conn) => stream::once(run(conn, query, None))
                .flat_map(|ran| {
                    stream::iter(match ran {
                        Ok(steps) => steps.into_iter().map(Ok).collect(),
                        Err(e) => vec![Err(e)],
                    })
                })
                .boxed(),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self.0 {
            Target::Pooled(conn) => conn.fetch_optional(query),
            Target::Direct(conn) => {
                let steps = run(conn, query, Some(1));
                Box::pin(async move { Ok(steps.await?.into_iter().find_map(Either::right)) })
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
            Target::Direct(conn) => Box::pin(async move { conn.prepare(sql) }),
        }
    }

    /// What sqlx's query macros ask of a connection at build time; on a direct connection,
    /// what SQLite says of a prepared statement (its columns' nullability is not known).
    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        match self.0 {
            Target::Pooled(conn) => conn.describe(sql),
            Target::Direct(conn) => Box::pin(async move {
                let statement = conn.prepare(sql)?;
                Ok(Describe {
                    nullable: vec![None; statement.columns.len()],
                    columns: statement.columns,
                    parameters: statement.parameters,
                })
            }),
        }
    }
}

/// A query on a direct connection, run when first polled: its text, with the arguments it
/// was bound with.
fn run<'e, 'q: 'e, E>(
    conn: &'e mut DirectConnection,
    mut query: E,
    limit: Option<usize>,
) -> impl Future<Output = Result<Steps, sqlx::Error>> + Send + 'e
where
    E: 'q + Execute<'q, Any>,
{
    let arguments = query.take_arguments();
    let sql = query.sql();
    async move {
        let arguments = arguments.map_err(sqlx::Error::Encode)?;
        conn.run(sql.as_str(), arguments.as_ref(), limit)
    }
}
