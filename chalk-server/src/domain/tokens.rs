//! Tenant tokens: API key → access token + single-use refresh token, refresh with reuse
//! detection, revocation.

use chalk_sdk::model::{TenantStatus, TokenPair};

use crate::crypto::{hash_secret, new_id};
use crate::domain::core::Core;
use crate::domain::signing::new_refresh_token;
use crate::error::{ApiError, ApiResult};
use crate::store::{Db, KeyAuth, NewRefreshToken, RefreshOutcome, keys, refresh};

fn scope_text(auth: &KeyAuth) -> String {
    crate::store::scopes_to_text(&auth.key.scopes)
}

fn pair(core: &Core, auth: &KeyAuth, refresh_token: String, at: i64) -> TokenPair {
    let ttl = core.policy.access_token_ttl;
    TokenPair {
        access_token: core
            .signer
            .mint_access(
                &auth.key.tenant_id,
                &auth.key.id,
                &scope_text(auth),
                at,
                ttl,
            )
            .into(),
        refresh_token: refresh_token.into(),
        token_type: "Bearer".to_owned(),
        expires_in: ttl,
    }
}

/// A new token pair for a checked API key, starting a new refresh chain.
pub async fn exchange(core: &Core, db: &mut Db, auth: &KeyAuth, at: i64) -> ApiResult<TokenPair> {
    let token = new_refresh_token();
    refresh::insert(
        db,
        &NewRefreshToken {
            token_hash: hash_secret(&token),
            family_id: new_id("fam"),
            tenant_id: auth.key.tenant_id.clone(),
            key_id: auth.key.id.clone(),
            created_at: at,
            expires_at: at + core.policy.refresh_token_ttl,
        },
    )
    .await?;
    Ok(pair(core, auth, token, at))
}

/// What a refresh ends in. Either way the transaction commits: a refused reuse has just
/// revoked its chain.
pub enum Refreshed {
    Pair(TokenPair),
    Refused(ApiError),
}

/// Spends `presented` once for a new pair. A refresh for a suspended tenant, or for a key
/// that no longer works, is refused *without* spending the token (the error rolls the
/// transaction back), so resuming the tenant lets the chain go on.
pub async fn refresh(core: &Core, db: &mut Db, presented: &str, at: i64) -> ApiResult<Refreshed> {
    let successor = new_refresh_token();
    let expires_at = at + core.policy.refresh_token_ttl;
    let outcome = refresh::use_once(
        db,
        &hash_secret(presented),
        &hash_secret(&successor),
        expires_at,
        at,
    )
    .await?;
    let key_id = match outcome {
        RefreshOutcome::Rotated { key_id, .. } => key_id,
        RefreshOutcome::Reused => {
            tracing::warn!("refresh token reuse detected; its chain is revoked");
            return Ok(Refreshed::Refused(ApiError::invalid_refresh_token()));
        }
        RefreshOutcome::Invalid => return Err(ApiError::invalid_refresh_token()),
    };
    let auth = keys::by_id(db, &key_id)
        .await?
        .filter(|a| a.key.is_valid_at(at))
        .ok_or_else(ApiError::invalid_refresh_token)?;
    if auth.tenant_status == TenantStatus::Suspended {
        return Err(ApiError::tenant_suspended());
    }
    Ok(Refreshed::Pair(pair(core, &auth, successor, at)))
}

/// The key behind a live refresh token, without spending it. `None` for a token that is
/// unknown, used, revoked or expired.
pub async fn holder(db: &mut Db, presented: &str, at: i64) -> ApiResult<Option<KeyAuth>> {
    let Some((_, key_id)) = refresh::peek(db, &hash_secret(presented), at).await? else {
        return Ok(None);
    };
    Ok(keys::by_id(db, &key_id).await?)
}

/// Revokes the chain of `token`; unknown tokens are ignored.
pub async fn revoke(db: &mut Db, token: &str, at: i64) -> ApiResult<()> {
    Ok(refresh::revoke_family(db, &hash_secret(token), at).await?)
}
