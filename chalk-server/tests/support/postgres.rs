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
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime; a thread of its own may block.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&url).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {name} CASCADE"
                )))
                .execute(&mut conn)
                .await
                .ok()
            })
        })
        .join();
    }
}
