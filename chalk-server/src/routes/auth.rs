//! `/auth/token`, `/auth/refresh`, `/auth/revoke`: API key → JWT exchange with
//! single-use refresh tokens and reuse detection.

use axum::Json;
use axum::extract::State;
use chalk_sdk::model::{
    Data, ErrorEnvelope, RefreshRequest, RevokeRequest, Revoked, TokenPair, TokenRequest,
};

use axum::response::{IntoResponse, Response};

use crate::auth::{RequestFacts, check_api_key, record_refused_api_key, stamp};
use crate::clock::now;
use crate::domain::tokens::{self, Refreshed};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, parse};
use crate::state::AppState;
use crate::throttle::Unverified;

pub const TAG: &str = "auth";

/// Exchange an API key for an access token and a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = TAG,
    description = "Each exchange counts against the key's tenant's rate limit, like a request \
        made with the key (`RateLimit-*` headers; 429 with `Retry-After` past it).",
    request_body = TokenRequest,
    responses((status = 200, body = Data<TokenPair>), (status = 400, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 401, description = "Invalid API key", body = ErrorEnvelope),
        (status = 403, description = "Tenant suspended", body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
        (status = 429, description = "The tenant's rate limit, or too many failed authentications; see Retry-After", body = ErrorEnvelope)))]
pub async fn token(
    State(state): State<AppState>,
    facts: RequestFacts,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let request: TokenRequest = parse(body)?;
    let auth = match check_api_key(&state, request.api_key.expose()).await {
        Ok(auth) => auth,
        Err(error) => {
            record_refused_api_key(&state, &facts, request.api_key.expose(), &error).await;
            return Err(error);
        }
    };
    // The key arrives in the body, so the credential middleware saw an anonymous caller:
    // the tenant's limit is applied here (each exchange writes a refresh token).
    let decision = state
        .rate_limiter
        .check(&auth.key.tenant_id, auth.rate_limit_per_minute, now())
        .await;
    if !decision.allowed {
        let mut response = ApiError::rate_limited(decision.reset.max(1) as u64).into_response();
        stamp(response.headers_mut(), decision);
        return Ok(response);
    }
    let at = now();
    let mut db = state.store.begin().await?;
    let pair = tokens::exchange(&state, &mut db, &auth, at).await?;
    db.commit().await?;
    crate::auth::record_key_use(&state, &auth.key.id).await;
    let mut response = Json(Data { data: pair }).into_response();
    stamp(response.headers_mut(), decision);
    Ok(response)
}

/// Trade a refresh token for a new pair. Each refresh token works once; presenting a
/// used one revokes its whole chain.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = TAG,
    description = "If the key behind the chain no longer works the answer is 401 `INVALID_REFRESH_TOKEN`; \
        while its tenant is suspended it is 403 `TENANT_SUSPENDED` and the refresh token is not spent, \
        so the chain goes on once the tenant is resumed.",
    request_body = RefreshRequest,
    responses((status = 200, body = Data<TokenPair>), (status = 400, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 401, description = "Invalid, expired, revoked or reused refresh token", body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
        (status = 429, description = "A token that does not verify, from an address with too many failed authentications; see Retry-After", body = ErrorEnvelope)))]
pub async fn refresh(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Data<TokenPair>>> {
    let request: RefreshRequest = parse(body)?;
    let mut db = state.store.begin().await?;
    let refreshed = tokens::refresh(&state, &mut db, request.refresh_token.expose(), now()).await?;
    db.commit().await?;
    match refreshed {
        Refreshed::Pair(pair) => Ok(Json(Data { data: pair })),
        Refreshed::Refused(error) => Err(error),
    }
}

/// Revoke a refresh token and its chain. Always 200 for a well-formed body, so the answer
/// tells nobody whether the token existed.
#[utoipa::path(post, path = "/api/v1/auth/revoke", tag = TAG,
    description = "From an address with too many failed authentications, a token that is not live \
        (unknown, used, revoked or expired) is answered 429 with `Retry-After`; a live one is always revoked.",
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
    let live = tokens::holder(&mut db, presented, at).await?.is_some();
    tokens::revoke(&mut db, presented, at).await?;
    db.commit().await?;
    let mut response = Json(Data {
        data: Revoked { revoked: true },
    })
    .into_response();
    if !live {
        // Still 200, but a throttled address gets 429 for it like for any token that
        // does not verify (see `throttle.rs`).
        response.extensions_mut().insert(Unverified);
    }
    Ok(response)
}
