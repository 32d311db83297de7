//! `/auth/token`, `/auth/refresh`, `/auth/revoke`: API key → JWT exchange with
//! single-use refresh tokens and reuse detection.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chalk_sdk::model::{
    Data, ErrorCode, ErrorEnvelope, RefreshRequest, RevokeRequest, Revoked, TokenPair, TokenRequest,
};

use crate::clock::now;
use crate::domain::caller::{TenantCredential, tenant_caller};
use crate::domain::tokens::{self, Refreshed};
use crate::domain::validate::parse;
use crate::error::ApiResult;
use crate::http::credentials::{
    Refused, RequestFacts, admit_caller, check_api_key, count_refusal, record_refused_api_key,
    stamp,
};
use crate::http::extract::JsonBody;
use crate::http::rate_limit::{Budget, Decision};
use crate::http::state::AppState;
use crate::http::throttle::{FailedAuthentication, Unverified};

pub const TAG: &str = "auth";

/// Exchange an API key for an access token and a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = TAG,
    description = "Each exchange counts against the key's tenant's rate limit, like a request \
        made with the key (`RateLimit-*` headers; 429 with `Retry-After` past it), refused or not. \
        The tenant's `allowed_origins` applies: a browser `Origin` not in a non-empty list is 403 `FORBIDDEN`.",
    request_body = TokenRequest,
    responses((status = 200, body = Data<TokenPair>), (status = 400, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 401, description = "Invalid API key", body = ErrorEnvelope),
        (status = 403, description = "Tenant suspended, or an Origin not in allowed_origins", body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
        (status = 429, description = "The tenant's rate limit, or too many failed authentications; see Retry-After", body = ErrorEnvelope)))]
pub async fn token(
    State(state): State<AppState>,
    facts: RequestFacts,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let request: TokenRequest = parse(body)?;
    let key = request.api_key.expose();
    let auth = match check_api_key(&state, key).await {
        Ok(auth) => auth,
        Err(Refused { error, holder }) => {
            // A suspended tenant's key verified: its refusal counts against the tenant.
            if let Err(limited) = count_refusal(&state, holder.as_ref()).await {
                return Ok(limited);
            }
            record_refused_api_key(&state, &facts, key, &error).await;
            return Err(error);
        }
    };
    // The key arrives in the body, so the credential middleware saw an anonymous caller:
    // the tenant's limit and its allowed_origins are applied here (each exchange writes a
    // refresh token).
    let caller = tenant_caller(&auth, TenantCredential::ApiKey);
    let decision = match admit_caller(&state, &facts, &headers, &caller).await {
        Ok(decision) => decision,
        Err(refused) => return Ok(refused),
    };
    let at = now();
    let prepared = tokens::prepare_exchange(&state, &auth, at);
    let mut db = state.store.begin().await?;
    let pair = tokens::exchange(&mut db, prepared).await?;
    db.commit().await?;
    state.usage.token_exchange(&auth.key.tenant_id, at);
    crate::http::credentials::record_key_use(&state, &auth.key.id).await;
    Ok(stamped(Json(Data { data: pair }).into_response(), decision))
}

fn stamped(mut response: Response, decision: Option<Decision>) -> Response {
    if let Some(d) = decision {
        stamp(response.headers_mut(), d);
    }
    response
}

/// Trade a refresh token for a new pair. Each refresh token works once; presenting a
/// used one revokes its whole chain.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = TAG,
    description = "If the key behind the chain no longer works the answer is 401 `INVALID_REFRESH_TOKEN`; \
        while its tenant is suspended it is 403 `TENANT_SUSPENDED` and the refresh token is not spent, \
        so the chain goes on once the tenant is resumed. A refresh counts against its tenant's rate limit \
        (`RateLimit-*` headers), refused or not; past it the answer is 429 and the token is not spent. \
        The tenant's `allowed_origins` applies (403 `FORBIDDEN`, the token not spent). A token that was never \
        live (unknown, expired or revoked, as opposed to spent) counts as a failed authentication of the client \
        address (`CHALK_AUTH_FAILURE_LIMIT`).",
    request_body = RefreshRequest,
    responses((status = 200, body = Data<TokenPair>), (status = 400, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 401, description = "Invalid, expired, revoked or reused refresh token", body = ErrorEnvelope),
        (status = 403, description = "Tenant suspended, or an Origin not in allowed_origins", body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
        (status = 429, description = "The tenant's rate limit, or a token that does not verify from an address with too many failed authentications; see Retry-After", body = ErrorEnvelope)))]
