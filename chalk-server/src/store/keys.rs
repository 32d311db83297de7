//! API keys: their queries (the rows: `rows.rs`). A key's secret never reaches the store: only its
//! SHA-256 hash.

use chalk_sdk::model::Scope;
use sqlx::any::AnyRow;

use super::cache::Invalidation;
use super::rows::{ApiKeyRow, KeyAuth, Timestamp};
use super::{
    Db, StoreResult, col, flag, parse_tenant_status, scopes_from_text, scopes_to_text, store_error,
};

/// A key to insert. `key_hash` is the SHA-256 of the secret.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApiKey {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub scopes: Vec<Scope>,
    pub primary: bool,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeKeyOutcome {
    Revoked,
    NotFound,
    /// The primary key is replaced only by rotate-key.
    IsPrimary,
}

fn from_row(row: &AnyRow) -> StoreResult<ApiKeyRow> {
    Ok(ApiKeyRow {
        seq: col(row, "seq")?,
        id: col(row, "id")?,
        tenant_id: col(row, "tenant_id")?,
        name: col(row, "name")?,
        prefix: col(row, "prefix")?,
        scopes: scopes_from_text(col(row, "scopes")?)?,
        primary: flag(row, "is_primary")?,
        created_at: col(row, "created_at")?,
        last_used_at: col(row, "last_used_at")?,
        expires_at: col(row, "expires_at")?,
        revoked_at: col(row, "revoked_at")?,
    })
}

fn auth_from_row(row: &AnyRow) -> StoreResult<KeyAuth> {
    Ok(KeyAuth {
        key: from_row(row)?,
        tenant_status: parse_tenant_status(col(row, "tenant_status")?)?,
        rate_limit_per_minute: col(row, "tenant_rate_limit")?,
    })
}

const AUTH_SELECT: &str = "SELECT k.seq, k.id, k.tenant_id, k.name, k.prefix, k.scopes, k.is_primary, \
     k.created_at, k.last_used_at, k.expires_at, k.revoked_at, \
     t.status AS tenant_status, t.rate_limit_per_minute AS tenant_rate_limit \
     FROM api_keys k JOIN tenants t ON t.id = k.tenant_id";

/// Inserts `key` and counts it in its tenant's live keys (for [`create`] and
/// [`rotate_primary`]; a new tenant's primary key is counted by its row instead).
async fn insert(db: &mut Db, key: &NewApiKey) -> StoreResult<()> {
    insert_row(db, key).await?;
    super::tenants::adjust_usage(db, &key.tenant_id, live_keys(1)).await
}

/// Inserts the row of `key`, which its tenant already counts (a new tenant's primary key, see
/// `tenants::create`).
pub(super) async fn insert_row(db: &mut Db, key: &NewApiKey) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scopes, is_primary, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&key.id)
    .bind(&key.tenant_id)
    .bind(&key.name)
    .bind(&key.prefix)
    .bind(&key.key_hash)
    .bind(scopes_to_text(&key.scopes))
    .bind(key.primary)
    .bind(key.created_at)
    .bind(key.expires_at)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    Ok(())
}

fn live_keys(delta: i64) -> super::tenants::UsageDelta {
    super::tenants::UsageDelta {
        live_keys: delta,
        ..Default::default()
    }
}

pub async fn by_hash(db: &mut Db, key_hash: &str) -> StoreResult<Option<KeyAuth>> {
    auth_where(db, "k.key_hash = $1", key_hash).await
}

pub async fn by_id(db: &mut Db, key_id: &str) -> StoreResult<Option<KeyAuth>> {
    auth_where(db, "k.id = $1", key_id).await
}

async fn auth_where(
    db: &mut Db,
    filter: &'static str,
    value: &str,
) -> StoreResult<Option<KeyAuth>> {
    let sql = sqlx::AssertSqlSafe(format!("{AUTH_SELECT} WHERE {filter}"));
    sqlx::query(sql)
        .bind(value)
        .fetch_optional(db.conn()?)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(auth_from_row)
        .transpose()
}

/// Records use, at most once a minute per key, to spare the database a write per request.
pub async fn touch(db: &mut Db, key_id: &str, now: Timestamp) -> StoreResult<()> {
    sqlx::query(
        "UPDATE api_keys SET last_used_at = $2 \
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2 - 60)",
    )
    .bind(key_id)
    .bind(now)
    .execute(db.conn()?)
    .await
    .map(|_| ())
    .map_err(store_error)
}

pub async fn create(db: &mut Db, key: &NewApiKey) -> StoreResult<ApiKeyRow> {
    insert(db, key).await?;
    let row = sqlx::query("SELECT * FROM api_keys WHERE id = $1")
        .bind(&key.id)
        .fetch_one(db.conn()?)
        .await
        .map_err(store_error)?;
    from_row(&row)
}

