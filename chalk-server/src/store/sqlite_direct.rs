//! SQLite connections driven on the calling thread: the writer, and the readers' pool.
//!
//! sqlx's SQLite driver gives every connection a thread of its own and sends each
//! statement there and its result back: two thread hand-offs per statement, ~85 µs on
//! this kind of machine, against the few microseconds SQLite itself takes for a one-row
//! write or an indexed read. Every write serializes on the one writer connection
//! (`group_commit.rs`), so those hand-offs, not SQLite, bounded how many writes a second
//! the server commits; and a write's next request re-reads what it changed.
//!
//! These connections run each statement where it is called, through rusqlite (the same
//! SQLite library sqlx links). They speak sqlx's `Any` types — the `AnyArguments` a query
//! was bound with, and `AnyRow`s and `AnyQueryResult`s back — so the store's queries run
//! on them unchanged, through [`super::conn::Conn`], exactly as on a sqlx connection: the
//! same text, the same `$n` parameters, the same rows, the same errors (extended result
//! codes and SQLite's messages, as sqlx reports them).
//!
//! A statement blocks the async worker that runs it for as long as SQLite takes: a
//! writer's statement or an indexed read takes microseconds, and every list the API reads
//! is a bounded page. A COMMIT waits for the disk, so the group committer runs it off the
//! async workers ([`DirectConnection::commit`]).

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{OpenFlags, Statement};
use sqlx::Either;
use sqlx::any::{
    AnyArguments, AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo, AnyTypeInfoKind, AnyValue,
};
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx_core::HashMap;
use sqlx_core::any::{AnyColumn, AnyValueKind};
use sqlx_core::ext::ustr::UStr;
use sqlx_core::sql_str::SqlStr;

/// Statements the writer keeps prepared: every write's text, with room to spare.
const PREPARED_STATEMENTS: usize = 256;

/// What one statement (or each of a script's) gave back, in order.
pub(super) type Steps = Vec<Either<AnyQueryResult, AnyRow>>;

/// A statement text's columns: their names in order, and name → ordinal as every row of
/// the text shares it (as sqlx shares it).
struct Columns {
    names: Vec<UStr>,
    ordinals: Arc<HashMap<UStr, usize>>,
}

type ColumnNames = Arc<Columns>;

pub(super) struct DirectConnection {
    conn: rusqlite::Connection,
    /// Each statement text's column names, built once.
    columns: std::collections::HashMap<Box<str>, ColumnNames>,
}

impl fmt::Debug for DirectConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectConnection").finish_non_exhaustive()
    }
}

impl DirectConnection {
    /// Opens the database at `path` (already created and migrated, in WAL mode) for
    /// writing, with the settings every connection of the store has: every commit synced
    /// (`FULL`), foreign keys enforced (a tenant's deletion cascades), and a wait instead of
    /// an error while another process holds the database. Statement journals stay in
    /// memory: every member of a batch has a savepoint, and its journal spilled into a
    /// temporary file past 64 KiB, the larger part of the writer's writes.
    ///
    /// The log is checkpointed into the database every 8,000 pages (32 MiB) instead of
    /// SQLite's 1,000: a checkpoint runs inside the COMMIT that crosses the mark, and copies
    /// each page once however many commits rewrote it, so the fewer the checkpoints, the
    /// fewer copies of the pages every batch rewrites (the ends of the tables and of the
    /// time-ordered indexes). `POST /tenants` at 100k tenants: ~6.3k → ~7.3k req/s,
    /// alternated. The log is gone after a clean stop ([`super::Store::close`]), so a
    /// restart has none to recover.
    pub(super) fn open_writer(path: &Path) -> Result<Self, String> {
        Self::open(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE,
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
             PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 8000",
        )
        .map_err(|e| format!("cannot open the SQLite database for writing: {e}"))
    }

    /// Opens the database at `path` read-only: a reader never writes, and under WAL it
    /// never waits for the writer.
    fn open_reader(path: &Path) -> Result<Self, sqlx::Error> {
        Self::open(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY,
            "PRAGMA busy_timeout = 10000; PRAGMA temp_store = MEMORY",
        )
    }

