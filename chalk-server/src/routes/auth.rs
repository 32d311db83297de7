//! `/auth/token`, `/auth/refresh`, `/auth/revoke`: API key → JWT exchange with
//! single-use refresh tokens and reuse detection.

use axum::Json;
use axum::extract::State;
use chalk_sdk::model::{
    Data, ErrorEnvelope, RefreshRequest, RevokeRequest, Revoked, TenantStatus, TokenPair,
    TokenRequest,
};

use crate::auth::check_api_key;
use crate::crypto::{hash_secret, new_id};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, parse};
use crate::state::{AppState, now};
use crate::store::{KeyAuth, NewRefreshToken, RefreshOutcome};
use crate::tokens::new_refresh_token;

pub const TAG: &str = "auth";

fn scope_text(auth: &KeyAuth) -> String {
    auth.key
        .scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn pair(state: &AppState, auth: &KeyAuth, refresh_token: String, at: i64) -> TokenPair {
    let ttl = state.policy.access_token_ttl;
    TokenPair {
        access_token: state
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

fn new_refresh_row(
    state: &AppState,
    auth: &KeyAuth,
    token: &str,
    family_id: String,
    at: i64,
) -> NewRefreshToken {
    NewRefreshToken {
        token_hash: hash_secret(token),
        family_id,
        tenant_id: auth.key.tenant_id.clone(),
        key_id: auth.key.id.clone(),
        created_at: at,
        expires_at: at + state.policy.refresh_token_ttl,
    }
}

/// Exchange an API key for an access token and a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = TAG,
    request_body = TokenRequest,
    responses((status = 200, body = Data<TokenPair>), (status = 400, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 401, description = "Invalid API key", body = ErrorEnvelope),
        (status = 403, description = "Tenant suspended", body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn token(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Data<TokenPair>>> {
    let request: TokenRequest = parse(body)?;
    let auth = check_api_key(&state, request.api_key.expose()).await?;
    let at = now();
    let refresh = new_refresh_token();
    state
        .store
        .insert_refresh_token(new_refresh_row(&state, &auth, &refresh, new_id("fam"), at))
        .await?;
    crate::auth::record_key_use(&state, &auth.key.id).await;
    Ok(Json(Data {
        data: pair(&state, &auth, refresh, at),
    }))
}

/// Trade a refresh token for a new pair. Each refresh token works once; presenting a
/// used one revokes its whole chain.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = TAG,
    description = "If the key behind the chain was revoked, or its tenant is suspended, the chain is revoked \
        and the answer is 401 `INVALID_REFRESH_TOKEN` or 403 `TENANT_SUSPENDED`.",
    request_body = RefreshRequest,
    responses((status = 200, body = Data<TokenPair>), (status = 400, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 401, description = "Invalid, expired, revoked or reused refresh token", body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn refresh(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Data<TokenPair>>> {
    let request: RefreshRequest = parse(body)?;
    let presented = hash_secret(request.refresh_token.expose());
    let at = now();
    let successor = new_refresh_token();
    let successor_hash = hash_secret(&successor);
    let expires_at = at + state.policy.refresh_token_ttl;
    let outcome = state
        .store
        .use_refresh_token(&presented, &successor_hash, expires_at, at)
        .await?;
    let key_id = match outcome {
        RefreshOutcome::Rotated { key_id, .. } => key_id,
        RefreshOutcome::Reused => {
            tracing::warn!("refresh token reuse detected; its chain is revoked");
            return Err(ApiError::invalid_refresh_token());
        }
        RefreshOutcome::Invalid => return Err(ApiError::invalid_refresh_token()),
    };
    let auth = state.store.key_by_id(&key_id).await?;
    let refusal = match &auth {
        None => Some(ApiError::invalid_refresh_token()),
        Some(a) if !a.key.is_valid_at(at) => Some(ApiError::invalid_refresh_token()),
        Some(a) if a.tenant_status == TenantStatus::Suspended => Some(ApiError::tenant_suspended()),
        Some(_) => None,
    };
    if let Some(error) = refusal {
        state
            .store
            .revoke_refresh_family(&successor_hash, at)
            .await?;
        return Err(error);
    }
    let auth = auth.expect("checked above");
    Ok(Json(Data {
        data: pair(&state, &auth, successor, at),
    }))
}

/// Revoke a refresh token and its chain. Always 200 for a well-formed body, so the answer
/// tells nobody whether the token existed.
#[utoipa::path(post, path = "/api/v1/auth/revoke", tag = TAG,
    request_body = RevokeRequest,
    responses((status = 200, body = Data<Revoked>), (status = 400, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn revoke(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Data<Revoked>>> {
    let request: RevokeRequest = parse(body)?;
    state
        .store
        .revoke_refresh_family(&hash_secret(request.token.expose()), now())
        .await?;
    Ok(Json(Data {
        data: Revoked { revoked: true },
    }))
}
