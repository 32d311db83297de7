//! `chalk-server migrate-store --from URL --to URL`: copies a whole deployment from one
//! database to another — SQLite to PostgreSQL when one machine is no longer enough, or back.
//!
//! The copy is written once for both directions. [`TABLES`] lists every table in
//! foreign-key order with every column and its kind; rows are read from the source in
//! key order, a batch at a time, and inserted into the target with the same values,
//! `seq` included, all inside one target transaction. The target dialect shows only where
//! the databases really differ: `OVERRIDING SYSTEM VALUE` and the identity sequences on
//! PostgreSQL, and how a flag column is stored (BOOLEAN there, INTEGER 0/1 on SQLite).
//!
//! Each column's kind is declared rather than guessed from the first value read: a NULL
//! read from SQLite carries no type, and PostgreSQL refuses a NULL bound as an integer
//! into a TEXT column. Declared kinds also make a mistyped source value an error here
//! instead of a surprise in the new deployment.
//!
//! The source is read inside one transaction too, so what is copied and what is counted is
//! one consistent state. Secrets are copied as stored (hashes and sealed blobs), so the
//! target deployment must use the same `CHALK_ENCRYPTION_KEY`.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use crate::store::snapshot::sqlite_file;
use crate::store::{Conn, Db, Dialect, Store, column_error, store_error};

/// Rows per `INSERT`: with the widest table's 27 columns (`tenants`), 5,400 parameters,
/// far below either database's limit (SQLite 32,766, PostgreSQL 65,535).
const BATCH_ROWS: usize = 200;

/// How a column's values are read and bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// 64-bit integer, possibly NULL.
    Int,
    /// Text, possibly NULL.
    Text,
    /// A flag: BOOLEAN on PostgreSQL, INTEGER 0/1 on SQLite; never NULL.
    Flag,
}

use Kind::{Flag, Int, Text};

/// One table as the copy sees it.
struct Table {
    name: &'static str,
    /// Every column, in the order they are read and written.
    columns: &'static [(&'static str, Kind)],
    /// The primary key: the order rows are read in, one batch after another.
    key: &'static [&'static str],
    /// Has a `seq` identity column (PostgreSQL) / AUTOINCREMENT key (SQLite).
    seq: bool,
}