    fn open(path: &Path, flags: OpenFlags, settings: &str) -> Result<Self, sqlx::Error> {
        let conn =
            rusqlite::Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(database_error)?;
        conn.set_prepared_statement_cache_capacity(PREPARED_STATEMENTS);
        conn.execute_batch(settings).map_err(database_error)?;
        Ok(Self {
            conn,
            columns: std::collections::HashMap::new(),
        })
    }

    /// Runs `sql` — one statement, or a script of several — with `arguments` bound to its
    /// `$n` (or `?n`) parameters, and returns each statement's rows followed by its
    /// result. With `limit`, a statement stops after that many rows (all of its changes
    /// are made by its first step, `RETURNING` included).
    pub(super) fn run(
        &mut self,
        sql: &str,
        arguments: Option<&AnyArguments>,
        limit: Option<usize>,
    ) -> Result<Steps, sqlx::Error> {
        let values = arguments.map_or(&[][..], |a| a.values.0.as_slice());
        let mut steps = Vec::new();
        match self.conn.prepare_cached(sql) {
            Ok(mut statement) => {
                let names = column_names(&mut self.columns, sql, &statement);
                run_statement(&self.conn, &mut statement, values, limit, names, &mut steps)?;
            }
            // A script (several statements in one text): each is prepared as it comes.
            Err(rusqlite::Error::MultipleStatement) => {
                let mut batch = rusqlite::Batch::new(&self.conn, sql);
                while let Some(mut statement) = batch.next().map_err(database_error)? {
                    let names = names_of(&statement);
                    run_statement(&self.conn, &mut statement, values, limit, names, &mut steps)?;
                }
            }
            Err(e) => return Err(database_error(e)),
        }
        Ok(steps)
    }

    /// Prepares `sql` (one statement) and describes it as sqlx's SQLite driver does: its
    /// parameter count and its columns, untyped until a row says what they hold.
    pub(super) fn prepare(&mut self, sql: SqlStr) -> Result<AnyStatement, sqlx::Error> {
        let statement = self
            .conn
            .prepare_cached(sql.as_str())
            .map_err(database_error)?;
        let names = column_names(&mut self.columns, sql.as_str(), &statement);
        let parameters = statement.parameter_count();
        drop(statement);
        Ok(AnyStatement {
            sql,
            parameters: Some(Either::Right(parameters)),
            column_names: names.ordinals.clone(),
            columns: (0..)
                .zip(&names.names)
                .map(|(ordinal, name)| AnyColumn {
                    ordinal,
                    name: name.clone(),
                    type_info: AnyTypeInfo {
                        kind: AnyTypeInfoKind::Null,
                    },
                })
                .collect(),
        })
    }

