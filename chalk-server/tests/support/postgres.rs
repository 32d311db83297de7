//! A fresh PostgreSQL schema per test, so tests run in parallel on one database.
//!
//! Enabled by `CHALK_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`);
//! without it the PostgreSQL tests report that they were not run.

use sqlx::Connection;
use sqlx::postgres::PgConnection;

pub const ENV: &str = "CHALK_TEST_POSTGRES_URL";

pub fn admin_url() -> Option<String> {
    std::env::var(ENV).ok().filter(|v| !v.trim().is_empty())
}

/// Says, once per test binary, that the PostgreSQL half was skipped.
pub fn report_not_run() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write;
        // Written to stderr directly: libtest captures `eprintln!` of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "PostgreSQL half NOT run: set {ENV}=postgres://postgres@127.0.0.1:5432/test to run it"
        );
    });
}

/// A schema of its own, dropped (best effort) when this is dropped.
pub struct TestSchema {
    admin_url: String,
    name: String,
    /// Connects with `search_path` set to the schema.
    pub url: String,
}

impl TestSchema {
    /// `None` when `CHALK_TEST_POSTGRES_URL` is unset.
    pub async fn create() -> Option<TestSchema> {
        let Some(admin_url) = admin_url() else {
            report_not_run();
            return None;
        };
        let name = format!("chalk_test_{:016x}", rand::random::<u64>());
        let mut conn = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("{ENV} is set but PostgreSQL is unreachable: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut conn)
            .await
            .expect("create schema");
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options[search_path]={name}");
        Some(TestSchema {
            admin_url,
            name,
            url,
        })
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, so the query runs on a thread of its own.
        // While that thread is joined the test's runtime is blocked, and a pooled connection
        // of the test's store may still hold a lock in the schema until that runtime flushes
        // its rollback: so the first try gives up after a short lock wait, and a detached
        // retry drops the schema once the runtime has moved on.
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn({
            let (url, name) = (url.clone(), name.clone());
            move || drop_schema(&url, &name, "2s")
        })
        .join()
        .unwrap_or(false);
        if !dropped {
            std::thread::spawn(move || drop_schema(&url, &name, "60s"));
        }
    }
}

/// `DROP SCHEMA … CASCADE`, waiting at most `lock_timeout` for its locks; true when done.
fn drop_schema(admin_url: &str, name: &str, lock_timeout: &str) -> bool {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return false;
    };
    runtime.block_on(async {
        let Ok(mut conn) = PgConnection::connect(admin_url).await else {
            return false;
        };
        let statements = [
            format!("SET lock_timeout = '{lock_timeout}'"),
            format!("DROP SCHEMA IF EXISTS {name} CASCADE"),
        ];
        for statement in statements {
            if sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&mut conn)
                .await
                .is_err()
            {
                return false;
            }
        }
        true
    })
}
