//! Webhook deliveries: one row per (event, target), the work queue of the delivery worker.
//!
//! A delivery is due while `next_attempt_at` is set and has passed. A worker claims due
//! deliveries by writing its claim (`claimed_by`) and a lease (`claimed_until`) in one
//! statement; on PostgreSQL the candidate rows are picked `FOR UPDATE SKIP LOCKED`, so two
//! instances claiming at once take different rows, and on SQLite the single writer runs
//! one claim at a time. Only the claim's holder may record the outcome. A lease that
//! lapses (the worker was killed) makes the delivery due again, so none is lost.

use sqlx::any::AnyRow;

use super::{Db, Dialect, StoreResult, Timestamp, col, store_error};

pub const PENDING: &str = "pending";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";
pub const EXHAUSTED: &str = "exhausted";

/// One row of `webhook_deliveries` with its event's type. `Debug` leaves out the sealed
/// secret of a post-meeting delivery.
#[derive(Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub seq: i64,
    pub id: String,
    pub tenant_id: String,
    pub event_id: String,
    pub event_type: String,
    pub endpoint_id: Option<String>,
    /// The post-meeting webhook's URL and sealed secret (NULL for endpoints).
    pub url: Option<String>,
    pub secret: Option<String>,
    pub status: String,
    pub attempt_count: i64,
    /// JSON array of attempts.
    pub attempts: String,
    pub next_attempt_at: Option<Timestamp>,
    pub claimed_by: Option<String>,
    pub created_at: Timestamp,
}

impl std::fmt::Debug for DeliveryRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryRow")
            .field("id", &self.id)
            .field("event_id", &self.event_id)
            .field("endpoint_id", &self.endpoint_id)
            .field("status", &self.status)
            .field("attempt_count", &self.attempt_count)
            .finish_non_exhaustive()
    }
}

fn from_row(row: &AnyRow) -> StoreResult<DeliveryRow> {
    Ok(DeliveryRow {
        seq: col(row, "seq")?,
        id: col(row, "id")?,
        tenant_id: col(row, "tenant_id")?,
        event_id: col(row, "event_id")?,
        event_type: col(row, "event_type")?,
        endpoint_id: col(row, "endpoint_id")?,
        url: col(row, "url")?,
        secret: col(row, "secret")?,
        status: col(row, "status")?,
        attempt_count: col(row, "attempt_count")?,
        attempts: col(row, "attempts")?,
        next_attempt_at: col(row, "next_attempt_at")?,
        claimed_by: col(row, "claimed_by")?,
        created_at: col(row, "created_at")?,
    })
}

const SELECT: &str = "SELECT d.seq, d.id, d.tenant_id, d.event_id, e.type AS event_type, \
     d.endpoint_id, d.url, d.secret, d.status, d.attempt_count, d.attempts, d.next_attempt_at, \
     d.claimed_by, d.created_at FROM webhook_deliveries d JOIN events e ON e.id = d.event_id";

/// A delivery to write beside its event: due at once.
#[derive(Clone)]
pub struct NewDelivery<'a> {
    pub id: String,
    pub tenant_id: &'a str,
    pub event_id: &'a str,
    pub endpoint_id: Option<&'a str>,
    pub url: Option<&'a str>,
    pub secret: Option<&'a str>,
    pub now: Timestamp,
}

pub async fn insert(db: &mut Db, new: &NewDelivery<'_>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, tenant_id, event_id, endpoint_id, url, secret, \
         status, attempt_count, attempts, next_attempt_at, claimed_by, claimed_until, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, '[]', $7, NULL, NULL, $7, $7)",
    )
    .bind(&new.id)
    .bind(new.tenant_id)
    .bind(new.event_id)
    .bind(new.endpoint_id)
    .bind(new.url)
    .bind(new.secret)
    .bind(new.now)
    .execute(db.conn()?)
    .await
    .map(|_| ())
    .map_err(store_error)
}

pub async fn get(db: &mut Db, tenant_id: &str, id: &str) -> StoreResult<Option<DeliveryRow>> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE d.tenant_id = $1 AND d.id = $2"));
    sqlx::query(sql)
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(db.conn()?)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Filters of the delivery log.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter<'a> {
    pub status: Option<&'a str>,
    pub endpoint_id: Option<&'a str>,
    pub event_id: Option<&'a str>,
}

