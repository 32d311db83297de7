//! Token signing keys: listing, rotation, the public JWKS (docs/api.md "Signing keys").

use chalk_sdk::model::{Jwks, SigningKey, SigningKeyStatus};

use super::audit::{self, AuditContext};
use crate::clock::{now, to_datetime};
use crate::domain::core::Core;
use crate::error::{ApiError, ApiResult};
use crate::store::signing_keys::{self, SigningKeyRow};

/// The wire view of a key: never its private half. A previous key past `retires_at` is
/// shown as retired, whether or not a rotation has marked it so yet.
pub fn view(row: &SigningKeyRow, at: i64) -> SigningKey {
    let status = match row.status.as_str() {
        signing_keys::CURRENT => SigningKeyStatus::Current,
        signing_keys::PREVIOUS if row.verifies_at(at) => SigningKeyStatus::Previous,
        _ => SigningKeyStatus::Retired,
    };
    SigningKey {
        kid: row.kid.clone(),
        algorithm: row.algorithm.clone(),
        status,
        created_at: to_datetime(row.created_at),
        retires_at: row.retires_at.map(to_datetime),
    }
}

/// Every key, newest first (none in HS256 mode).
pub async fn list(core: &Core) -> ApiResult<Vec<SigningKey>> {
    if core.signer.key_ring().is_none() {
        return Ok(Vec::new());
    }
    let mut db = core.store.read().await?;
    let at = now();
    Ok(signing_keys::list(&mut db)
        .await?
        .iter()
        .map(|row| view(row, at))
        .collect())
}

/// A new current key; the old one verifies until every token it signed has expired.
pub async fn rotate(core: &Core, ctx: &AuditContext) -> ApiResult<SigningKey> {
    let ring = core.signer.key_ring().ok_or_else(|| {
        ApiError::conflict(
            "Signing keys are used only with CHALK_JWT_ALGORITHM=EdDSA; this server signs with \
             HS256 and CHALK_JWT_SECRET",
        )
    })?;
    let row = ring
        .rotate(core.policy.signing_key_overlap(), |key: &SigningKeyRow| {
            let target = ("signing_key", key.kid.as_str());
            audit::entry(ctx, "signing_key.rotate", target, None, None)
        })
        .await?;
    Ok(view(&row, now()))
}

/// The public keys still verifying.
pub fn jwks(core: &Core) -> Jwks {
    core.signer.jwks()
}
