//! What one statement on the SQLite writer costs, by way of driving it (issue 24: "measure
//! the alternatives and choose by the numbers"). Not a test: `bench/run` does not run it;
//! `cargo run --release --example bench_driver` prints one table.
//!
//! Every strategy does the same work as a group-committed write: inside one open
//! transaction (the batch), members each run in a savepoint and execute `STATEMENTS`
//! statements (an UPDATE of a counter row and INSERTs of small rows, as a join does), then
//! release; the batch commits every `MEMBERS_PER_COMMIT` members. WAL, `synchronous=FULL`,
//! a file in a temporary directory, as the server runs it.
//!
//! - `sqlx Any, one call per statement`: how the store runs today (each statement is a
//!   round trip to sqlx's SQLite worker thread);
//! - `sqlx Sqlite, one call per statement`: the same without the `Any` layer;
//! - `sqlx Sqlite, one call per member`: the member's statements as one multi-statement
//!   text, so one round trip per member — what a writer that runs a whole transaction per
//!   hop (a native driver on its own thread) would pay, here with the values inlined (a new
//!   text to prepare each time: sqlx binds a multi-statement text's values per statement,
//!   so one cached text with bound values is not available to compare).

use std::str::FromStr;
use std::time::Instant;

use sqlx::any::AnyConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{AnyConnection, Connection, Executor, SqliteConnection};

const MEMBERS: usize = 4000;
const STATEMENTS: usize = 8;
const MEMBERS_PER_COMMIT: usize = 16;

const SCHEMA: &str = "CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
    INSERT INTO counters (id, n) VALUES (1, 0);
    CREATE TABLE rows (id INTEGER PRIMARY KEY, member INTEGER NOT NULL, v TEXT NOT NULL);
    CREATE INDEX rows_member ON rows (member);";

fn report(name: &str, started: Instant) {
    let elapsed = started.elapsed();
    let per_member = elapsed.as_secs_f64() * 1e6 / MEMBERS as f64;
    println!(
        "| {name} | {:.0} | {:.1} | {:.1} |",
        MEMBERS as f64 / elapsed.as_secs_f64(),
        per_member,
        per_member / (STATEMENTS + 2) as f64
    );
}

/// Runs `member` MEMBERS times in savepoints inside batches.
macro_rules! batches {
    ($conn:expr, $member:expr) => {{
        let conn = $conn;
        for m in 0..MEMBERS {
            if m % MEMBERS_PER_COMMIT == 0 {
                conn.execute("BEGIN").await.unwrap();
            }
            $member(&mut *conn, m).await;
            if m % MEMBERS_PER_COMMIT == MEMBERS_PER_COMMIT - 1 {
                conn.execute("COMMIT").await.unwrap();
            }
        }
    }};
}

/// A member as the store runs it today: a round trip per statement, on connection type `$c`.
macro_rules! one_call_per_statement {
    ($c:ty) => {
        async |c: &mut $c, m: usize| {
            c.execute("SAVEPOINT member").await.unwrap();
            sqlx::query("UPDATE counters SET n = n + 1 WHERE id = $1")
                .bind(1_i64)
                .execute(&mut *c)
                .await
                .unwrap();
            for s in 1..STATEMENTS {
                sqlx::query("INSERT INTO rows (member, v) VALUES ($1, $2)")
                    .bind(m as i64)
                    .bind(format!("statement {s}"))
                    .execute(&mut *c)
                    .await
                    .unwrap();
            }
            c.execute("RELEASE member").await.unwrap();
        }
    };
}

fn file(dir: &std::path::Path, name: &str) -> String {
    format!("sqlite://{}?mode=rwc", dir.join(name).display())
}

async fn native(url: &str) -> SqliteConnection {
    let options = SqliteConnectOptions::from_str(url)
        .unwrap()
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    conn.execute(SCHEMA).await.unwrap();
    conn
}

#[tokio::main]
async fn main() {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    println!("| strategy | members/s | µs per member | µs per statement |");
    println!("| --- | ---: | ---: | ---: |");

    // sqlx Any, a call per statement (today's store).
    {
        let url = file(dir.path(), "any.db");
        native(&url).await.close().await.unwrap();
        let options = AnyConnectOptions::from_str(&url).unwrap();
        let mut conn = AnyConnection::connect_with(&options).await.unwrap();
        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL")
            .await
            .unwrap();
        let started = Instant::now();
        batches!(&mut conn, one_call_per_statement!(AnyConnection));
        report("sqlx Any, one call per statement", started);
    }

    // sqlx Sqlite (no Any layer), a call per statement.
    {
        let mut conn = native(&file(dir.path(), "native.db")).await;
        let started = Instant::now();
        batches!(&mut conn, one_call_per_statement!(SqliteConnection));
        report("sqlx Sqlite, one call per statement", started);
    }

    // One call per member: the member's statements in one text.
    {
        let mut conn = native(&file(dir.path(), "batched.db")).await;
        let started = Instant::now();
        batches!(&mut conn, async |c: &mut SqliteConnection, m: usize| {
            let mut text =
                String::from("SAVEPOINT member; UPDATE counters SET n = n + 1 WHERE id = 1;");
            for s in 1..STATEMENTS {
                text.push_str(&format!(
                    "INSERT INTO rows (member, v) VALUES ({m}, 'statement {s}');"
                ));
            }
            text.push_str("RELEASE member;");
            c.execute(sqlx::AssertSqlSafe(text)).await.unwrap();
        });
        report("sqlx Sqlite, one call per member, values inlined", started);
    }
}
