//! Idempotency records: `(scope, key)` → the request's fingerprint and its sealed response.
//!
//! A record is reserved, filled and committed in the same transaction as the change it
//! answers for, so a record exists exactly when its change does: a crash or an error
//! anywhere before the commit leaves neither, and a retry runs the request afresh; after
//! the commit, a retry gets the recorded response. Two requests racing with one key meet at
//! the primary key: on PostgreSQL the second `INSERT … ON CONFLICT` waits for the first
//! transaction and then sees its record (or takes the key if it rolled back); on SQLite
//! write transactions already run one at a time.

use super::{Db, StoreResult, Timestamp, col, store_error};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyReservation {
    pub scope: String,
    pub key: String,
    pub request_hash: String,
    pub tenant_id: Option<String>,
    pub now: Timestamp,
    /// Records older than this are expired (24 h) and may be replaced.
    pub expired_before: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// No earlier request: this transaction holds the key and must [`complete`] it.
    Reserved,
    /// The same request completed before: here is its sealed response.
    Replay { status: u16, sealed_body: String },
    /// The same key was used with another request.
    Mismatch,
}

pub async fn reserve(db: &mut Db, r: &IdempotencyReservation) -> StoreResult<IdempotencyBegin> {
    // Expired records give way, and so do empty ones: records are filled in the
    // transaction that reserves them, so an empty one is a reservation left by a release
    // before this design, whose request died. (Another transaction's uncommitted record is
    // invisible here; the INSERT below waits for it.)
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND idem_key = $2 \
         AND (created_at < $3 OR status IS NULL)",
    )
    .bind(&r.scope)
    .bind(&r.key)
    .bind(r.expired_before)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, idem_key, request_hash, tenant_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, idem_key) DO NOTHING",
    )
    .bind(&r.scope)
    .bind(&r.key)
    .bind(&r.request_hash)
    .bind(&r.tenant_id)
    .bind(r.now)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    if inserted.rows_affected() == 1 {
        return Ok(IdempotencyBegin::Reserved);
    }
    let row = sqlx::query(
        "SELECT request_hash, status, response FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
    )
    .bind(&r.scope)
    .bind(&r.key)
    .fetch_one(db.conn()?)
    .await
    .map_err(store_error)?;
    let hash: String = col(&row, "request_hash")?;
    if hash != r.request_hash {
        return Ok(IdempotencyBegin::Mismatch);
    }
    let status: Option<i64> = col(&row, "status")?;
    let response: Option<String> = col(&row, "response")?;
    match (status, response) {
        (Some(status), Some(sealed_body)) => Ok(IdempotencyBegin::Replay {
            status: u16::try_from(status).unwrap_or(200),
            sealed_body,
        }),
        _ => Err(super::StoreError::Internal(
            "idempotency record without a response".into(),
        )),
    }
}

/// Records the response of the reserved request, in its transaction.
pub async fn complete(
    db: &mut Db,
    scope: &str,
    key: &str,
    status: u16,
    sealed_body: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET status = $3, response = $4 WHERE scope = $1 AND idem_key = $2",
    )
    .bind(scope)
    .bind(key)
    .bind(i64::from(status))
    .bind(sealed_body)
    .execute(db.conn()?)
    .await
    .map(|_| ())
    .map_err(store_error)
}

/// Deletes records past their retention: their sealed responses (secrets included) go
/// with them. Returns how many went.
pub async fn purge_expired(db: &mut Db, expired_before: Timestamp) -> StoreResult<u64> {
    sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(expired_before)
        .execute(db.conn()?)
        .await
        .map(|r| r.rows_affected())
        .map_err(store_error)
}
