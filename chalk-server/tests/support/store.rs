//! The store a router test runs on: a fresh SQLite file by default, or a fresh PostgreSQL
//! schema when `CHALK_TEST_STORE=postgres` — so the whole router suite, not only the store
//! conformance suite, proves that both backends behave alike (`.ci/run` runs it both ways).

use std::any::Any;
use std::sync::Arc;

use chalk_server::store::Store;
use chalk_server::store::postgres::PostgresStore;
use chalk_server::store::sqlite::SqliteStore;

use super::postgres::{ENV, TestSchema};

pub const STORE_ENV: &str = "CHALK_TEST_STORE";

/// A store of its own for one test; the guard keeps its files (or schema) alive.
pub async fn fresh_store() -> (Arc<dyn Store>, Box<dyn Any + Send + Sync>) {
    match std::env::var(STORE_ENV).as_deref() {
        Ok("postgres") => {
            let schema = TestSchema::create()
                .await
                .unwrap_or_else(|| panic!("{STORE_ENV}=postgres needs {ENV}"));
            let store = PostgresStore::connect(&schema.url)
                .await
                .expect("open PostgreSQL test store");
            (Arc::new(store), Box::new(schema))
        }
        Ok("sqlite") | Err(_) => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("chalk.db").display());
            let store = SqliteStore::connect(&url)
                .await
                .expect("open SQLite test store");
            (Arc::new(store), Box::new(dir))
        }
        Ok(other) => panic!("{STORE_ENV}={other:?}: use sqlite or postgres"),
    }
}