/// Every table of the schema, parents before children. A table or column the migrations
/// add and this list lacks makes the copy refuse to run (see [`check_schema`]) rather than
/// leave data behind.
const TABLES: &[Table] = &[
    Table {
        // The private keys stay sealed with CHALK_ENCRYPTION_KEY, as everything else.
        name: "signing_keys",
        columns: &[
            ("kid", Text),
            ("algorithm", Text),
            ("private_key", Text),
            ("public_key", Text),
            ("status", Text),
            ("created_at", Int),
            ("retires_at", Int),
        ],
        key: &["kid"],
        seq: false,
    },
    Table {
        name: "tenants",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("name", Text),
            ("email", Text),
            ("external_id", Text),
            ("status", Text),
            ("max_concurrent_rooms", Int),
            ("max_participants_per_room", Int),
            ("max_recording_duration_minutes", Int),
            ("rate_limit_per_minute", Int),
            ("config", Text),
            ("revision", Int),
            ("created_at", Int),
            ("updated_at", Int),
            // Usage counters (0008): copied as kept, so they stay exact in the target.
            ("active_rooms", Int),
            ("total_rooms", Int),
            ("active_participants", Int),
            ("live_keys", Int),
            // Usage metering (0009): the levels and the meter's instant, as kept.
            ("started_rooms", Int),
            ("metered_at", Int),
            ("metered_from", Int),
            // The open hour (0012): use not yet in usage_periods.
            ("open_hour", Int),
            ("open_participant_seconds", Int),
            ("open_room_seconds", Int),
            ("open_peak", Int),
            ("open_participants_joined", Int),
            // Whether the config holds usage alerts (0014).
            ("alerting", Int),
        ],
        key: &["seq"],
        seq: true,
    },
    Table {
        name: "api_keys",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("tenant_id", Text),
            ("name", Text),
            ("prefix", Text),
            ("key_hash", Text),
            ("scopes", Text),
            ("is_primary", Flag),
            ("created_at", Int),
            ("last_used_at", Int),
            ("expires_at", Int),
            ("revoked_at", Int),
        ],
        key: &["seq"],
        seq: true,
    },
    Table {
        name: "refresh_tokens",
        columns: &[
            ("token_hash", Text),
            ("family_id", Text),
            ("tenant_id", Text),
            ("key_id", Text),
            ("created_at", Int),
            ("expires_at", Int),
            ("used_at", Int),
            ("revoked_at", Int),
        ],
        key: &["token_hash"],
        seq: false,
    },
    Table {
        name: "idempotency_keys",
        columns: &[
            ("scope", Text),
            ("idem_key", Text),
            ("request_hash", Text),
            ("tenant_id", Text),
            ("status", Int),
            ("response", Text),
            ("created_at", Int),
        ],
        key: &["scope", "idem_key"],
        seq: false,
    },
    Table {
        name: "rooms",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("tenant_id", Text),
            ("name", Text),
            ("status", Text),
            ("scheduled_start", Int),
            ("max_participants", Int),
            ("created_at", Int),
            ("ended_at", Int),
            ("empty_since", Int),
            ("started_at", Int),
        ],
        key: &["seq"],
        seq: true,
    },
    Table {
        name: "participants",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("tenant_id", Text),
            ("room_id", Text),
            ("user_id", Text),
            ("display_name", Text),
            ("role", Text),
            ("joined_at", Int),
            ("left_at", Int),
            ("token_generation", Int),
            ("tokens_expire_at", Int),
        ],
        key: &["seq"],
        seq: true,
    },
    Table {
        // Secrets stay sealed with CHALK_ENCRYPTION_KEY.
        name: "webhook_endpoints",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("tenant_id", Text),
            ("url", Text),
            ("events", Text),
            ("description", Text),
            ("enabled", Flag),
            ("secret", Text),
            ("previous_secret", Text),
            ("previous_secret_expires_at", Int),
            ("created_at", Int),
            ("updated_at", Int),
        ],
        key: &["seq"],
        seq: true,
    },
    Table {
        name: "events",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("tenant_id", Text),
            ("type", Text),
            ("data", Text),
            ("created_at", Int),
        ],
        key: &["seq"],
        seq: true,
    },
    Table {
        // Claims are copied as they are: the source's servers are stopped, so their
        // leases lapse and the new deployment sends what was in flight.
        name: "webhook_deliveries",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("tenant_id", Text),
            ("event_id", Text),
            ("endpoint_id", Text),
            ("url", Text),
            ("secret", Text),
            ("status", Text),
            ("attempt_count", Int),
            ("attempts", Text),
            ("next_attempt_at", Int),
            ("claimed_by", Text),
            ("claimed_until", Int),
            ("created_at", Int),
            ("updated_at", Int),
        ],
        key: &["seq"],
        seq: true,
    },
    Table {
        // Usage history outlives its tenant: no parent here.
        name: "usage_periods",
        columns: &[
            ("tenant_id", Text),
            ("granularity", Text),
            ("period_start", Int),
            ("participant_seconds", Int),
            ("room_seconds", Int),
            ("peak_participants", Int),
            ("participants_joined", Int),
            ("rooms_created", Int),
            ("token_exchanges", Int),
            ("api_requests", Int),
            ("webhook_deliveries", Int),
            ("webhook_failures", Int),
        ],
        key: &["tenant_id", "granularity", "period_start"],
        seq: false,
    },
    Table {
        name: "usage_tenants",
        columns: &[
            ("tenant_id", Text),
            ("tenant_seq", Int),
            ("external_id", Text),
            ("created_at", Int),
            ("deleted_at", Int),
        ],
        key: &["tenant_id"],
        seq: false,
    },
    Table {
        name: "usage_alerts_fired",
        columns: &[
            ("tenant_id", Text),
            ("metric", Text),
            ("period", Text),
            ("threshold", Int),
            ("period_start", Int),
            ("event_id", Text),
        ],
        key: &["tenant_id", "metric", "period", "threshold", "period_start"],
        seq: false,
    },
    Table {
        name: "api_key_expiry_notices",
        columns: &[("key_id", Text), ("horizon", Text), ("created_at", Int)],
        key: &["key_id", "horizon"],
        seq: false,
    },
    Table {
        // Hashes copied as they are: the keys keep working in the new deployment.
        name: "operator_keys",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("name", Text),
            ("prefix", Text),
            ("key_hash", Text),
            ("created_at", Int),
            ("created_by", Text),
            ("last_used_at", Int),
            ("expires_at", Int),
            ("revoked_at", Int),
        ],
        key: &["seq"],
        seq: true,
    },
    Table {
        name: "audit_events",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("at", Int),
            ("request_id", Text),
            ("actor_type", Text),
            ("actor_id", Text),
            ("actor_name", Text),
            ("action", Text),
            ("outcome", Text),
            ("target_type", Text),
            ("target_id", Text),
            ("tenant_id", Text),
            ("changes", Text),
            ("client_ip", Text),
            ("user_agent", Text),
        ],
        key: &["seq"],
        seq: true,
    },
];

