//! Applying the schema's migrations (`migrations/sqlite`, `migrations/postgres`) with
//! sqlx's migrator, and a first start's shortcut on SQLite.
//!
//! sqlx applies each migration in a transaction of its own and records it in
//! `_sqlx_migrations` (BEGIN, the script, INSERT, COMMIT, then an UPDATE of its execution
//! time): five statements and two commits a migration, each a hand-off to the connection's
//! worker thread. And the migrations' own statements are more than the schema needs: each
//! `ALTER TABLE … ADD COLUMN` makes SQLite parse the whole schema again. Migrating a new
//! database was the largest part of a first start.
//!
//! So a SQLite database with no schema at all is given the schema the migrations build —
//! `migrations/sqlite_schema.sql`, the `CREATE` statements SQLite stores for it, generated
//! by a test from the migrations themselves — in one transaction and one call, with the
//! migrations it stands for recorded in sqlx's table exactly as sqlx's migrator records
//! them. sqlx's migrator then runs as on every start: it finds them applied, checks their
//! checksums, and applies any later one. `tests/store_conformance.rs` holds that both ways
//! leave the same schema and the same records, and that the file is the migrations' own.

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

/// The schema that the SQLite migrations through [`schema_through`] build, as SQLite
/// stores it (generated: see the file's first line).
pub(super) const SCHEMA: &str = include_str!("../../migrations/sqlite_schema.sql");
/// The first line of [`SCHEMA`] names the last migration it includes.
const SCHEMA_HEADER: &str = "-- The schema built by the SQLite migrations through ";

/// The last migration [`SCHEMA`] includes, from its first line.
fn schema_through() -> Option<i64> {
    SCHEMA
        .lines()
        .next()?
        .strip_prefix(SCHEMA_HEADER)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The script a database with no schema is migrated by: [`SCHEMA`] and sqlx's records of
/// the migrations it includes, in one transaction. `None` when it includes none.
fn all_at_once(migrator: &Migrator) -> Option<String> {
    let through = schema_through()?;
    let included: Vec<_> = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && m.version <= through)
        .collect();
    if included.is_empty() {
        return None;
    }
    let mut script = format!("BEGIN;\n{SQLITE_MIGRATIONS_TABLE}\n{SCHEMA}\n;\n");
    script.push_str(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES\n",
    );
    for (i, migration) in included.iter().enumerate() {
        let separator = if i == 0 { "" } else { ",\n" };
        let _ = write!(
            script,
            "{separator}({}, '{}', TRUE, X'{}', -1)",
            migration.version,
            migration.description.replace('\'', "''"),
            crate::crypto::hex(&migration.checksum),
        );
    }
    script.push_str(";\nCOMMIT;");
    Some(script)
}

/// The text of `migrations/sqlite_schema.sql` for a database the migrations built: its
/// schema objects' `CREATE` statements in the order SQLite created them (a table before its
/// indexes), without SQLite's own and sqlx's table. For the test that generates the file.
pub async fn schema_file_of(conn: &mut sqlx::AnyConnection) -> Result<String, sqlx::Error> {
    let through: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await?;
    let statements: Vec<String> = sqlx::query_scalar(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY rowid",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(format!(
        "{SCHEMA_HEADER}{through} (store/migrations.rs).\n\
         -- Generated; do not edit. After adding a migration, write it again with\n\
         -- CHALK_WRITE_SCHEMA=1 cargo test -p chalk-server --test store_conformance schema\n\
         {};\n",
        statements.join(";\n")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_creates_the_schema_and_records_the_migrations_it_includes() {
        let through = schema_through().expect("the schema file names its last migration");
        let script = all_at_once(&SQLITE).expect("the schema file includes migrations");
        assert!(script.starts_with("BEGIN;\n"));
        assert!(script.ends_with(";\nCOMMIT;"));
        assert!(script.contains(SCHEMA));
        for migration in SQLITE.iter() {
            let recorded = script.contains(&format!("\n({}, '", migration.version))
                || script.contains(&format!(",\n({}, '", migration.version));
            assert_eq!(
                recorded,
                migration.version <= through,
                "{}",
                migration.version
            );
        }
    }
}
