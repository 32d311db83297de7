//! A tenant's events, written in the transaction of the change that caused them, and kept
//! 30 days.

use sqlx::any::AnyRow;

use super::{Db, StoreResult, Timestamp, col, store_error};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub seq: i64,
    pub id: String,
    pub tenant_id: String,
    pub event_type: String,
    /// The `data` object, JSON text.
    pub data: String,
    pub created_at: Timestamp,
}

fn from_row(row: &AnyRow) -> StoreResult<EventRow> {
    Ok(EventRow {
        seq: col(row, "seq")?,
        id: col(row, "id")?,
        tenant_id: col(row, "tenant_id")?,
        event_type: col(row, "type")?,
        data: col(row, "data")?,
        created_at: col(row, "created_at")?,
    })
}

const SELECT: &str = "SELECT seq, id, tenant_id, type, data, created_at FROM events";

/// Writes `event`; returns whether its tenant has any enabled webhook endpoint, read by
/// the same statement (in the same transaction), so a tenant without endpoints — every
/// tenant as it is created, most of them after — costs its events one statement each, not
/// two.
pub async fn insert(db: &mut Db, event: &EventRow) -> StoreResult<bool> {
    let row = sqlx::query(
        "INSERT INTO events (id, tenant_id, type, data, created_at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.tenant_id = $2 \
           AND w.enabled = $6) AS has_endpoints",
    )
    .bind(&event.id)
    .bind(&event.tenant_id)
    .bind(&event.event_type)
    .bind(&event.data)
    .bind(event.created_at)
    .bind(true)
    .fetch_one(db.conn()?)
    .await
    .map_err(store_error)?;
    super::flag(&row, "has_endpoints")
}

pub async fn get(db: &mut Db, id: &str) -> StoreResult<Option<EventRow>> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1"));
    sqlx::query(sql)
        .bind(id)
        .fetch_optional(db.conn()?)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// A tenant's events with `seq < before_seq`, newest first, optionally of one type.
pub async fn list(
    db: &mut Db,
    tenant_id: &str,
    event_type: Option<&str>,
    before_seq: i64,
    limit: i64,
) -> StoreResult<Vec<EventRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE tenant_id = $1 AND seq < $2 AND ($3 IS NULL OR type = $3) \
         ORDER BY seq DESC LIMIT $4"
    ));
    let rows = sqlx::query(sql)
        .bind(tenant_id)
        .bind(before_seq)
        .bind(event_type)
        .bind(limit)
        .fetch_all(db.conn()?)
        .await
        .map_err(store_error)?;
    rows.iter().map(from_row).collect()
}

/// Deletes events created before `before` (their deliveries go with them).
pub async fn purge_expired(db: &mut Db, before: Timestamp) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM events WHERE created_at < $1")
        .bind(before)
        .execute(db.conn()?)
        .await
        .map_err(store_error)?;
    Ok(done.rows_affected())
}

/// Marks the `horizon` notice of `key_id` as sent; false when it already was.
pub async fn claim_expiry_notice(
    db: &mut Db,
    key_id: &str,
    horizon: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO api_key_expiry_notices (key_id, horizon, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(key_id)
    .bind(horizon)
    .bind(now)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    Ok(done.rows_affected() == 1)
}

/// Keys that still work and expire within `(now, until]` and have no `horizon` notice yet,
/// soonest first. It reads only such keys, through `api_keys_expiry_due` (migration 0013):
/// it runs on every housekeeping tick, inside a write transaction.
const KEYS_EXPIRING: &str = "SELECT k.id FROM api_keys k WHERE k.revoked_at IS NULL \
     AND k.expires_at IS NOT NULL AND k.expires_at > $2 AND k.expires_at <= $3 AND NOT EXISTS \
     (SELECT 1 FROM api_key_expiry_notices n WHERE n.key_id = k.id AND n.horizon = $1) \
     ORDER BY k.expires_at, k.seq LIMIT $4";

/// See [`KEYS_EXPIRING`].
pub async fn keys_expiring(
    db: &mut Db,
    horizon: &str,
    now: Timestamp,
    until: Timestamp,
    limit: i64,
) -> StoreResult<Vec<String>> {
    sqlx::query_scalar(KEYS_EXPIRING)
        .bind(horizon)
        .bind(now)
        .bind(until)
        .bind(limit)
        .fetch_all(db.conn()?)
        .await
        .map_err(store_error)
}

#[cfg(test)]
mod tests {
    /// The housekeeping scan finds due keys through their expiry, on SQLite, where it holds
    /// the one writer connection: it must not read every key of every tenant.
    #[tokio::test]
    async fn the_expiry_scan_searches_keys_by_expiry() {
        let plan = crate::store::sqlite_query_plan(super::KEYS_EXPIRING).await;
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH k USING INDEX api_keys_expiry_due")),
            "{plan:?}"
        );
        // In the index's order: no sort of what it found.
        assert!(
            !plan
                .iter()
                .any(|step| step.starts_with("SCAN k") || step.contains("B-TREE")),
            "{plan:?}"
        );
    }
}