/// Tables the migrator and SQLite keep for themselves.
fn is_internal_table(name: &str) -> bool {
    name.starts_with("_sqlx") || name.starts_with("sqlite_")
}

/// One value as read from the source, bound unchanged to the target (a flag in the
/// target's representation).
#[derive(Debug, Clone)]
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Flag(bool),
}

fn read_value(row: &AnyRow, column: &str, kind: Kind) -> Result<Value, sqlx::Error> {
    Ok(match kind {
        Int => Value::Int(row.try_get(column)?),
        Text => Value::Text(row.try_get(column)?),
        // BOOLEAN on PostgreSQL, INTEGER 0/1 on SQLite.
        Flag => Value::Flag(match row.try_get::<bool, _>(column) {
            Ok(flag) => flag,
            Err(_) => row.try_get::<i64, _>(column)? != 0,
        }),
    })
}

fn bind<'q>(
    query: Query<'q, Any, AnyArguments>,
    value: &Value,
    dialect: Dialect,
) -> Query<'q, Any, AnyArguments> {
    match value {
        Value::Int(v) => query.bind(*v),
        Value::Text(v) => query.bind(v.clone()),
        Value::Flag(v) => match dialect {
            Dialect::Postgres => query.bind(*v),
            Dialect::Sqlite => query.bind(i64::from(*v)),
        },
    }
}

/// Rows of one table, counted in the source and, after the copy, in the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    pub table: &'static str,
    pub source: i64,
    pub target: i64,
}

/// Why a copy did not happen. Either way the target is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "the target database is not empty ({0}); migrate-store copies only into a database \
         without rows in any table, so nothing was written"
    )]
    TargetNotEmpty(String),
    #[error("{0}")]
    Failed(String),
}

impl From<String> for CopyError {
    fn from(message: String) -> Self {
        CopyError::Failed(message)
    }
}

fn sql_error(context: String) -> impl FnOnce(sqlx::Error) -> String {
    move |e| format!("{context}: {}", store_error(e))
}

fn conn(db: &mut Db) -> Result<Conn<'_>, String> {
    db.conn().map_err(|e| e.to_string())
}

/// Copies every row of `source` into `target`, which must hold no rows, in one target
/// transaction, and compares the row counts of every table before committing. Both stores
/// are migrated already (as [`Store::connect`] does).
pub async fn copy_store(source: &Store, target: &Store) -> Result<Vec<TableCount>, CopyError> {
    // A write transaction on the source only for its snapshot: nothing is written, and it
    // is rolled back when dropped.
    let mut from = source.begin().await.map_err(|e| e.to_string())?;
    if source.dialect() == Dialect::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(conn(&mut from)?)
            .await
            .map_err(sql_error("cannot start reading the source".into()))?;
    }
    check_schema(&mut from, source.dialect()).await?;

    let mut to = target.begin().await.map_err(|e| e.to_string())?;
    let mut occupied = Vec::new();
    for table in TABLES {
        let rows = count(&mut to, table.name).await?;
        if rows > 0 {
            occupied.push(format!("{}: {rows} rows", table.name));
        }
    }
    if !occupied.is_empty() {
        return Err(CopyError::TargetNotEmpty(occupied.join(", ")));
    }

    let mut counts = Vec::new();
    for table in TABLES {
        copy_table(table, &mut from, &mut to, target.dialect()).await?;
        if table.seq && target.dialect() == Dialect::Postgres {
            reset_identity(table, &mut to).await?;
        }
        counts.push(TableCount {
            table: table.name,
            source: count(&mut from, table.name).await?,
            target: count(&mut to, table.name).await?,
        });
    }
    let mismatched: Vec<String> = counts
        .iter()
        .filter(|c| c.source != c.target)
        .map(|c| {
            format!(
                "{}: {} in the source, {} copied",
                c.table, c.source, c.target
            )
        })
        .collect();
    if !mismatched.is_empty() {
        // Dropping `to` rolls the copy back.
        return Err(CopyError::Failed(format!(
            "row counts differ, so nothing was committed: {}",
            mismatched.join("; ")
        )));
    }
    to.commit()
        .await
        .map_err(|e| format!("cannot commit the copy: {e}"))?;
    Ok(counts)
}