    /// Runs `COMMIT` on a blocking thread: it waits for the disk, and the async workers go
    /// on serving meanwhile. Takes the connection and gives it back, whatever the outcome.
    pub(super) async fn commit(mut self) -> (Self, Result<(), sqlx::Error>) {
        let ran = tokio::task::spawn_blocking(move || {
            let result = self.run("COMMIT", None, None).map(drop);
            (self, result)
        })
        .await;
        match ran {
            Ok(done) => done,
            // The closure does not panic short of SQLite aborting; nothing to give back.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

/// The readers: up to a number of read-only connections, opened as needed and kept.
pub(super) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<DirectConnection>>,
    permits: Arc<Semaphore>,
}

impl Readers {
    pub(super) fn new(path: PathBuf, connections: usize) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(connections)),
        }
    }

    /// A reader: an idle one, or a new one while fewer than the limit are open; else the
    /// first to come back.
    pub(super) async fn acquire(self: &Arc<Self>) -> Result<Reader, sqlx::Error> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => DirectConnection::open_reader(&self.path)?,
        };
        Ok(Reader {
            conn: Some(conn),
            readers: self.clone(),
            _permit: permit,
        })
    }

    /// Refuses new readers and closes the idle ones; those in use close when they come
    /// back.
    pub(super) fn close(&self) {
        self.permits.close();
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// A reader out of the pool; back in it when dropped.
pub(super) struct Reader {
    conn: Option<DirectConnection>,
    readers: Arc<Readers>,
    _permit: OwnedSemaphorePermit,
}

impl Reader {
    /// Its connection; `None` only once dropped.
    pub(super) fn conn(&mut self) -> Option<&mut DirectConnection> {
        self.conn.as_mut()
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        // A read transaction its user left open would pin an old snapshot of the
        // database for every later user: ended here, or the connection is not kept.
        if !conn.conn.is_autocommit() && conn.conn.execute_batch("ROLLBACK").is_err() {
            return;
        }
        if !self.readers.permits.is_closed() {
            self.readers
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
        }
    }
}

fn run_statement(
    conn: &rusqlite::Connection,
    statement: &mut Statement<'_>,
    values: &[AnyValueKind],
    limit: Option<usize>,
    names: ColumnNames,
    steps: &mut Steps,
) -> Result<(), sqlx::Error> {
    bind(statement, values)?;
    let read_only = statement.readonly();
    let mut rows = statement.raw_query();
    let mut taken = 0;
    while limit.is_none_or(|limit| taken < limit) {
        let Some(row) = rows.next().map_err(database_error)? else {
            break;
        };
        steps.push(Either::Right(any_row(row, &names)?));
        taken += 1;
    }
    drop(rows);
    steps.push(Either::Left(AnyQueryResult {
        rows_affected: if read_only { 0 } else { conn.changes() },
        last_insert_id: None,
    }));
    Ok(())
}

/// Binds each parameter of `statement` to its argument: `$n` and `?n` to the n-th, a bare
/// `?` to the next in order — how sqlx binds them on SQLite.
fn bind(statement: &mut Statement<'_>, values: &[AnyValueKind]) -> Result<(), sqlx::Error> {
    let count = statement.parameter_count();
    for index in 1..=count {
        let argument = match statement.parameter_name(index) {
            Some(name) => name[1..]
                .parse::<usize>()
                .map_err(|_| sqlx::Error::Protocol(format!("unsupported parameter {name}")))?,
            None => index,
        };
        // `$0` names no argument (they count from 1), like one past the last.
        let value = argument.checked_sub(1).and_then(|i| values.get(i));
        let value = value.ok_or_else(|| {
            sqlx::Error::Protocol(format!(
                "the statement has parameter {argument}, but {} arguments were bound",
                values.len()
            ))
        })?;
        statement
            .raw_bind_parameter(index, sqlite_value(value)?)
            .map_err(database_error)?;
    }
    Ok(())
}

/// An argument as SQLite stores it: booleans as 0/1, every integer as 64 bits, every float
/// as double — what sqlx's SQLite driver binds.
fn sqlite_value(value: &AnyValueKind) -> Result<ToSqlOutput<'_>, sqlx::Error> {
    Ok(ToSqlOutput::Borrowed(match value {
        AnyValueKind::Null(_) => ValueRef::Null,
        AnyValueKind::Bool(b) => ValueRef::Integer(i64::from(*b)),
        AnyValueKind::SmallInt(i) => ValueRef::Integer(i64::from(*i)),
        AnyValueKind::Integer(i) => ValueRef::Integer(i64::from(*i)),
        AnyValueKind::BigInt(i) => ValueRef::Integer(*i),
        AnyValueKind::Real(r) => ValueRef::Real(f64::from(*r)),
        AnyValueKind::Double(d) => ValueRef::Real(*d),
        AnyValueKind::Text(t) => ValueRef::Text(t.as_bytes()),
        AnyValueKind::TextSlice(t) => ValueRef::Text(t.as_bytes()),
        AnyValueKind::Blob(b) => ValueRef::Blob(b),
        other => {
            return Err(sqlx::Error::Protocol(format!(
                "cannot bind {other:?} on SQLite"
            )));
        }
    }))
}

