//! Who is calling: the credential middleware and the [`Caller`] extractor.
//!
//! [`authenticate`] runs on every matched route. It accepts exactly one credential
//! (`X-Master-Key`, `X-API-Key` or `Authorization: Bearer`), checks it against the store
//! (so a revoked key, a rotated-away key or a suspended tenant is refused at once, on
//! every instance), applies the tenant's rate limit and adds the `RateLimit-*` headers.
//! Handlers then take a [`Caller`] and state which access they need.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chalk_sdk::model::{ParticipantRole, Scope, TenantStatus};

use crate::clock::now;
use crate::crypto::{hash_secret, secrets_equal};
use crate::error::ApiError;
use crate::rate_limit::Decision;
use crate::state::AppState;
use crate::store::{KeyAuth, keys, rooms};
use crate::tokens::{PARTICIPANT_ACCESS, TokenError};

pub const MASTER_KEY_HEADER: &str = "x-master-key";
pub const API_KEY_HEADER: &str = "x-api-key";

/// How a tenant proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantCredential {
    ApiKey,
    AccessToken,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCaller {
    pub tenant_id: String,
    pub key_id: String,
    pub scopes: Vec<Scope>,
    pub credential: TenantCredential,
    /// The tenant's `rate_limit_per_minute`, read with the credential.
    pub rate_limit_per_minute: i64,
}

impl TenantCaller {
    pub fn has(&self, wanted: Scope) -> bool {
        self.scopes.iter().any(|s| s.grants(wanted))
    }
}

/// A participant token's holder: it may read its own room, and a host may also end it
/// and remove its participants. Checked against the store on every request, so removal,
/// replacement, a refresh or the room's end kill the token at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantCaller {
    pub tenant_id: String,
    pub room_id: String,
    pub participant_id: String,
    pub role: ParticipantRole,
    pub rate_limit_per_minute: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Master,
    Tenant(TenantCaller),
    Participant(ParticipantCaller),
    Anonymous,
}

/// A participant token used where a tenant credential is needed.
pub fn participant_token_refused() -> ApiError {
    ApiError::forbidden(
        "A participant token is valid only for its own room (GET /rooms/{id}; hosts also end it and remove participants)",
    )
}

/// Marks a response refused because of its `Origin`, so CORS headers are not added to it.
#[derive(Debug, Clone, Copy)]
pub struct OriginRefused;

fn missing_credentials() -> ApiError {
    ApiError::unauthorized(
        "Missing credentials: send X-Master-Key, X-API-Key or Authorization: Bearer <token>",
    )
}

impl Caller {
    /// The master key, or the tenant `tenant_id` itself holding `scope`. Another tenant's
    /// id is 404, exactly as if it did not exist.
    pub fn require_tenant(&self, tenant_id: &str, scope: Scope) -> Result<(), ApiError> {
        match self {
            Caller::Master => Ok(()),
            Caller::Tenant(t) if t.tenant_id != tenant_id => Err(ApiError::not_found("Tenant")),
            Caller::Tenant(t) if t.has(scope) => Ok(()),
            Caller::Tenant(_) => Err(ApiError::forbidden(format!(
                "This credential lacks the {scope} scope"
            ))),
            Caller::Participant(_) => Err(participant_token_refused()),
            Caller::Anonymous => Err(missing_credentials()),
        }
    }

    pub fn require_master(&self) -> Result<(), ApiError> {
        match self {
            Caller::Master => Ok(()),
            Caller::Tenant(_) | Caller::Participant(_) => {
                Err(ApiError::forbidden("This operation needs the master key"))
            }
            Caller::Anonymous => Err(missing_credentials()),
        }
    }

    /// Any tenant credential (for `GET /tenant`).
    pub fn require_any_tenant(&self) -> Result<&TenantCaller, ApiError> {
        match self {
            Caller::Tenant(t) => Ok(t),
            Caller::Master => Err(ApiError::invalid_request(
                "GET /tenant describes the calling tenant; the master key has none. Use GET /tenants/{id}",
            )),
            Caller::Participant(_) => Err(participant_token_refused()),
            Caller::Anonymous => Err(missing_credentials()),
        }
    }

    /// Who this is for idempotency records: the same key from another caller is another request.
    pub fn idempotency_scope(&self) -> String {
        match self {
            Caller::Master => "master".to_owned(),
            // Per credential, not per tenant: another key of the tenant (with other scopes)
            // must not replay this one's response and the secret in it.
            Caller::Tenant(t) => format!("key:{}", t.key_id),
            Caller::Participant(p) => format!("participant:{}", p.participant_id),
            Caller::Anonymous => "anonymous".to_owned(),
        }
    }

