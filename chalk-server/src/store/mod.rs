//! The store: one SQL implementation for SQLite and PostgreSQL, a unit of work, and the
//! cache of what the hot paths read.
//!
//! Every query is written once, in portable SQL (`$n` parameters, `RETURNING`,
//! `INSERT … ON CONFLICT`, `COALESCE`/`CASE`), bound and read with sqlx's `Any` types on
//! either database ([`Conn`]): through sqlx's driver on PostgreSQL, and on the calling
//! thread on SQLite (`sqlite_direct.rs`). What really differs between the two lives in
//! [`Dialect`]: how the pools are set up (SQLite: one writer connection and a read-only
//! pool; PostgreSQL: one shared pool),
//! which migrations apply, how a boolean column reads back and which errors mean "try again".
//!
//! The unit of work is a [`Db`]: [`Store::begin`] hands out a write transaction that the
//! domain passes to every query of one change (the change, its idempotency record, its audit
//! entry and its events), then commits — or drops it, which rolls everything back.
//! [`Store::read`] hands out a read connection for requests that change nothing. A write
//! that changes what the cache may hold registers it on its `Db` ([`Db::invalidate`]);
//! [`Db::commit`] is the one place that applies what was registered, to this instance's
//! cache once the COMMIT returns (and, on PostgreSQL, to the others' through a `NOTIFY`
//! sent only if it commits).
//!
//! Its modules, the queries per resource taking `&mut Db` (usable in either):
//! - `tenants`: tenants, their usage counters and the tenant lock; the cached snapshot read.
//! - `keys`: API keys (hashes only), revoke and primary rotation.
//! - `operator_keys`: operator (master) keys.
//! - `refresh`: refresh tokens, single use, in families.
//! - `signing_keys`: the token signing keys, sealed.
//! - `rooms`: rooms — create, read, list, end, the empty-room sweep.
//! - `participants`: joining a room, participants' token generations, leaving.
//! - `idempotency`: idempotency records, committed with the change they answer for.
//! - `audit`: the audit log, append-only.
//! - `events`: a tenant's events, written with the change that caused them.
//! - `webhooks`: webhook endpoints.
//! - `deliveries`: webhook deliveries, the delivery worker's queue.
//! - `usage`: usage metering, per tenant and UTC hour; kept after a tenant's deletion.
//!
//! and what they stand on:
//! - `rows`: the rows the cache holds (tenants, keys, rooms, participants), plain data.
//! - `stored_config`: a tenant's config as stored (secrets sealed) and its masked wire form.
//! - `cache`: the cache — its maps, tickets against stale fills, invalidations, and the
//!   listener's proof of life; it imports only `rows`.
//! - `listener`: PostgreSQL, hears other instances' invalidations.
//! - `conn`: the connection a query runs on, whichever it is.
//! - `group_commit`: SQLite, write transactions that arrive together share one COMMIT.
//! - `sqlite_direct`: SQLite's connections (the writer, the readers), statements run on the
//!   calling thread.
//! - `migrations`: the schema's migrations, and a new SQLite database's in one transaction.
//!
//! Invariants that concurrent requests could break (one primary key, single-use refresh
//! tokens, idempotency reservations, revision checks, quotas) are enforced inside the
//! transaction — a conditional statement, a unique index, or a lock on the tenant row
//! taken by a no-op `UPDATE` — never by a read in the handler followed by a write.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use chalk_sdk::model::{Scope, TenantStatus};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Executor, Row, Transaction};

use crate::store::cache::{Cache, Invalidation};

pub mod audit;
pub mod cache;
mod conn;
pub mod deliveries;
pub mod events;
mod group_commit;
pub mod idempotency;
pub mod keys;
mod listener;
pub mod migrations;
pub mod operator_keys;
pub mod participants;
pub mod refresh;
pub mod rooms;
pub mod rows;
pub mod signing_keys;
pub mod snapshot;
mod sqlite_direct;
pub mod stored_config;
pub mod tenants;
pub mod usage;
pub mod usage_reads;
pub mod webhooks;

pub use conn::Conn;
pub use idempotency::{IdempotencyBegin, IdempotencyReservation};
pub use keys::{NewApiKey, RevokeKeyOutcome};
pub use participants::{JoinOutcome, JoinRules, NewParticipant, RotateParticipantOutcome};
pub use refresh::{NewRefreshToken, RefreshOutcome};
pub use rooms::{CreateRoomOutcome, EmptyRoom, EndRoomOutcome, NewRoom};
pub use rows::{
    ApiKeyRow, KeyAuth, ParticipantAuth, ParticipantRow, RoomRow, TenantRow, TenantSnapshot,
    Timestamp,
};
pub use tenants::{CreateTenantOutcome, TenantChange, TenantFilter, UpdateOutcome};

