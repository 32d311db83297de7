//! Applying the schema's migrations (`migrations/sqlite`, `migrations/postgres`) with
//! sqlx's migrator, and a first start's shortcut on SQLite.
//!
//! sqlx applies each migration in a transaction of its own and records it in
//! `_sqlx_migrations` (BEGIN, the script, INSERT, COMMIT, then an UPDATE of its execution
//! time): five statements and two commits a migration, each a hand-off to the connection's
//! worker thread, which made migrating a new database the largest part of a first start.
//! A SQLite database with no schema at all gets every migration in one transaction and one
//! call instead, recorded in sqlx's table exactly as sqlx's migrator records them; sqlx's
//! migrator then runs as on every start, finds them applied, and checks their checksums.
//! `tests/store_conformance.rs` holds that the two ways leave the same schema and the
//! same records.

use std::fmt::Write as _;
use std::time::Instant;

use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

/// The SQLite schema's migrations.
pub static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
/// The PostgreSQL schema's migrations.
pub static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// sqlx's own record of applied migrations, as its SQLite migrator creates it
/// (`sqlx-sqlite`, `ensure_migrations_table`).
const SQLITE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
);";

/// Migrates the SQLite database behind `writer` (its one connection) to the latest schema.
pub(super) async fn sqlite(writer: &AnyPool) -> Result<(), String> {
    let failed = |e: sqlx::Error| format!("cannot apply SQLite migrations: {e}");
    let mut conn = writer.acquire().await.map_err(failed)?;
    let objects: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master")
        .fetch_one(&mut *conn)
        .await
        .map_err(failed)?;
    if objects == 0
        && let Some(script) = all_at_once(&SQLITE)
    {
        let started = Instant::now();
        if let Err(e) = conn.execute(sqlx::AssertSqlSafe(script)).await {
            // The script stops at its first error, inside its transaction.
            let _ = conn.execute("ROLLBACK").await;
            return Err(failed(e));
        }
        // As sqlx records the time a migration took; here, the time they took together.
        let nanos = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
        sqlx::query("UPDATE _sqlx_migrations SET execution_time = $1")
            .bind(nanos)
            .execute(&mut *conn)
            .await
            .map_err(failed)?;
    }
    drop(conn);
    SQLITE
        .run(writer)
        .await
        .map_err(|e| format!("cannot apply SQLite migrations: {e}"))
}

/// Migrates the PostgreSQL database (several instances starting at once take turns: the
/// migrator holds an advisory lock).
pub(super) async fn postgres(pool: &AnyPool) -> Result<(), String> {
    POSTGRES
        .run(pool)
        .await
        .map_err(|e| format!("cannot apply PostgreSQL migrations: {e}"))
}

/// Every migration of `migrator` and sqlx's records of them, in one transaction: the script
/// a database with no schema is migrated by. `None` when a migration must run outside a
/// transaction (`-- no-transaction`), which only sqlx's migrator may then apply.
fn all_at_once(migrator: &Migrator) -> Option<String> {
    let migrations: Vec<_> = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .collect();
    if migrations.is_empty() || migrations.iter().any(|m| m.no_tx) {
        return None;
    }
    let mut script = format!("BEGIN;\n{SQLITE_MIGRATIONS_TABLE}\n");
    for migration in &migrations {
        // A script's last statement may lack its `;` or end in a comment.
        script.push_str(migration.sql.as_str());
        script.push_str("\n;\n");
    }
    script.push_str(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES\n",
    );
    for (i, migration) in migrations.iter().enumerate() {
        let separator = if i == 0 { "" } else { ",\n" };
        let mut checksum = String::with_capacity(migration.checksum.len() * 2);
        for byte in migration.checksum.iter() {
            let _ = write!(checksum, "{byte:02X}");
        }
        let _ = write!(
            script,
            "{separator}({}, '{}', TRUE, X'{checksum}', -1)",
            migration.version,
            migration.description.replace('\'', "''"),
        );
    }
    script.push_str(";\nCOMMIT;");
    Some(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_applies_and_records_every_migration_in_one_transaction() {
        let script = all_at_once(&SQLITE).expect("no SQLite migration is outside a transaction");
        assert!(script.starts_with("BEGIN;\n"));
        assert!(script.ends_with(";\nCOMMIT;"));
        for migration in SQLITE.iter() {
            assert!(script.contains(migration.sql.as_str()));
            assert!(script.contains(&format!("({}, '", migration.version)));
        }
        assert_eq!(
            script.matches("TRUE, X'").count(),
            SQLITE.iter().count(),
            "one record per migration"
        );
    }
}
