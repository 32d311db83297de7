//! Snapshots of the embedded SQLite database, for backups.
//!
//! A snapshot is taken with `VACUUM INTO` through a connection of its own (the backup
//! command runs in another process than the server). Under WAL, `VACUUM INTO` reads in one
//! read transaction: it sees every commit made before it began, and neither waits for the
//! server's writer nor makes it wait — writes go on into the WAL while it reads, so a
//! backup never fails a request with `SQLITE_BUSY`.
//!
//! The facts a backup's manifest states (schema version, tenant count) and the checks a
//! restore makes (`PRAGMA integrity_check`) are read from the snapshot file, never from the
//! live database, so they describe exactly what was copied.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, Row, SqliteConnection};

/// How long a statement waits for a lock before giving up: only WAL recovery or a
/// checkpoint's brief exclusive moments can hold one against a reader.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// What a snapshot holds, read from the snapshot itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFacts {
    /// The last migration applied to it.
    pub schema_version: i64,
    pub tenant_count: i64,
}

/// A SQLite URL's file, when it names one (not `:memory:`).
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| path.into())
}

/// The last migration this build knows: a backup from a later schema cannot be restored
/// by it.
pub fn latest_schema_version() -> i64 {
    crate::store::migrations::SQLITE
        .iter()
        .map(|migration| migration.version)
        .max()
        .unwrap_or(0)
}

async fn open(path: &Path) -> Result<SqliteConnection, String> {
    // Never create: a missing database is an error, not an empty backup.
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .busy_timeout(BUSY_TIMEOUT);
    SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| format!("cannot open the database {}: {e}", path.display()))
}

/// Writes a consistent copy of the database at `database` to `target`, which must not
/// exist or be empty (SQLite's rule for `VACUUM INTO`).
pub async fn vacuum_into(database: &Path, target: &Path) -> Result<(), String> {
    if !database.is_file() {
        return Err(format!("no database at {}", database.display()));
    }
    let mut conn = open(database).await?;
    let target_text = target
        .to_str()
        .ok_or_else(|| format!("{} is not a UTF-8 path", target.display()))?;
    let result = sqlx::query("VACUUM INTO $1")
        .bind(target_text)
        .execute(&mut conn)
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot snapshot {}: {e}", database.display()));
    let _ = conn.close().await;
    result
}

/// Reads a snapshot's schema version and tenant count.
pub async fn facts(snapshot: &Path) -> Result<SnapshotFacts, String> {
    let mut conn = open(snapshot).await?;
    let facts = read_facts(&mut conn).await;
    let _ = conn.close().await;
    facts
}

/// Runs SQLite's integrity check on a file from elsewhere (a backup being verified or
/// restored), then reads its facts. An error says what is wrong with the file. (A snapshot
/// just written by `VACUUM INTO` is rebuilt row by row from the live database, so a backup
/// being taken skips this full read.)
pub async fn inspect(snapshot: &Path) -> Result<SnapshotFacts, String> {
    let mut conn = open(snapshot).await?;
    let facts = match check_integrity(&mut conn).await {
        Ok(()) => read_facts(&mut conn).await,
        Err(e) => Err(e),
    };
    let _ = conn.close().await;
    facts
}

async fn check_integrity(conn: &mut SqliteConnection) -> Result<(), String> {
    let rows = sqlx::query("PRAGMA integrity_check")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| format!("integrity check failed: {e}"))?;
    let verdicts: Vec<String> = rows
        .iter()
        .filter_map(|row| row.try_get::<String, _>(0).ok())
        .collect();
    if verdicts != ["ok"] {
        return Err(format!("integrity check failed: {}", verdicts.join("; ")));
    }
    Ok(())
}

async fn read_facts(conn: &mut SqliteConnection) -> Result<SnapshotFacts, String> {
    let schema_version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| format!("not a Chalk database (no migrations table): {e}"))?;
    let tenant_count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| format!("not a Chalk database (no tenants table): {e}"))?;
    Ok(SnapshotFacts {
        schema_version: schema_version.unwrap_or(0),
        tenant_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_are_found_in_urls() {
        assert_eq!(
            sqlite_file("sqlite:///tmp/a/chalk.db?mode=rwc"),
            Some("/tmp/a/chalk.db".into())
        );
        assert_eq!(sqlite_file("sqlite://chalk.db"), Some("chalk.db".into()));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
    }

    #[tokio::test]
    async fn a_snapshot_of_a_migrated_store_states_its_schema_and_tenants() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("chalk.db");
        let url = format!("sqlite://{}?mode=rwc", db.display());
        let store = crate::store::Store::connect(&url).await.unwrap();
        let copy = dir.path().join("copy.db");
        vacuum_into(&db, &copy).await.unwrap();
        let facts = inspect(&copy).await.unwrap();
        assert_eq!(facts.schema_version, latest_schema_version());
        assert_eq!(facts.tenant_count, 0);
        assert_eq!(self::facts(&copy).await.unwrap(), facts);
        store.close().await;

        let error = vacuum_into(&dir.path().join("absent.db"), &dir.path().join("x.db"))
            .await
            .unwrap_err();
        assert!(error.contains("no database"), "{error}");
        std::fs::write(dir.path().join("junk.db"), b"not a database at all").unwrap();
        assert!(inspect(&dir.path().join("junk.db")).await.is_err());
    }
}