/// Connections per PostgreSQL instance; several instances share the server's
/// `max_connections`.
const POSTGRES_CONNECTIONS: u32 = 16;
/// Parallel SQLite readers beside the one writer.
const SQLITE_READERS: usize = 8;
/// How long a read waits for a reader before the store is reported unavailable.
const READ_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A row the operation needs does not exist (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique constraint refused the write; names the constraint (or, on SQLite, the
    /// columns) so domain code can say which field is taken (409).
    #[error("unique constraint violated: {0}")]
    Conflict(String),
    /// The database cannot be reached, or asked us to try again (503).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else unexpected (500).
    #[error("store error: {0}")]
    Internal(String),
}

impl StoreError {
    /// A unique violation on a constraint whose name (or column list) mentions `what`.
    pub fn is_conflict_on(&self, what: &str) -> bool {
        matches!(self, StoreError::Conflict(constraint) if constraint.contains(what))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// SQLSTATE classes that mean "try again later" rather than "this request is wrong":
/// connection exceptions (08), too many connections (53300), operator intervention (57P),
/// deadlock (40P01), serialization failure (40001); SQLite's BUSY (5) and LOCKED (6).
fn is_transient(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("57P")
        || matches!(
            code,
            "53300" | "40P01" | "40001" | "5" | "6" | "517" | "262"
        )
}

/// Every sqlx error of every query goes through here, so both databases classify alike.
pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error.to_string()),
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(
            // PostgreSQL names the constraint; SQLite says "UNIQUE constraint failed: …"
            // with the index or the columns in its message.
            db.constraint()
                .map_or_else(|| db.message().to_owned(), str::to_owned),
        ),
        sqlx::Error::Database(db) if db.code().is_some_and(|c| is_transient(&c)) => {
            StoreError::Unavailable(error.to_string())
        }
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::ColumnNotFound(_) => column_error(error),
        _ => StoreError::Internal(error.to_string()),
    }
}

/// A column that cannot be read as the type the code expects: the schema and the code
/// disagree, which no retry mends (500).
pub(crate) fn column_error(error: sqlx::Error) -> StoreError {
    StoreError::Internal(format!("column: {error}"))
}

/// Reads one column, reporting a missing or mistyped column as an error on both databases.
pub(crate) fn col<'r, T>(row: &'r AnyRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(name).map_err(column_error)
}

/// A flag column: BOOLEAN on PostgreSQL, INTEGER 0/1 on SQLite (the dialect's one type
/// difference that reaches row mapping).
pub(crate) fn flag(row: &AnyRow, name: &str) -> StoreResult<bool> {
    match row.try_get::<bool, _>(name) {
        Ok(value) => Ok(value),
        Err(_) => Ok(col::<i64>(row, name)? != 0),
    }
}

pub(crate) fn parse_tenant_status(text: &str) -> StoreResult<TenantStatus> {
    match text {
        "active" => Ok(TenantStatus::Active),
        "suspended" => Ok(TenantStatus::Suspended),
        other => Err(StoreError::Internal(format!(
            "unknown tenant status {other:?}"
        ))),
    }
}

pub(crate) fn scopes_to_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn scopes_from_text(text: &str) -> StoreResult<Vec<Scope>> {
    text.split_whitespace()
        .map(|s| s.parse().map_err(StoreError::Internal))
        .collect()
}

/// Where SQLite and PostgreSQL really differ; everything else is one text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn of_url(url: &str) -> Result<Self, String> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Dialect::Postgres)
        } else {
            let scheme = url.split(':').next().unwrap_or("");
            Err(format!(
                "database URL scheme {scheme:?} is not supported; use sqlite://PATH or postgres://USER@HOST/DB"
            ))
        }
    }
}