    pub fn tenant_id(&self) -> Option<&str> {
        match self {
            Caller::Tenant(t) => Some(&t.tenant_id),
            Caller::Participant(p) => Some(&p.tenant_id),
            _ => None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Set by `authenticate`, which every route of the protected router runs. Its
        // absence is a route registered outside that router: a server fault, never a
        // silent anonymous caller.
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::internal("a handler needing a caller was reached without authentication")
        })
    }
}

/// The middleware: resolves the credential, rate-limits tenants, stamps the headers.
pub async fn authenticate(mut req: Request, next: Next) -> Response {
    // `request_context`, the outermost layer, puts the state there.
    let Some(state) = req.extensions().get::<AppState>().cloned() else {
        return ApiError::internal("request reached authentication without the app state")
            .into_response();
    };
    let caller = match resolve(&state, req.headers()).await {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    if let Err(error) = check_origin(&state, &caller, req.headers()).await {
        let mut response = error.into_response();
        response.extensions_mut().insert(OriginRefused);
        return response;
    }
    let decision = match &caller {
        Caller::Tenant(t) => Some(
            state
                .rate_limiter
                .check(&t.tenant_id, t.rate_limit_per_minute, now())
                .await,
        ),
        // A participant token has its own budget (API.md Hardening rules): one browser
        // looping on its room must not spend the tenant's limit.
        Caller::Participant(p) => Some(
            state
                .rate_limiter
                .check(
                    &format!("participant:{}", p.participant_id),
                    state.policy.participant_rate_limit,
                    now(),
                )
                .await,
        ),
        _ => None,
    };
    if let Some(d) = decision.filter(|d| !d.allowed) {
        let mut response = ApiError::rate_limited(d.reset.max(1) as u64).into_response();
        stamp(response.headers_mut(), d);
        return response;
    }
    req.extensions_mut().insert(caller);
    let mut response = next.run(req).await;
    if let Some(d) = decision {
        stamp(response.headers_mut(), d);
    }
    response
}

/// The `RateLimit-*` headers of a decision.
pub fn stamp(headers: &mut HeaderMap, d: Decision) {
    for (name, value) in [
        ("ratelimit-limit", d.limit),
        ("ratelimit-remaining", d.remaining),
        ("ratelimit-reset", d.reset),
    ] {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
}

async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let master = headers.get(MASTER_KEY_HEADER);
    let api_key = headers.get(API_KEY_HEADER);
    let bearer = headers.get(header::AUTHORIZATION);
    // A repeated header is two credentials too (`get` would see only the first).
    let count: usize = [
        MASTER_KEY_HEADER,
        API_KEY_HEADER,
        header::AUTHORIZATION.as_str(),
    ]
    .iter()
    .map(|name| headers.get_all(*name).iter().count())
    .sum();
    if count > 1 {
        return Err(ApiError::invalid_request(
            "Send exactly one credential: X-Master-Key, X-API-Key or Authorization",
        ));
    }
    if let Some(value) = master {
        let given = value.to_str().unwrap_or("");
        return if secrets_equal(given, state.master_key.expose()) {
            Ok(Caller::Master)
        } else {
            Err(ApiError::unauthorized("Invalid master key"))
        };
    }
    if let Some(value) = api_key {
        let key = value.to_str().unwrap_or("");
        return api_key_caller(state, key).await;
    }
    if let Some(value) = bearer {
        let text = value.to_str().unwrap_or("");
        // The scheme is case-insensitive (RFC 7235): `BEARER x` is `Bearer x`.
        let token = text
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("Authorization must be `Bearer <access token>`")
            })?;
        return access_token_caller(state, token).await;
    }
    Ok(Caller::Anonymous)
}

/// Looks up an API key and checks that it, and its tenant, may act now.
pub async fn check_api_key(state: &AppState, key: &str) -> Result<Arc<KeyAuth>, ApiError> {
    let invalid = || ApiError::unauthorized("Invalid API key");
    if !key.starts_with(crate::crypto::API_KEY_PREFIX) {
        return Err(invalid());
    }
    let hash = hash_secret(key);
    let cache = state.store.cache();
    let auth = match cache.key_by_hash(&hash) {
        Some(auth) => auth,
        None => {
            let ticket = cache.ticket();
            let mut db = state.store.read().await?;
            let auth = Arc::new(keys::by_hash(&mut db, &hash).await?.ok_or_else(invalid)?);
            cache.put_key(ticket, Some(&hash), &auth);
            auth
        }
    };
    if !auth.key.is_valid_at(now()) {
        return Err(invalid());
    }
    if auth.tenant_status == TenantStatus::Suspended {
        return Err(ApiError::tenant_suspended());
    }
    Ok(auth)
}

async fn api_key_caller(state: &AppState, key: &str) -> Result<Caller, ApiError> {
    let auth = check_api_key(state, key).await?;
    record_key_use(state, &auth.key.id).await;
    Ok(tenant_caller(&auth, TenantCredential::ApiKey))
}