pub async fn refresh(
    State(state): State<AppState>,
    facts: RequestFacts,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let request: RefreshRequest = parse(body)?;
    let presented = request.refresh_token.expose();
    // The chain's key, read without spending the token (and before the write transaction,
    // which the checks below must not hold: a refused origin writes an audit entry).
    let at = now();
    let holder = {
        let mut db = state.store.read().await?;
        tokens::holder(&mut db, presented, at).await?
    };
    let live = holder.is_some();
    let tenant_id = holder.as_ref().map(|auth| auth.key.tenant_id.clone());
    let decision = match &holder {
        Some(auth) => {
            let caller = tenant_caller(auth, TenantCredential::AccessToken);
            match admit_caller(&state, &facts, &headers, &caller).await {
                Ok(decision) => decision,
                Err(refused) => return Ok(refused),
            }
        }
        None => None,
    };
    // Signed once admitted and before the write transaction, for the key just read
    // (`tokens::refresh`).
    let prepared = tokens::prepare_refresh(&state, presented, holder.as_ref(), at);
    let mut db = state.store.begin().await?;
    let refreshed = match tokens::refresh(&mut db, prepared).await {
        Ok(refreshed) => refreshed,
        Err(error) => {
            let never_live = !live && error.code == ErrorCode::InvalidRefreshToken;
            let mut response = stamped(error.into_response(), decision);
            if never_live {
                // Not a spent token (that is `Refreshed::Refused`): a guess, or a token
                // long dead. It counts against the address like a wrong key.
                response.extensions_mut().insert(FailedAuthentication);
            }
            return Ok(response);
        }
    };
    db.commit().await?;
    let response = match refreshed {
        Refreshed::Pair(pair) => {
            if let Some(tenant_id) = &tenant_id {
                state.usage.token_exchange(tenant_id, now());
            }
            Json(Data { data: pair }).into_response()
        }
        Refreshed::Refused(error) => error.into_response(),
    };
    Ok(stamped(response, decision))
}

/// Revoke a refresh token and its chain. Always 200 for a well-formed body, so the answer
/// tells nobody whether the token existed.
#[utoipa::path(post, path = "/api/v1/auth/revoke", tag = TAG,
    description = "From an address with too many failed authentications, a token that is not live \
        (unknown, used, revoked or expired) is answered 429 with `Retry-After`; a live one is always revoked. \
        A live token's revocation counts against its tenant's rate limit (`RateLimit-*` headers) but is never \
        refused for it: a tenant over its limit can still end a session.",
    request_body = RevokeRequest,
    responses((status = 200, body = Data<Revoked>), (status = 400, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
        (status = 429, description = "Too many failed authentications from this address; see Retry-After", body = ErrorEnvelope)))]
pub async fn revoke(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let request: RevokeRequest = parse(body)?;
    let presented = request.token.expose();
    let at = now();
    let mut db = state.store.begin().await?;
    let holder = tokens::holder(&mut db, presented, at).await?;
    tokens::revoke(&mut db, presented, at).await?;
    db.commit().await?;
    let mut response = Json(Data {
        data: Revoked { revoked: true },
    })
    .into_response();
    match holder {
        // Counted against the tenant like every request, but never refused for it: a
        // tenant over its limit must still be able to end a session.
        Some(auth) => {
            let budget = Budget::tenant(&auth.key.tenant_id, auth.rate_limit_per_minute);
            stamp(
                response.headers_mut(),
                budget.spend(&state.rate_limiter).await,
            );
        }
        // Still 200, but a throttled address gets 429 for it like for any token that
        // does not verify (see `throttle.rs`).
        None => {
            response.extensions_mut().insert(Unverified);
        }
    }
    Ok(response)
}
