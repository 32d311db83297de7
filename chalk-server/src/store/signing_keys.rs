//! Token signing keys. The private half is stored sealed (the caller seals and opens it);
//! at most one key is `current`, which a unique partial index enforces, so instances that
//! start at once, or rotate at once, cannot both install one.

use super::{Db, StoreError, StoreResult, Timestamp, col, store_error};
use sqlx::any::AnyRow;

pub const CURRENT: &str = "current";
pub const PREVIOUS: &str = "previous";
pub const RETIRED: &str = "retired";

/// One row of `signing_keys`. `Debug` leaves out the (sealed) private key all the same.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRow {
    pub kid: String,
    pub algorithm: String,
    /// The PKCS#8 document, sealed with the encryption key.
    pub sealed_private_key: String,
    /// Raw public key, base64url without padding.
    pub public_key: String,
    pub status: String,
    pub created_at: Timestamp,
    pub retires_at: Option<Timestamp>,
}

impl std::fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("status", &self.status)
            .field("created_at", &self.created_at)
            .field("retires_at", &self.retires_at)
            .finish_non_exhaustive()
    }
}

impl SigningKeyRow {
    /// Whether tokens it signed are still accepted at `now`.
    pub fn verifies_at(&self, now: Timestamp) -> bool {
        match self.status.as_str() {
            CURRENT => true,
            PREVIOUS => self.retires_at.is_none_or(|at| at > now),
            _ => false,
        }
    }
}

fn row_to_key(row: &AnyRow) -> StoreResult<SigningKeyRow> {
    Ok(SigningKeyRow {
        kid: col(row, "kid")?,
        algorithm: col(row, "algorithm")?,
        sealed_private_key: col(row, "private_key")?,
        public_key: col(row, "public_key")?,
        status: col(row, "status")?,
        created_at: col(row, "created_at")?,
        retires_at: col(row, "retires_at")?,
    })
}

/// Inserts `key` as the current key unless there already is one. Returns whether it won.
pub async fn insert_current_if_none(db: &mut Db, key: &SigningKeyRow) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO signing_keys \
         (kid, algorithm, private_key, public_key, status, created_at, retires_at) \
         VALUES ($1, $2, $3, $4, 'current', $5, NULL) ON CONFLICT DO NOTHING",
    )
    .bind(&key.kid)
    .bind(&key.algorithm)
    .bind(&key.sealed_private_key)
    .bind(&key.public_key)
    .bind(key.created_at)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    Ok(done.rows_affected() == 1)
}

/// Every key: the current one, then previous ones, then retired ones, newest first.
pub async fn list(db: &mut Db) -> StoreResult<Vec<SigningKeyRow>> {
    let rows = sqlx::query(
        "SELECT kid, algorithm, private_key, public_key, status, created_at, retires_at \
         FROM signing_keys ORDER BY CASE status WHEN 'current' THEN 0 WHEN 'previous' THEN 1 ELSE 2 END, created_at DESC, kid",
    )
    .fetch_all(db.conn()?)
    .await
    .map_err(store_error)?;
    rows.iter().map(row_to_key).collect()
}

/// The keys still verifying at `now`: the current one and unexpired previous ones.
pub async fn verifying(db: &mut Db, now: Timestamp) -> StoreResult<Vec<SigningKeyRow>> {
    let rows = sqlx::query(
        "SELECT kid, algorithm, private_key, public_key, status, created_at, retires_at \
         FROM signing_keys WHERE status = 'current' OR (status = 'previous' AND retires_at > $1) \
         ORDER BY CASE status WHEN 'current' THEN 0 WHEN 'previous' THEN 1 ELSE 2 END, created_at DESC, kid",
    )
    .bind(now)
    .fetch_all(db.conn()?)
    .await
    .map_err(store_error)?;
    rows.iter().map(row_to_key).collect()
}

/// Makes `new` the current key, in the caller's transaction: the current key becomes
/// previous until `retires_at`, previous keys past their time become retired. A
/// concurrent rotation that got there first makes the insert fail with
/// [`StoreError::Conflict`] (the caller retries on a fresh transaction).
pub async fn rotate(
    db: &mut Db,
    new: &SigningKeyRow,
    retires_at: Timestamp,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE signing_keys SET status = 'retired' WHERE status = 'previous' AND retires_at <= $1",
    )
    .bind(now)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    sqlx::query(
        "UPDATE signing_keys SET status = 'previous', retires_at = $1 WHERE status = 'current'",
    )
    .bind(retires_at)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    let inserted = insert_current_if_none(db, new).await?;
    if inserted {
        Ok(())
    } else {
        Err(StoreError::Conflict("signing_keys_one_current".into()))
    }
}