/// A tenant's deliveries with `seq < before_seq`, newest first.
pub async fn list(
    db: &mut Db,
    tenant_id: &str,
    filter: &DeliveryFilter<'_>,
    before_seq: i64,
    limit: i64,
) -> StoreResult<Vec<DeliveryRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE d.tenant_id = $1 AND d.seq < $2 AND ($3 IS NULL OR d.status = $3) \
         AND ($4 IS NULL OR d.endpoint_id = $4) AND ($5 IS NULL OR d.event_id = $5) \
         ORDER BY d.seq DESC LIMIT $6"
    ));
    let rows = sqlx::query(sql)
        .bind(tenant_id)
        .bind(before_seq)
        .bind(filter.status)
        .bind(filter.endpoint_id)
        .bind(filter.event_id)
        .bind(limit)
        .fetch_all(db.conn()?)
        .await
        .map_err(store_error)?;
    rows.iter().map(from_row).collect()
}

/// Claims up to `limit` due deliveries for `owner` until `lease_until`.
pub async fn claim(
    db: &mut Db,
    dialect: Dialect,
    owner: &str,
    now: Timestamp,
    lease_until: Timestamp,
    limit: i64,
) -> StoreResult<Vec<DeliveryRow>> {
    let lock = match dialect {
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        // One writer: no other claim runs beside this statement.
        Dialect::Sqlite => "",
    };
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE webhook_deliveries SET claimed_by = $1, claimed_until = $2 WHERE id IN \
         (SELECT id FROM webhook_deliveries WHERE next_attempt_at IS NOT NULL \
          AND next_attempt_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3) \
          ORDER BY next_attempt_at, seq LIMIT $4{lock}) RETURNING id"
    ));
    let ids: Vec<String> = sqlx::query_scalar(sql)
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .fetch_all(db.conn()?)
        .await
        .map_err(store_error)?;
    let mut claimed = Vec::with_capacity(ids.len());
    for id in ids {
        let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE d.id = $1"));
        if let Some(row) = sqlx::query(sql)
            .bind(&id)
            .fetch_optional(db.conn()?)
            .await
            .map_err(store_error)?
        {
            claimed.push(from_row(&row)?);
        }
    }
    Ok(claimed)
}

/// What one attempt left behind.
#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    pub status: &'a str,
    pub attempt_count: i64,
    pub attempts: &'a str,
    pub next_attempt_at: Option<Timestamp>,
    pub now: Timestamp,
}

/// Records an attempt and releases the claim, if `owner` still holds it. Returns whether
/// it did (a claim whose lease lapsed may have passed to another worker).
pub async fn finish(
    db: &mut Db,
    id: &str,
    owner: &str,
    outcome: &Outcome<'_>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET status = $3, attempt_count = $4, attempts = $5, \
         next_attempt_at = $6, claimed_by = NULL, claimed_until = NULL, updated_at = $7 \
         WHERE id = $1 AND claimed_by = $2",
    )
    .bind(id)
    .bind(owner)
    .bind(outcome.status)
    .bind(outcome.attempt_count)
    .bind(outcome.attempts)
    .bind(outcome.next_attempt_at)
    .bind(outcome.now)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    Ok(done.rows_affected() == 1)
}

/// Releases every claim whose owner starts with `owner_prefix` (a stopping worker's),
/// leaving the deliveries due as they were.
pub async fn release(db: &mut Db, owner_prefix: &str) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET claimed_by = NULL, claimed_until = NULL \
         WHERE claimed_by LIKE $1",
    )
    .bind(format!("{owner_prefix}%"))
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    Ok(done.rows_affected())
}

/// Makes a failed or exhausted delivery due now. Returns whether it did and the row, or
/// `None` when there is no such delivery.
pub async fn retry_now(
    db: &mut Db,
    tenant_id: &str,
    id: &str,
    now: Timestamp,
) -> StoreResult<Option<(bool, DeliveryRow)>> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3, updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2 AND status IN ('failed', 'exhausted')",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(now)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    Ok(get(db, tenant_id, id)
        .await?
        .map(|row| (done.rows_affected() == 1, row)))
}

/// Deliveries waiting to be sent (pending or failed with a retry to come).
pub async fn queue_depth(db: &mut Db) -> StoreResult<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE next_attempt_at IS NOT NULL")
        .fetch_one(db.conn()?)
        .await
        .map_err(store_error)
}

/// Deletes deliveries created before `before`.
pub async fn purge_expired(db: &mut Db, before: Timestamp) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM webhook_deliveries WHERE created_at < $1")
        .bind(before)
        .execute(db.conn()?)
        .await
        .map_err(store_error)?;
    Ok(done.rows_affected())
}
