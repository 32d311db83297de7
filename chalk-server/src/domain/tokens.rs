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

/// An exchange made ready before its transaction begins: the refresh token generated and
/// hashed, the access token signed, so the writer holds only the exchange's one statement
/// (issue 24).
pub struct PreparedExchange {
    new: NewRefreshToken,
    pair: TokenPair,
}

/// A new token pair for a checked API key, starting a new refresh chain (see
/// [`PreparedExchange`]; [`exchange`] writes it).
pub fn prepare_exchange(core: &Core, auth: &KeyAuth, at: i64) -> PreparedExchange {
    let token = new_refresh_token();
    let new = NewRefreshToken {
        token_hash: hash_secret(&token),
        family_id: new_id("fam"),
        tenant_id: auth.key.tenant_id.clone(),
        key_id: auth.key.id.clone(),
        created_at: at,
        expires_at: at + core.policy.refresh_token_ttl,
    };
    PreparedExchange {
        new,
        pair: pair(core, auth, token, at),
    }
}

/// Records the prepared chain's first refresh token in `db`'s transaction.
pub async fn exchange(db: &mut Db, prepared: PreparedExchange) -> ApiResult<TokenPair> {
    refresh::insert(db, &prepared.new).await?;
    Ok(prepared.pair)
}

/// What a refresh ends in. Either way the transaction commits: a refused reuse has just
/// revoked its chain.
pub enum Refreshed {
    Pair(TokenPair),
    Refused(ApiError),
}

/// A refresh made ready before its transaction begins: the presented token's hash, its
/// successor generated and hashed, and the new pair signed for the key behind the chain
/// as read before (`holder`), so the writer holds only the refresh's SQL (issue 24).
pub struct PreparedRefresh {
    presented_hash: String,
    successor_hash: String,
    expires_at: i64,
    /// The key the pair was signed for, and the pair; `None` for a token that was not
    /// live when read, whose refresh can only be refused.
    signed: Option<(String, TokenPair)>,
    at: i64,
}

/// Prepares the refresh of `presented`, whose chain's key read `holder` at `at` (see
/// [`PreparedRefresh`]; [`refresh`] spends it).
pub fn prepare_refresh(
    core: &Core,
    presented: &str,
    holder: Option<&KeyAuth>,
    at: i64,
) -> PreparedRefresh {
    let successor = new_refresh_token();
    PreparedRefresh {
        presented_hash: hash_secret(presented),
        successor_hash: hash_secret(&successor),
        expires_at: at + core.policy.refresh_token_ttl,
        signed: holder.map(|auth| (auth.key.id.clone(), pair(core, auth, successor, at))),
        at,
    }
}

/// Spends the presented token once for the prepared pair. A refresh for a suspended
/// tenant, or for a key that no longer works, is refused *without* spending the token
/// (the error rolls the transaction back), so resuming the tenant lets the chain go on.
pub async fn refresh(db: &mut Db, prepared: PreparedRefresh) -> ApiResult<Refreshed> {
    let PreparedRefresh {
        presented_hash,
        successor_hash,
        expires_at,
        signed,
        at,
    } = prepared;
    let outcome = refresh::use_once(db, &presented_hash, &successor_hash, expires_at, at).await?;
    let key_id = match outcome {
        RefreshOutcome::Rotated { key_id, .. } => key_id,
        RefreshOutcome::Reused => {
            tracing::warn!("refresh token reuse detected; its chain is revoked");
            return Ok(Refreshed::Refused(ApiError::invalid_refresh_token()));
        }
        RefreshOutcome::Invalid => return Err(ApiError::invalid_refresh_token()),
    };
    // A chain's key never changes, and a token live now was live when read: the pair was
    // signed for this key. Refused otherwise, which rolls the spending back.
    let Some((signed_for, pair)) = signed.filter(|(signed_for, _)| *signed_for == key_id) else {
        return Err(ApiError::invalid_refresh_token());
    };
    let auth = keys::by_id(db, &signed_for)
        .await?
        .filter(|a| a.key.is_valid_at(at))
        .ok_or_else(ApiError::invalid_refresh_token)?;
    if auth.tenant_status == TenantStatus::Suspended {
        return Err(ApiError::tenant_suspended());
    }
    Ok(Refreshed::Pair(pair))
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