/// Test hook: makes the Nth step of the write transactions that follow fail, to prove that
/// a failure anywhere in a change leaves nothing behind. A step is each statement run in a
/// write transaction, and each commit. Disarmed (`-1`) outside tests; the check is one
/// atomic load.
#[derive(Debug)]
pub struct Faults {
    /// Steps to let through before failing one; negative when disarmed.
    countdown: AtomicI64,
    /// When set, the next commit is made durable and *then* reported as failed, as when
    /// the connection drops after the database committed.
    fail_after_commit: AtomicBool,
    /// When set, the next commit, once handed to the database, never reports back: the
    /// request waits until its future is dropped, as when its client disconnects then.
    stall_after_handoff: AtomicBool,
    /// Counts every step, armed or not.
    taken: AtomicU64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            countdown: AtomicI64::new(-1),
            fail_after_commit: AtomicBool::new(false),
            stall_after_handoff: AtomicBool::new(false),
            taken: AtomicU64::new(0),
        }
    }
}

impl Faults {
    /// Fails the write step `steps` from now (0: the very next one), once.
    pub fn fail_step(&self, steps: i64) {
        self.countdown.store(steps, Ordering::SeqCst);
    }

    /// The next commit succeeds in the database but is reported as an error.
    pub fn fail_after_commit(&self) {
        self.fail_after_commit.store(true, Ordering::SeqCst);
    }

    /// The next commit is handed to the database and then never answers its request,
    /// which waits until it is dropped (a cancelled request, at the worst moment).
    pub fn stall_after_handoff(&self) {
        self.stall_after_handoff.store(true, Ordering::SeqCst);
    }

    pub fn disarm(&self) {
        self.countdown.store(-1, Ordering::SeqCst);
        self.fail_after_commit.store(false, Ordering::SeqCst);
        self.stall_after_handoff.store(false, Ordering::SeqCst);
    }

    /// Whether an armed fault is still waiting to fire.
    pub fn pending(&self) -> bool {
        self.countdown.load(Ordering::SeqCst) >= 0
            || self.fail_after_commit.load(Ordering::SeqCst)
            || self.stall_after_handoff.load(Ordering::SeqCst)
    }

    /// Where a commit has been handed over: stalls forever when armed.
    async fn handoff(&self) {
        if self.stall_after_handoff.swap(false, Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    }

    /// Steps taken by every write transaction so far: what a write costs the writer, in
    /// statements (each commit counts one). Tests hold writes to their statement budget
    /// with it (bench/README.md records the counts).
    pub fn steps_taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }

    fn step(&self) -> StoreResult<()> {
        self.taken.fetch_add(1, Ordering::Relaxed);
        if self.countdown.load(Ordering::Relaxed) < 0 {
            return Ok(());
        }
        if self.countdown.fetch_sub(1, Ordering::SeqCst) == 0 {
            return Err(StoreError::Unavailable("injected fault".into()));
        }
        Ok(())
    }
}

/// The store: pools for the database named by the URL.
pub struct Store {
    dialect: Dialect,
    /// Write transactions.
    writes: Writes,
    /// Reads that need no transaction.
    reads: Reads,
    faults: Arc<Faults>,
    /// What the hot paths read, kept exact by [`Db::invalidate`] (see `cache.rs`).
    cache: Arc<Cache>,
    /// PostgreSQL: the task that hears other instances' invalidations.
    listener: Option<tokio::task::JoinHandle<()>>,
}

/// Where write transactions run.
enum Writes {
    /// SQLite: exactly one connection, so SQLite never sees two writers fight over its lock
    /// (no `SQLITE_BUSY` under load) and writes serialize in-process, group-committing (see
    /// `group_commit.rs`).
    Sqlite(group_commit::Writer),
    /// PostgreSQL: the same pool as the reads.
    Postgres(AnyPool),
}