/// A row as sqlx's SQLite driver hands it to `Any`: each value typed by what SQLite holds
/// (integers as 64 bits, floats as double).
fn any_row(row: &rusqlite::Row<'_>, names: &ColumnNames) -> Result<AnyRow, sqlx::Error> {
    let count = names.names.len();
    let mut columns = Vec::with_capacity(count);
    let mut values = Vec::with_capacity(count);
    for ordinal in 0..count {
        let (kind, type_kind) = match row.get_ref(ordinal).map_err(database_error)? {
            ValueRef::Null => (
                AnyValueKind::Null(AnyTypeInfoKind::Null),
                AnyTypeInfoKind::Null,
            ),
            ValueRef::Integer(i) => (AnyValueKind::BigInt(i), AnyTypeInfoKind::BigInt),
            ValueRef::Real(f) => (AnyValueKind::Double(f), AnyTypeInfoKind::Double),
            ValueRef::Text(bytes) => {
                let text =
                    String::from_utf8(bytes.to_vec()).map_err(|e| sqlx::Error::ColumnDecode {
                        index: ordinal.to_string(),
                        source: Box::new(e),
                    })?;
                (AnyValueKind::Text(Arc::new(text)), AnyTypeInfoKind::Text)
            }
            ValueRef::Blob(bytes) => (
                AnyValueKind::Blob(Arc::new(bytes.to_vec())),
                AnyTypeInfoKind::Blob,
            ),
        };
        let type_info = AnyTypeInfo { kind: type_kind };
        columns.push(AnyColumn {
            ordinal,
            name: names.names[ordinal].clone(),
            type_info,
        });
        values.push(AnyValue { kind });
    }
    Ok(AnyRow {
        column_names: names.ordinals.clone(),
        columns,
        values,
    })
}

/// The column names of a statement text, built at its first run.
fn column_names(
    cache: &mut std::collections::HashMap<Box<str>, ColumnNames>,
    sql: &str,
    statement: &Statement<'_>,
) -> ColumnNames {
    if let Some(names) = cache.get(sql) {
        return names.clone();
    }
    let names = names_of(statement);
    // Texts are the store's own, a bounded set; a bound all the same.
    if cache.len() >= PREPARED_STATEMENTS {
        cache.clear();
    }
    cache.insert(sql.into(), names.clone());
    names
}

fn names_of(statement: &Statement<'_>) -> ColumnNames {
    let names: Vec<UStr> = statement
        .column_names()
        .into_iter()
        .map(UStr::new)
        .collect();
    let ordinals = names.iter().cloned().zip(0..).collect();
    Arc::new(Columns {
        names,
        ordinals: Arc::new(ordinals),
    })
}

/// A SQLite error as sqlx's SQLite driver reports it: the extended result code as the
/// code, SQLite's own message, and the kind of constraint that refused the write.
#[derive(Debug)]
struct SqliteFailure {
    code: i32,
    message: String,
}