async fn count(db: &mut Db, table: &str) -> Result<i64, String> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM {table}"));
    let row = sqlx::query(sql)
        .fetch_one(conn(db)?)
        .await
        .map_err(sql_error(format!("cannot count {table}")))?;
    row.try_get::<i64, _>("n")
        .map_err(|e| column_error(e).to_string())
}

async fn names(db: &mut Db, sql: &'static str, bind: Option<&str>) -> Result<Vec<String>, String> {
    let mut query = sqlx::query(sql);
    if let Some(value) = bind {
        query = query.bind(value.to_owned());
    }
    query
        .fetch_all(conn(db)?)
        .await
        .map_err(sql_error("cannot read the source's schema".into()))?
        .iter()
        .map(|row| row.try_get("name").map_err(|e| column_error(e).to_string()))
        .collect()
}

/// Refuses a source with a table or column [`TABLES`] does not know: copying it would
/// silently lose data.
async fn check_schema(db: &mut Db, dialect: Dialect) -> Result<(), String> {
    let (tables_sql, columns_sql) = match dialect {
        Dialect::Sqlite => (
            "SELECT name FROM sqlite_master WHERE type = 'table'",
            "SELECT name FROM pragma_table_info($1)",
        ),
        Dialect::Postgres => (
            "SELECT table_name::TEXT AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            "SELECT column_name::TEXT AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1",
        ),
    };
    let tables = names(db, tables_sql, None).await?;
    let unknown: Vec<&str> = tables
        .iter()
        .map(String::as_str)
        .filter(|name| !is_internal_table(name) && !TABLES.iter().any(|t| t.name == *name))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "the source has tables this version of migrate-store does not copy: {}",
            unknown.join(", ")
        ));
    }
    for table in TABLES {
        let columns = names(db, columns_sql, Some(table.name)).await?;
        if columns.is_empty() {
            return Err(format!("the source has no table {}", table.name));
        }
        let unknown: Vec<&str> = columns
            .iter()
            .map(String::as_str)
            .filter(|name| !table.columns.iter().any(|(c, _)| c == name))
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "the source's table {} has columns this version of migrate-store does not copy: {}",
                table.name,
                unknown.join(", ")
            ));
        }
    }
    Ok(())
}

