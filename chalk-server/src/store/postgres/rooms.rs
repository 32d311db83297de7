//! Rooms and participants on PostgreSQL: the same SQL as `store::sqlite::rooms`. Every
//! quota check runs inside the transaction that inserts, which starts by locking the
//! tenant row (a no-op UPDATE): concurrent joins and creates for one tenant, from any
//! instance, queue there and then count what the others committed (READ COMMITTED takes a
//! fresh snapshot per statement).

super::super::room_queries::room_queries!(
    store = super::PostgresStore,
    db = sqlx::Postgres,
    row = sqlx::postgres::PgRow,
    reader = pool
);
