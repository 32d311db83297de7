//! Operator keys: rows and their queries. Like API keys, only the SHA-256 of the secret
//! reaches the store. A revoked key keeps its row (with `revoked_at`), so the audit log's
//! actors stay resolvable and `created_by` keeps naming it.

use sqlx::any::AnyRow;

use super::{Db, StoreResult, Timestamp, col, store_error};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorKeyRow {
    pub seq: i64,
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: Timestamp,
    /// `master`, or the `op_…` id of the key that created it.
    pub created_by: String,
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl OperatorKeyRow {
    pub fn is_valid_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// A key to insert; `key_hash` is the SHA-256 of the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOperatorKey {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub created_at: Timestamp,
    pub created_by: String,
    pub expires_at: Option<Timestamp>,
}

const COLUMNS: &str =
    "seq, id, name, prefix, created_at, created_by, last_used_at, expires_at, revoked_at";

fn from_row(row: &AnyRow) -> StoreResult<OperatorKeyRow> {
    Ok(OperatorKeyRow {
        seq: col(row, "seq")?,
        id: col(row, "id")?,
        name: col(row, "name")?,
        prefix: col(row, "prefix")?,
        created_at: col(row, "created_at")?,
        created_by: col(row, "created_by")?,
        last_used_at: col(row, "last_used_at")?,
        expires_at: col(row, "expires_at")?,
        revoked_at: col(row, "revoked_at")?,
    })
}

pub async fn create(db: &mut Db, key: &NewOperatorKey) -> StoreResult<OperatorKeyRow> {
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO operator_keys (id, name, prefix, key_hash, created_at, created_by, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    ));
    let row = sqlx::query(sql)
        .bind(&key.id)
        .bind(&key.name)
        .bind(&key.prefix)
        .bind(&key.key_hash)
        .bind(key.created_at)
        .bind(&key.created_by)
        .bind(key.expires_at)
        .fetch_one(db.conn()?)
        .await
        .map_err(store_error)?;
    from_row(&row)
}

/// The key with this hash, revoked or expired ones included (the caller checks).
pub async fn by_hash(db: &mut Db, key_hash: &str) -> StoreResult<Option<OperatorKeyRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM operator_keys WHERE key_hash = $1"
    ));
    sqlx::query(sql)
        .bind(key_hash)
        .fetch_optional(db.conn()?)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Keys that still work at `now`, `seq > after_seq`, oldest first.
pub async fn list(
    db: &mut Db,
    now: Timestamp,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<OperatorKeyRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM operator_keys WHERE revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $1) AND seq > $2 ORDER BY seq LIMIT $3"
    ));
    let rows = sqlx::query(sql)
        .bind(now)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(db.conn()?)
        .await
        .map_err(store_error)?;
    rows.iter().map(from_row).collect()
}

/// Revokes a key that still works; the row revoked, or `None` when there was none.
pub async fn revoke(db: &mut Db, id: &str, now: Timestamp) -> StoreResult<Option<OperatorKeyRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE operator_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2) RETURNING {COLUMNS}"
    ));
    sqlx::query(sql)
        .bind(id)
        .bind(now)
        .fetch_optional(db.conn()?)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Records use, at most once a minute per key (as `keys::touch`).
pub async fn touch(db: &mut Db, id: &str, now: Timestamp) -> StoreResult<()> {
    sqlx::query(
        "UPDATE operator_keys SET last_used_at = $2 \
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2 - 60)",
    )
    .bind(id)
    .bind(now)
    .execute(db.conn()?)
    .await
    .map(|_| ())
    .map_err(store_error)
}
