//! Rooms and participants on SQLite. Every quota check runs inside the write transaction
//! that inserts; with the one-connection writer pool those transactions are serialized,
//! and each also starts by locking the tenant row (a no-op UPDATE) — the statement that
//! serializes them on PostgreSQL too. The SQL is portable: `$n` parameters, `RETURNING`,
//! no SQLite-only functions.

super::super::room_queries::room_queries!(
    store = super::SqliteStore,
    db = sqlx::Sqlite,
    row = sqlx::sqlite::SqliteRow,
    reader = reader
);