/// Where reads run.
enum Reads {
    /// SQLite: read-only connections beside the writer (WAL: they never wait for it).
    Sqlite(Arc<sqlite_direct::Readers>),
    /// PostgreSQL: the one pool.
    Postgres(AnyPool),
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dialect", &self.dialect)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (SQLite: creating if needed) the database at `url` and applies its
    /// migrations. Several PostgreSQL instances starting at once take turns: the migrator
    /// holds an advisory lock.
    pub async fn connect(url: &str) -> Result<Self, String> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of_url(url)?;
        // PostgreSQL may be shared with other instances: bypass the cache until this one
        // hears their invalidations.
        let cache = Arc::new(Cache::new(dialect == Dialect::Postgres));
        let (writes, reads, listener) = match dialect {
            Dialect::Sqlite => {
                let path = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                    .map_err(|e| format!("invalid SQLite URL: {e}"))?
                    .get_filename()
                    .to_owned();
                // sqlx's connection creates the file, puts it in WAL mode before anything
                // else opens it, and migrates it; then the writer takes over (the file
                // stays open throughout, so its WAL is kept).
                let migrator = sqlite_migrator(url).await?;
                migrations::sqlite(&migrator).await?;
                let writer = sqlite_direct::DirectConnection::open_writer(&path)?;
                migrator.close().await;
                let writes = Writes::Sqlite(group_commit::Writer::new(writer, cache.clone()));
                let readers = sqlite_direct::Readers::new(path, SQLITE_READERS);
                (writes, Reads::Sqlite(Arc::new(readers)), None)
            }
            Dialect::Postgres => {
                let options = AnyConnectOptions::from_str(url)
                    .map_err(|e| format!("invalid PostgreSQL URL: {e}"))?;
                let pool = AnyPoolOptions::new()
                    .max_connections(POSTGRES_CONNECTIONS)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
                migrations::postgres(&pool).await?;
                let listener = tokio::spawn(listener::listen(
                    url.to_owned(),
                    pool.clone(),
                    cache.clone(),
                ));
                (
                    Writes::Postgres(pool.clone()),
                    Reads::Postgres(pool),
                    Some(listener),
                )
            }
        };
        Ok(Self {
            dialect,
            writes,
            reads,
            faults: Arc::new(Faults::default()),
            cache,
            listener,
        })
    }

    /// The cache of what the hot paths read (see `cache.rs`).
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Test hook (see [`Faults`]).
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Succeeds when the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        let mut db = self.read().await?;
        sqlx::query("SELECT 1")
            .execute(db.conn()?)
            .await
            .map(drop)
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// A write transaction: pass it to every query of one change, then [`Db::commit`].
    /// Dropped without a commit, it rolls back.
    pub async fn begin(&self) -> StoreResult<Db> {
        let inner = match &self.writes {
            Writes::Sqlite(writer) => Inner::Batched(writer.begin().await?),
            Writes::Postgres(pool) => {
                // In a task of its own: a caller that goes away while BEGIN is on the wire
                // leaves a transaction that the task drops, which rolls it back.
                let writer = pool.clone();
                let begun = tokio::spawn(async move { writer.begin().await })
                    .await
                    .map_err(|e| StoreError::Internal(format!("starting a transaction: {e}")))?;
                Inner::Write(begun.map_err(store_error)?)
            }
        };
        Ok(Db {
            inner,
            faults: self.faults.clone(),
            cache: self.cache.clone(),
            dialect: self.dialect,
            invalidations: Vec::new(),
        })
    }

    /// A connection for reads that need no transaction.
    pub async fn read(&self) -> StoreResult<Db> {
        let inner = match &self.reads {
            Reads::Sqlite(readers) => {
                let acquired = tokio::time::timeout(READ_WAIT, readers.acquire())
                    .await
                    .unwrap_or(Err(sqlx::Error::PoolTimedOut));
                Inner::Direct(acquired.map_err(store_error)?)
            }
            Reads::Postgres(pool) => Inner::Read(pool.acquire().await.map_err(store_error)?),
        };
        Ok(Db {
            inner,
            faults: self.faults.clone(),
            cache: self.cache.clone(),
            dialect: self.dialect,
            invalidations: Vec::new(),
        })
    }

    /// Closes the connections: PostgreSQL's pool waits for those in use to come back; a
    /// SQLite reader in use closes when it comes back.
    ///
    /// SQLite's readers close first, so that the writer is the last connection of the
    /// process to close: the last one checkpoints the log into the database and removes
    /// it (a read-only one cannot), and the next start has no log to recover.
    pub async fn close(&self) {
        match &self.reads {
            Reads::Sqlite(readers) => readers.close(),
            Reads::Postgres(pool) => pool.close().await,
        }
        match &self.writes {
            Writes::Sqlite(writer) => writer.close().await,
            Writes::Postgres(pool) => pool.close().await,
        }
    }
}

/// The one sqlx connection that creates and migrates a SQLite database, in WAL mode.
/// Migrations commit without an fsync each (a first start runs a dozen): in WAL mode,
/// `NORMAL` can lose the last commits on power loss but never corrupts, and a migration
/// lost that way is applied again at the next start. The writer's first commit (`FULL`)
/// syncs the WAL they are in.
async fn sqlite_migrator(url: &str) -> Result<AnyPool, String> {
    // The caller's URL with our access mode: `rwc` creates the file.
    let (path, params) = url.split_once('?').unwrap_or((url, ""));
    let mut query: Vec<&str> = params
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("mode="))
        .collect();
    query.push("mode=rwc");
    let url = format!("{path}?{}", query.join("&"));
    let options =
        AnyConnectOptions::from_str(&url).map_err(|e| format!("invalid SQLite URL: {e}"))?;
    AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000",
                )
                .await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(|e| format!("cannot open the SQLite database: {e}"))
}