fn database_error(error: rusqlite::Error) -> sqlx::Error {
    match error {
        rusqlite::Error::SqliteFailure(failure, message) => {
            sqlx::Error::Database(Box::new(SqliteFailure {
                code: failure.extended_code,
                message: message.unwrap_or_else(|| failure.to_string()),
            }))
        }
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

impl fmt::Display for SqliteFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for SqliteFailure {}

impl DatabaseError for SqliteFailure {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(self.code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        use rusqlite::ffi;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The writer must be indistinguishable from sqlx's SQLite driver to the store's
    //! queries: each test runs the same text on both, over one database, and compares.

    use sqlx::{AnyConnection, Connection, Executor, Row};

    use super::*;
    use crate::store::conn::Conn;
    use crate::store::{StoreError, store_error};

    struct Both {
        _dir: tempfile::TempDir,
        writer: DirectConnection,
        sqlx: AnyConnection,
    }

    async fn both() -> Both {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chalk.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let mut sqlx = AnyConnection::connect(&url).await.unwrap();
        sqlx.execute(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, \
             name TEXT NOT NULL UNIQUE, score REAL, data BLOB, flag INTEGER, note TEXT)",
        )
        .await
        .unwrap();
        let writer = DirectConnection::open_writer(&path).unwrap();
        Both {
            _dir: dir,
            writer,
            sqlx,
        }
    }

    /// A row as the store would see it: each column's name and value (any NULL alike).
    fn rendered(row: &AnyRow) -> Vec<String> {
        row.columns
            .iter()
            .zip(&row.values)
            .map(|(column, value)| match &value.kind {
                AnyValueKind::Null(_) => format!("{}=NULL", column.name),
                kind => format!("{}={kind:?}", column.name),
            })
            .collect()
    }

    const INSERT: &str = "INSERT INTO t (name, score, data, flag, note, id) \
                          VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, name";

    #[tokio::test]
    async fn rows_parameters_and_results_read_as_sqlx_reads_them() {
        let mut db = both().await;
        // Out of order and repeated parameters, every kind of value the store binds.
        let inserted = sqlx::query(INSERT)
            .bind("ada")
            .bind(2.5_f64)
            .bind(vec![0_u8, 1, 2])
            .bind(true)
            .bind(None::<String>)
            .bind(7_i64)
            .fetch_one(Conn::direct(&mut db.writer))
            .await
            .unwrap();
        assert_eq!(rendered(&inserted), ["id=BigInt(7)", "name=Text(\"ada\")"]);
        assert_eq!(inserted.try_get::<i64, _>("id").unwrap(), 7);

        let select = "SELECT id, name, score, data, flag, note, $2 || $1 AS joined \
                      FROM t WHERE name = $1";
        let from_writer = sqlx::query(select)
            .bind("ada")
            .bind("hi ")
            .fetch_all(Conn::direct(&mut db.writer))
            .await
            .unwrap();
        let from_sqlx = sqlx::query(select)
            .bind("ada")
            .bind("hi ")
            .fetch_all(&mut db.sqlx)
            .await
            .unwrap();
        assert_eq!(from_writer.len(), 1);
        assert_eq!(rendered(&from_writer[0]), rendered(&from_sqlx[0]));
        let row = &from_writer[0];
        assert_eq!(row.try_get::<String, _>("joined").unwrap(), "hi ada");
        assert_eq!(row.try_get::<Vec<u8>, _>("data").unwrap(), [0, 1, 2]);
        assert_eq!(row.try_get::<f64, _>("score").unwrap(), 2.5);
        assert_eq!(row.try_get::<Option<String>, _>("note").unwrap(), None);
        assert_eq!(row.try_get::<i64, _>("flag").unwrap(), 1);

        let updated = sqlx::query("UPDATE t SET score = score + 1 WHERE id >= $1")
            .bind(0_i64)
            .execute(Conn::direct(&mut db.writer))
            .await
            .unwrap();
        assert_eq!(updated.rows_affected(), 1);
        let read = sqlx::query("SELECT count(*) AS n FROM t")
            .execute(Conn::direct(&mut db.writer))
            .await
            .unwrap();
        assert_eq!(read.rows_affected(), 0);
    }

    #[tokio::test]
    async fn fetch_optional_takes_one_row_and_a_script_runs_every_statement() {
        let mut db = both().await;
        sqlx::query(
            "INSERT INTO t (name) VALUES ('a'); INSERT INTO t (name) VALUES ('b'); \
             INSERT INTO t (name) VALUES ('c')",
        )
        .execute(Conn::direct(&mut db.writer))
        .await
        .unwrap();
        // All of an UPDATE … RETURNING's changes are made, whatever is read of it.
        let first = sqlx::query("UPDATE t SET note = 'seen' RETURNING name")
            .fetch_optional(Conn::direct(&mut db.writer))
            .await
            .unwrap();
        assert!(first.is_some());
        let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM t WHERE note = 'seen'")
            .fetch_one(&mut db.sqlx)
            .await
            .unwrap();
        assert_eq!(seen, 3);
    }

    #[tokio::test]
    async fn errors_carry_sqlx_codes_and_messages() {
        let mut db = both().await;
        let insert =
            |name: &'static str| sqlx::query("INSERT INTO t (name) VALUES ($1)").bind(name);
        insert("ada")
            .execute(Conn::direct(&mut db.writer))
            .await
            .unwrap();
        let from_writer = insert("ada")
            .execute(Conn::direct(&mut db.writer))
            .await
            .unwrap_err();
        let from_sqlx = insert("ada").execute(&mut db.sqlx).await.unwrap_err();
        assert_eq!(from_writer.to_string(), from_sqlx.to_string());
        let conflict = store_error(from_writer);
        assert!(conflict.is_conflict_on("t.name"), "{conflict:?}");
        assert_eq!(conflict.to_string(), store_error(from_sqlx).to_string());

        let null = "INSERT INTO t (name) VALUES (NULL)";
        let from_writer = sqlx::query(null)
            .execute(Conn::direct(&mut db.writer))
            .await
            .unwrap_err();
        let from_sqlx = sqlx::query(null).execute(&mut db.sqlx).await.unwrap_err();
        let (Some(writer), Some(sqlx)) = (
            from_writer.as_database_error(),
            from_sqlx.as_database_error(),
        ) else {
            panic!("database errors expected: {from_writer:?}, {from_sqlx:?}");
        };
        assert_eq!(writer.code(), sqlx.code());
        assert_eq!(writer.message(), sqlx.message());
        assert_eq!(writer.kind(), sqlx.kind());

        // A parameter with no argument is refused, and nothing is written.
        let short = sqlx::query("INSERT INTO t (name, note) VALUES ($1, $2)")
            .bind("bob")
            .execute(Conn::direct(&mut db.writer))
            .await
            .unwrap_err();
        assert!(short.to_string().contains("parameter 2"), "{short}");
        assert!(matches!(store_error(short), StoreError::Internal(_)));
        // Arguments count from 1: `$0` names none.
        let zero = sqlx::query("INSERT INTO t (name) VALUES ($0)")
            .bind("bob")
            .execute(Conn::direct(&mut db.writer))
            .await
            .unwrap_err();
        assert!(zero.to_string().contains("parameter 0"), "{zero}");
        let bobs: i64 = sqlx::query_scalar("SELECT count(*) FROM t WHERE name = 'bob'")
            .fetch_one(&mut db.sqlx)
            .await
            .unwrap();
        assert_eq!(bobs, 0);
    }

    #[tokio::test]
    async fn a_commit_runs_off_thread_and_gives_the_connection_back() {
        let mut db = both().await;
        db.writer.run("BEGIN", None, None).unwrap();
        db.writer
            .run("INSERT INTO t (name) VALUES ('kept')", None, None)
            .unwrap();
        let (writer, committed) = db.writer.commit().await;
        committed.unwrap();
        let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM t WHERE name = 'kept'")
            .fetch_one(&mut db.sqlx)
            .await
            .unwrap();
        assert_eq!(kept, 1);
        // No transaction is open: a second COMMIT fails, and says why.
        let (mut writer, again) = writer.commit().await;
        let again = again.unwrap_err().to_string();
        assert!(again.contains("no transaction is active"), "{again}");
        writer.run("SELECT 1", None, None).unwrap();
    }

    #[tokio::test]
    async fn readers_are_read_only_limited_and_come_back_outside_any_transaction() {
        let mut db = both().await;
        sqlx::query("INSERT INTO t (name) VALUES ('first')")
            .execute(&mut db.sqlx)
            .await
            .unwrap();
        let readers = Arc::new(Readers::new(db._dir.path().join("chalk.db"), 2));
        let count = "SELECT count(*) AS n FROM t";

        // A reader cannot write.
        let mut reader = readers.acquire().await.unwrap();
        let refused = sqlx::query("INSERT INTO t (name) VALUES ('no')")
            .execute(Conn::direct(reader.conn().unwrap()))
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("readonly"), "{refused}");

        // One left open in a read transaction goes back to the pool without it: the next
        // user of that connection sees what was committed since.
        sqlx::query("BEGIN")
            .execute(Conn::direct(reader.conn().unwrap()))
            .await
            .unwrap();
        let before = sqlx::query(count)
            .fetch_one(Conn::direct(reader.conn().unwrap()))
            .await
            .unwrap();
        assert_eq!(before.try_get::<i64, _>("n").unwrap(), 1);
        drop(reader);
        sqlx::query("INSERT INTO t (name) VALUES ('second')")
            .execute(&mut db.sqlx)
            .await
            .unwrap();
        let mut again = readers.acquire().await.unwrap();
        let after = sqlx::query(count)
            .fetch_one(Conn::direct(again.conn().unwrap()))
            .await
            .unwrap();
        assert_eq!(after.try_get::<i64, _>("n").unwrap(), 2);

        // Two at most: a third waits until one comes back.
        let second = readers.acquire().await.unwrap();
        let third = readers.clone();
        let waiting = tokio::spawn(async move { third.acquire().await.map(drop) });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        drop(second);
        waiting.await.unwrap().unwrap();

        // Closed, the pool hands out no more readers.
        readers.close();
        assert!(matches!(
            readers.acquire().await.map(drop),
            Err(sqlx::Error::PoolClosed)
        ));
        drop(again);
    }
}