/// Keys that still work at `now`, with `seq > after_seq`, oldest first.
pub async fn list(
    db: &mut Db,
    tenant_id: &str,
    now: Timestamp,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<ApiKeyRow>> {
    let rows = sqlx::query(
        "SELECT * FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2) AND seq > $3 ORDER BY seq LIMIT $4",
    )
    .bind(tenant_id)
    .bind(now)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(db.conn()?)
    .await
    .map_err(store_error)?;
    rows.iter().map(from_row).collect()
}

/// Revokes a live extra key and every refresh token it minted.
pub async fn revoke(
    db: &mut Db,
    tenant_id: &str,
    key_id: &str,
    now: Timestamp,
) -> StoreResult<RevokeKeyOutcome> {
    // The tenant's lock first, as every counter change takes it (see `adjust_usage`).
    if super::tenants::lock(db, tenant_id).await?.is_none() {
        return Ok(RevokeKeyOutcome::NotFound);
    }
    let row = sqlx::query(
        "SELECT is_primary FROM api_keys WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $3)",
    )
    .bind(key_id)
    .bind(tenant_id)
    .bind(now)
    .fetch_optional(db.conn()?)
    .await
    .map_err(store_error)?;
    match row {
        None => Ok(RevokeKeyOutcome::NotFound),
        Some(row) if flag(&row, "is_primary")? => Ok(RevokeKeyOutcome::IsPrimary),
        Some(_) => {
            // The key may be cached (by hash and by id): it must be refused from the
            // commit on.
            db.invalidate(Invalidation::Tenant(tenant_id.to_owned()))
                .await?;
            sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1")
                .bind(key_id)
                .bind(now)
                .execute(db.conn()?)
                .await
                .map_err(store_error)?;
            super::tenants::adjust_usage(db, tenant_id, live_keys(-1)).await?;
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = $2 WHERE key_id = $1 AND revoked_at IS NULL",
            )
            .bind(key_id)
            .bind(now)
            .execute(db.conn()?)
            .await
            .map_err(store_error)?;
            Ok(RevokeKeyOutcome::Revoked)
        }
    }
}

/// Makes `new_key` the primary key. The previous primary stops being primary and works
/// until `previous_expires_at` (revoked at once, with its refresh tokens, when `None`).
/// Returns false when the tenant does not exist.
///
/// Rotations of one tenant queue on its row lock, so each one demotes the primary the one
/// before it inserted; the partial unique index on `is_primary` is the last word.
pub async fn rotate_primary(
    db: &mut Db,
    new_key: &NewApiKey,
    previous_expires_at: Option<Timestamp>,
    now: Timestamp,
) -> StoreResult<bool> {
    if super::tenants::lock(db, &new_key.tenant_id)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    // The previous primary, cached, is demoted (and revoked or given an expiry).
    db.invalidate(Invalidation::Tenant(new_key.tenant_id.clone()))
        .await?;
    // Demote the current primary first: the partial unique index allows one primary.
    match previous_expires_at {
        Some(expires_at) => {
            sqlx::query(
                "UPDATE api_keys SET is_primary = $3, \
                 expires_at = CASE WHEN expires_at IS NULL OR expires_at > $2 THEN $2 ELSE expires_at END \
                 WHERE tenant_id = $1 AND is_primary = $4",
            )
            .bind(&new_key.tenant_id)
            .bind(expires_at)
            .bind(false)
            .bind(true)
            .execute(db.conn()?)
            .await
            .map_err(store_error)?;
        }
        None => {
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND key_id IN \
                 (SELECT id FROM api_keys WHERE tenant_id = $1 AND is_primary = $3)",
            )
            .bind(&new_key.tenant_id)
            .bind(now)
            .bind(true)
            .execute(db.conn()?)
            .await
            .map_err(store_error)?;
            // A primary is never revoked otherwise, but count only what this revokes.
            let revoked = sqlx::query(
                "UPDATE api_keys SET is_primary = $3, revoked_at = $2 \
                 WHERE tenant_id = $1 AND is_primary = $4 AND revoked_at IS NULL",
            )
            .bind(&new_key.tenant_id)
            .bind(now)
            .bind(false)
            .bind(true)
            .execute(db.conn()?)
            .await
            .map_err(store_error)?;
            super::tenants::adjust_usage(
                db,
                &new_key.tenant_id,
                live_keys(-(revoked.rows_affected() as i64)),
            )
            .await?;
        }
    }
    insert(db, new_key).await?;
    Ok(true)
}