/// Keeps `last_used_at` fresh to the minute. The in-process check spares the single
/// SQLite writer an UPDATE per request; the store applies the same one-minute rule, so
/// several instances still write at most about once a minute per key.
pub async fn record_key_use(state: &AppState, key_id: &str) {
    let at = now();
    {
        let mut recent = state.key_uses.lock().expect("key use lock poisoned");
        if recent.get(key_id).is_some_and(|last| at - *last < 60) {
            return;
        }
        if recent.len() > 10_000 {
            recent.retain(|_, last| at - *last < 60);
        }
        recent.insert(key_id.to_owned(), at);
    }
    let touched = async {
        let mut db = state.store.begin().await?;
        keys::touch(&mut db, key_id, at).await?;
        db.commit().await
    };
    if let Err(e) = touched.await {
        tracing::warn!(error = %e, "could not record API key use");
    }
}

async fn access_token_caller(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let claims = match state.signer.verify_access(token).await {
        Ok(claims) => claims,
        Err(TokenError::Expired) => return Err(ApiError::token_expired()),
        // Not a tenant access token: perhaps a participant's.
        Err(TokenError::Invalid) => return participant_token_caller(state, token).await,
    };
    let revoked = || ApiError::unauthorized("Access token has been revoked");
    let cache = state.store.cache();
    let auth = match cache.key_by_id(&claims.key_id) {
        Some(auth) => auth,
        None => {
            let ticket = cache.ticket();
            let mut db = state.store.read().await?;
            let auth = Arc::new(
                keys::by_id(&mut db, &claims.key_id)
                    .await?
                    .ok_or_else(revoked)?,
            );
            cache.put_key(ticket, None, &auth);
            auth
        }
    };
    if auth.key.tenant_id != claims.sub || !auth.key.is_valid_at(now()) {
        return Err(revoked());
    }
    if auth.tenant_status == TenantStatus::Suspended {
        return Err(ApiError::tenant_suspended());
    }
    Ok(tenant_caller(&auth, TenantCredential::AccessToken))
}

fn tenant_caller(auth: &KeyAuth, credential: TenantCredential) -> Caller {
    Caller::Tenant(TenantCaller {
        tenant_id: auth.key.tenant_id.clone(),
        key_id: auth.key.id.clone(),
        scopes: auth.key.scopes.clone(),
        credential,
        rate_limit_per_minute: auth.rate_limit_per_minute,
    })
}

async fn participant_token_caller(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let claims = state
        .signer
        .verify_participant(token, PARTICIPANT_ACCESS)
        .await
        .map_err(|e| match e {
            TokenError::Expired => ApiError::token_expired(),
            TokenError::Invalid => ApiError::unauthorized("Invalid access token"),
        })?;
    let dead = || {
        ApiError::unauthorized(
            "Participant token is no longer valid: the participant left or was replaced, \
             its tokens were refreshed, or the room ended",
        )
    };
    let cache = state.store.cache();
    let auth = match cache.participant(&claims.sub) {
        Some(auth) => auth,
        None => {
            let ticket = cache.ticket();
            let mut db = state.store.read().await?;
            let auth = Arc::new(
                rooms::participant_auth(&mut db, &claims.sub)
                    .await?
                    .ok_or_else(dead)?,
            );
            cache.put_participant(ticket, &auth);
            auth
        }
    };
    if !auth.accepts(&claims.tid, &claims.rid, claims.r#gen) {
        return Err(dead());
    }
    if auth.tenant_status == TenantStatus::Suspended {
        return Err(ApiError::tenant_suspended());
    }
    Ok(Caller::Participant(ParticipantCaller {
        tenant_id: auth.participant.tenant_id.clone(),
        room_id: auth.participant.room_id.clone(),
        participant_id: auth.participant.id.clone(),
        role: auth.participant.role,
        rate_limit_per_minute: auth.rate_limit_per_minute,
    }))
}

/// `allowed_origins`: a request whose `Origin` header is not in its tenant's (non-empty)
/// list is refused with 403 `FORBIDDEN`, naming the origin. Requests without `Origin`
/// (servers, CLIs) and master-key requests are not subject to it.
async fn check_origin(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    match caller.tenant_id() {
        Some(tenant_id) => check_origin_for(state, tenant_id, headers).await,
        None => Ok(()),
    }
}

/// The `allowed_origins` check for a tenant known only inside a handler (a participant
/// renewing its tokens with a refresh token and no credential header).
pub async fn check_origin_for(
    state: &AppState,
    tenant_id: &str,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let Some(tenant) = crate::domain::tenants::snapshot(state, tenant_id).await? else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    if crate::tenant_config::origin_allowed(&tenant.row.config.allowed_origins, origin) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "Origin {origin:?} is not in this tenant's allowed_origins"
        )))
    }
}