/// `$from, $from+1, …` for `count` parameters.
fn params(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Copies one table, `BATCH_ROWS` at a time, in key order (keyset pagination: each batch
/// starts after the last key of the one before).
async fn copy_table(
    table: &Table,
    from: &mut Db,
    to: &mut Db,
    target: Dialect,
) -> Result<(), String> {
    let columns = table
        .columns
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ");
    let key = table.key.join(", ");
    let key_positions: Vec<usize> = table
        .key
        .iter()
        .map(|k| {
            table
                .columns
                .iter()
                .position(|(c, _)| c == k)
                .expect("key columns are listed among the columns")
        })
        .collect();
    let mut after: Option<Vec<Value>> = None;
    loop {
        let filter = match after {
            None => String::new(),
            Some(_) => format!(" WHERE ({key}) > ({})", params(1, table.key.len())),
        };
        let select = format!(
            "SELECT {columns} FROM {}{filter} ORDER BY {key} LIMIT {BATCH_ROWS}",
            table.name
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(select));
        for value in after.iter().flatten() {
            // Key columns are never flags, so the source dialect does not matter here.
            query = bind(query, value, Dialect::Sqlite);
        }
        let rows = query
            .fetch_all(conn(from)?)
            .await
            .map_err(sql_error(format!("cannot read {}", table.name)))?;
        if rows.is_empty() {
            return Ok(());
        }
        let batch = rows
            .iter()
            .map(|row| {
                table
                    .columns
                    .iter()
                    .map(|(name, kind)| {
                        read_value(row, name, *kind).map_err(|e| {
                            format!("cannot read {}.{name}: {}", table.name, column_error(e))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        insert_batch(table, &columns, &batch, to, target).await?;
        if batch.len() < BATCH_ROWS {
            return Ok(());
        }
        let last = batch.last().expect("the batch is not empty");
        after = Some(key_positions.iter().map(|&i| last[i].clone()).collect());
    }
}

async fn insert_batch(
    table: &Table,
    columns: &str,
    rows: &[Vec<Value>],
    to: &mut Db,
    target: Dialect,
) -> Result<(), String> {
    let width = table.columns.len();
    let tuples = (0..rows.len())
        .map(|r| format!("({})", params(r * width + 1, width)))
        .collect::<Vec<_>>()
        .join(", ");
    // PostgreSQL's `seq` is GENERATED ALWAYS: an explicit value needs the override. On
    // SQLite an explicit AUTOINCREMENT value moves sqlite_sequence along by itself.
    let overriding = if table.seq && target == Dialect::Postgres {
        " OVERRIDING SYSTEM VALUE"
    } else {
        ""
    };
    let sql = format!(
        "INSERT INTO {} ({columns}){overriding} VALUES {tuples}",
        table.name
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for value in rows.iter().flatten() {
        query = bind(query, value, target);
    }
    query
        .execute(conn(to)?)
        .await
        .map_err(sql_error(format!("cannot write {}", table.name)))?;
    Ok(())
}

/// Moves a PostgreSQL identity sequence to the largest copied `seq`, so the next row the
/// server inserts gets the one after it instead of colliding with a copied row.
async fn reset_identity(table: &Table, to: &mut Db) -> Result<(), String> {
    let sql = format!(
        "SELECT setval(pg_get_serial_sequence('{0}', 'seq'), MAX(seq)) FROM {0} \
         HAVING MAX(seq) IS NOT NULL",
        table.name
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_optional(conn(to)?)
        .await
        .map_err(sql_error(format!(
            "cannot move the sequence of {} past the copied rows",
            table.name
        )))?;
    Ok(())
}

/// What the command prints after a copy.
pub fn summary(from: &str, to: &str, counts: &[TableCount]) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "Copied {} to {}:\n\n  {:<18} {:>10} {:>10}\n",
        crate::app::startup::redacted_url(from),
        crate::app::startup::redacted_url(to),
        "table",
        "source",
        "target"
    );
    for c in counts {
        let _ = writeln!(out, "  {:<18} {:>10} {:>10}", c.table, c.source, c.target);
    }
    out.push_str(
        "\nEvery table's row count matches.\n\
         Secrets were copied as stored (key hashes and sealed blobs): start the new deployment\n\
         with the same CHALK_ENCRYPTION_KEY as the old one (a generated one is the file\n\
         encryption.key in the old data directory), or sealed secrets, token signing keys and\n\
         replayed responses cannot be opened. Keep CHALK_MASTER_KEY (and, in HS256 mode,\n\
         CHALK_JWT_SECRET) too, so operators and tokens already issued keep working.\n",
    );
    out
}

/// The command: opens both databases (applying their migrations), copies, and prints the
/// summary to stdout. An error is returned as the message to print.
pub async fn run(from: &str, to: &str) -> Result<(), String> {
    // A SQLite target is created readable by its owner only, as the server creates its own.
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_bits_truncate(0o077));
    Dialect::of_url(from).map_err(|e| format!("--from: {e}"))?;
    Dialect::of_url(to).map_err(|e| format!("--to: {e}"))?;
    if from == to {
        return Err("--from and --to name the same database".into());
    }
    if let Some(path) = sqlite_file(from)
        && !path.exists()
    {
        // Opening it would create an empty database and copy nothing.
        return Err(format!(
            "--from: there is no SQLite database at {}",
            path.display()
        ));
    }
    let source = Store::connect(from)
        .await
        .map_err(|e| format!("--from: {e}"))?;
    let target = Store::connect(to).await.map_err(|e| format!("--to: {e}"))?;
    let copied = copy_store(&source, &target).await;
    source.close().await;
    target.close().await;
    let counts = copied.map_err(|e| e.to_string())?;
    print!("{}", summary(from, to, &counts));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_lists_its_key_and_seq_columns() {
        for table in TABLES {
            for key in table.key {
                assert_eq!(
                    table.columns.iter().filter(|(c, _)| c == key).count(),
                    1,
                    "{}.{key}",
                    table.name
                );
                assert!(
                    table.columns.iter().any(|(c, k)| c == key && *k != Flag),
                    "{}.{key}: a key column is never a flag",
                    table.name
                );
            }
            assert_eq!(
                table.seq,
                table.columns.iter().any(|(c, _)| *c == "seq"),
                "{}",
                table.name
            );
        }
    }
}
