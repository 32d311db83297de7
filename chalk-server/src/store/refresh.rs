//! Refresh tokens: single use, in families. Presenting a used token revokes its whole
//! family (reuse detection). Only the token's hash is stored.

use super::{Db, StoreResult, Timestamp, col, store_error};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshToken {
    pub token_hash: String,
    pub family_id: String,
    pub tenant_id: String,
    pub key_id: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The presented token was live and is now used; the successor is stored.
    Rotated { tenant_id: String, key_id: String },
    /// The token had been used before: its whole family is now revoked.
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
}

pub async fn insert(db: &mut Db, token: &NewRefreshToken) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, family_id, tenant_id, key_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&token.token_hash)
    .bind(&token.family_id)
    .bind(&token.tenant_id)
    .bind(&token.key_id)
    .bind(token.created_at)
    .bind(token.expires_at)
    .execute(db.conn()?)
    .await
    .map(|_| ())
    .map_err(store_error)
}

/// The live token's tenant and key, without using it (to check the tenant before a
/// refresh spends the token).
pub async fn peek(
    db: &mut Db,
    token_hash: &str,
    now: Timestamp,
) -> StoreResult<Option<(String, String)>> {
    let row = sqlx::query(
        "SELECT tenant_id, key_id FROM refresh_tokens \
         WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db.conn()?)
    .await
    .map_err(store_error)?;
    row.map(|row| Ok((col(&row, "tenant_id")?, col(&row, "key_id")?)))
        .transpose()
}

/// Uses `token_hash` once and stores its successor in the same family, for the same key —
/// one conditional UPDATE, so that of many concurrent presentations exactly one finds
/// `used_at IS NULL`.
pub async fn use_once(
    db: &mut Db,
    token_hash: &str,
    successor_hash: &str,
    successor_expires_at: Timestamp,
    now: Timestamp,
) -> StoreResult<RefreshOutcome> {
    let used = sqlx::query(
        "UPDATE refresh_tokens SET used_at = $2 \
         WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
         RETURNING family_id, tenant_id, key_id",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db.conn()?)
    .await
    .map_err(store_error)?;
    if let Some(row) = used {
        let successor = NewRefreshToken {
            token_hash: successor_hash.to_owned(),
            family_id: col(&row, "family_id")?,
            tenant_id: col(&row, "tenant_id")?,
            key_id: col(&row, "key_id")?,
            created_at: now,
            expires_at: successor_expires_at,
        };
        insert(db, &successor).await?;
        return Ok(RefreshOutcome::Rotated {
            tenant_id: successor.tenant_id,
            key_id: successor.key_id,
        });
    }
    let existing =
        sqlx::query("SELECT family_id, used_at FROM refresh_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(db.conn()?)
            .await
            .map_err(store_error)?;
    let Some(row) = existing else {
        return Ok(RefreshOutcome::Invalid);
    };
    if col::<Option<i64>>(&row, "used_at")?.is_none() {
        return Ok(RefreshOutcome::Invalid);
    }
    let family_id: String = col(&row, "family_id")?;
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(&family_id)
    .bind(now)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    Ok(RefreshOutcome::Reused)
}

/// Revokes the token's whole family. Unknown tokens are ignored.
pub async fn revoke_family(db: &mut Db, token_hash: &str, now: Timestamp) -> StoreResult<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND family_id = \
         (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)",
    )
    .bind(token_hash)
    .bind(now)
    .execute(db.conn()?)
    .await
    .map(|_| ())
    .map_err(store_error)
}

/// Deletes tokens past their expiry (spent or not: none can be used any more). Returns
/// how many went.
pub async fn purge_expired(db: &mut Db, now: Timestamp) -> StoreResult<u64> {
    sqlx::query("DELETE FROM refresh_tokens WHERE expires_at <= $1")
        .bind(now)
        .execute(db.conn()?)
        .await
        .map(|r| r.rows_affected())
        .map_err(store_error)
}