enum Inner {
    Write(Transaction<'static, Any>),
    /// SQLite: a savepoint in a group-committed batch.
    Batched(group_commit::Member),
    Read(PoolConnection<Any>),
    /// SQLite: a reader.
    Direct(sqlite_direct::Reader),
}

/// A connection to the store: a write transaction from [`Store::begin`], or a read
/// connection from [`Store::read`]. Every query function takes one.
pub struct Db {
    inner: Inner,
    faults: Arc<Faults>,
    cache: Arc<Cache>,
    dialect: Dialect,
    /// What this transaction registered for its commit to apply (PostgreSQL; on SQLite the
    /// batch holds them, see `group_commit.rs`). Here too to register each only once.
    invalidations: Vec<Invalidation>,
}

impl Db {
    /// The connection a query runs on. Public for tests that must put the database in
    /// states the API never makes (corrupt rows); everything else goes through the
    /// query modules.
    pub fn conn(&mut self) -> StoreResult<Conn<'_>> {
        match &mut self.inner {
            Inner::Write(tx) => {
                self.faults.step()?;
                Ok(Conn::pooled(tx))
            }
            Inner::Batched(member) => {
                self.faults.step()?;
                member.conn()
            }
            Inner::Read(conn) => Ok(Conn::pooled(conn)),
            Inner::Direct(reader) => reader
                .conn()
                .map(Conn::direct)
                .ok_or_else(|| StoreError::Internal("the reader is closed".into())),
        }
    }

    /// Registers that this transaction changes what the cache may hold: the one way a
    /// write says so, called with the transaction before committing. The commit applies it
    /// to this instance's cache once the COMMIT returns; on PostgreSQL the `NOTIFY` is part
    /// of the transaction, delivered to every instance only if it commits.
    pub(crate) async fn invalidate(&mut self, what: Invalidation) -> StoreResult<()> {
        if self.invalidations.contains(&what) {
            return Ok(());
        }
        match (&mut self.inner, self.dialect) {
            (Inner::Write(tx), Dialect::Postgres) => {
                // Not a step of the change for the fault hook: it only carries news of it.
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(crate::store::cache::CHANNEL)
                    .bind(what.payload())
                    .execute(&mut **tx)
                    .await
                    .map_err(store_error)?;
            }
            (Inner::Batched(member), _) => member.register(what.clone())?,
            _ => {}
        }
        self.invalidations.push(what);
        Ok(())
    }

    /// Makes the transaction's changes durable (a no-op for a read connection), and applies
    /// what it registered to the cache.
    ///
    /// Both are done by a task that outlives the request: once the commit has been handed
    /// over, dropping this future (the client went away) changes neither. The cache is
    /// invalidated after the COMMIT returned, whatever it said (a failed COMMIT may still
    /// have happened), and before this returns.
    pub async fn commit(self) -> StoreResult<()> {
        let Db {
            inner,
            faults,
            cache,
            invalidations,
            ..
        } = self;
        let committed = match inner {
            Inner::Write(tx) => {
                faults.step()?;
                let commit = tokio::spawn(async move {
                    let committed = tx.commit().await.map_err(store_error);
                    for what in &invalidations {
                        cache.apply(what);
                    }
                    committed
                });
                faults.handoff().await;
                commit.await.unwrap_or_else(|e| {
                    Err(StoreError::Internal(format!("the commit task failed: {e}")))
                })
            }
            Inner::Batched(member) => {
                faults.step()?;
                let committing = member.release()?;
                faults.handoff().await;
                committing.outcome().await
            }
            Inner::Read(_) | Inner::Direct(_) => return Ok(()),
        };
        committed?;
        if faults.fail_after_commit.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Unavailable(
                "injected fault after commit".into(),
            ));
        }
        Ok(())
    }
}

/// The steps SQLite's planner takes for `sql` (`EXPLAIN QUERY PLAN`, its parameters
/// unbound) over a new database with the schema the migrations build: for tests that hold
/// a query that runs often to its index.
#[cfg(test)]
pub(crate) async fn sqlite_query_plan(sql: &str) -> Vec<String> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/chalk.db?mode=rwc", dir.path().display());
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    conn.execute(migrations::SCHEMA).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>("detail"))
        .collect()
}
