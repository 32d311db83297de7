//! Who is calling: the credential middleware and the [`Caller`] extractor.
//!
//! [`authenticate`] runs on every matched route. It accepts exactly one credential
//! (`X-Master-Key`, `X-API-Key` or `Authorization: Bearer`), checks it against the store
//! (so a revoked key, a rotated-away key or a suspended tenant is refused at once, on
//! every instance), applies the tenant's rate limit and adds the `RateLimit-*` headers.
//! Handlers then take a [`Caller`] and state which access they need.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chalk_sdk::model::{Actor, ActorType, TenantStatus};

use crate::clock::now;
use crate::crypto::{API_KEY_PREFIX, OPERATOR_KEY_PREFIX, hash_secret, secrets_equal};
use crate::domain::audit::AuditContext;
use crate::domain::caller::{
    Caller, OperatorCaller, ParticipantCaller, TenantCredential, tenant_caller,
};
use crate::domain::signing::{AccessClaims, ParticipantClaims, TokenError, Verified};
use crate::error::{ApiError, RenderedError};
use crate::http::denials::{Refusal, api_key_actor};
pub use crate::http::denials::{RequestFacts, record_refused_api_key};
use crate::http::rate_limit::{Budget, Decision};
use crate::http::state::AppState;
use crate::store::{KeyAuth, StoreError, keys, operator_keys, participants};

pub const MASTER_KEY_HEADER: &str = "x-master-key";
pub const API_KEY_HEADER: &str = "x-api-key";

/// Marks a response refused because of its `Origin`, so CORS headers are not added to it.
#[derive(Debug, Clone, Copy)]
pub struct OriginRefused;

/// A credential refused by [`resolve`]. `holder` is set when the credential verified but
/// may not act now (its tenant is suspended): the refusal still counts against its limit
/// (docs/api.md Hardening rules) and the audit log names it.
#[derive(Debug)]
pub struct Refused {
    pub error: ApiError,
    pub holder: Option<Caller>,
}

impl Refused {
    fn suspended(holder: Caller) -> Self {
        Refused {
            error: ApiError::tenant_suspended(),
            holder: Some(holder),
        }
    }
}

impl From<ApiError> for Refused {
    fn from(error: ApiError) -> Self {
        Refused {
            error,
            holder: None,
        }
    }
}

impl From<StoreError> for Refused {
    fn from(error: StoreError) -> Self {
        ApiError::from(error).into()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Set by `authenticate`, which every route of the protected router runs. Its
        // absence is a route registered outside that router: a server fault, never a
        // silent anonymous caller.
        caller_of(parts).map(|caller| (*caller).clone())
    }
}

/// The caller `authenticate` put beside the request. Shared (`Arc`), so the middleware
/// keeps it for after the handler without copying it on every request.
fn caller_of(parts: &Parts) -> Result<Arc<Caller>, ApiError> {
    parts
        .extensions
        .get::<Arc<Caller>>()
        .cloned()
        .ok_or_else(|| {
            ApiError::internal("a handler needing a caller was reached without authentication")
        })
}

impl<S: Send + Sync> FromRequestParts<S> for AuditContext {
    type Rejection = ApiError;

    /// Built only for the handlers that change something (the others never pay for it),
    /// from the caller and the request.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let caller = caller_of(parts)?;
        Ok(
            RequestFacts::from_parts(&parts.method, &parts.uri, &parts.headers, &parts.extensions)
                .context(caller.actor()),
        )
    }
}

/// The credential check on the routes that take one (`openapi.rs`), as a layer of its own
/// rather than `middleware::from_fn`, which would box the route into a `Next` for every
/// request on top of the clone axum makes anyway.
#[derive(Clone, Copy)]
pub struct Authenticated;

impl<S> tower::Layer<S> for Authenticated {
    type Service = AuthenticatedService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthenticatedService(inner)
    }
}

/// A route behind [`authenticate`].
#[derive(Clone)]
pub struct AuthenticatedService<S>(S);

impl<S> tower::Service<Request> for AuthenticatedService<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The service that was polled ready serves this request; its clone the next one.
        let clone = self.0.clone();
        let mut ready = std::mem::replace(&mut self.0, clone);
        Box::pin(async move {
            Ok(authenticate(req, |req| async move {
                match ready.call(req).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            })
            .await)
        })
    }
}

/// The credential check: resolves the credential, counts the request against its limit
/// (every request, whatever its outcome), checks its origin, stamps the headers.
pub async fn authenticate<F: Future<Output = Response>>(
    mut req: Request,
    next: impl FnOnce(Request) -> F,
) -> Response {
    // `request_context`, which every request passes first (`http::around_every_route`),
    // puts the state there.
    let Some(state) = req.extensions().get::<AppState>().cloned() else {
        return ApiError::internal("request reached authentication without the app state")
            .into_response();
    };
    let request = RequestFacts::of(&req);
    let caller = match resolve(&state, req.headers()).await {
        Ok(caller) => caller,
        Err(refused) => return refuse(&state, &request, req.headers(), refused).await,
    };
    // Usage metering: every request authenticated as a tenant counts, whatever its outcome
    // (aggregated in memory; the usage flush writes it).
    if let Some(tenant_id) = caller.tenant_id() {
        state.usage.api_request(tenant_id, crate::clock::now());
    }
    let decision = match admit_caller(&state, &request, req.headers(), &caller).await {
        Ok(decision) => decision,
        Err(response) => return response,
    };
    let caller = Arc::new(caller);
    req.extensions_mut().insert(Arc::clone(&caller));
    let mut response = next(req).await;
    if response.status() == StatusCode::FORBIDDEN {
        let forbidden = response
            .extensions()
            .get::<RenderedError>()
            .map(|RenderedError(e)| Arc::clone(e))
            .unwrap_or_else(|| Arc::new(ApiError::forbidden("Forbidden")));
        request
            .record_denied(
                &state,
                &request.context(caller.actor()),
                caller.tenant_id(),
                Refusal::Error(&forbidden),
            )
            .await;
    }
    if let Some(d) = decision {
        stamp(response.headers_mut(), d);
    }
    response
}

/// [`admit`] for a verified caller: its own budget, tenant and actor.
pub async fn admit_caller(
    state: &AppState,
    request: &RequestFacts,
    headers: &HeaderMap,
    caller: &Caller,
) -> Result<Option<Decision>, Response> {
    admit(
        state,
        request,
        headers,
        Budget::of(caller, &state.policy),
        caller.tenant_id(),
        || caller.actor(),
    )
    .await
}

/// The two checks every tenant request passes once its credential verified: it is
/// counted against `budget`, then its `Origin` is held against `tenant_id`'s
/// `allowed_origins`. In that order, so that a refused origin spends the budget too and
/// refusals are never free (docs/api.md Hardening rules). `Err` is the answer: 429 past the
/// limit, 403 for a refused origin (recorded, within the bound of `denials.rs`), both
/// marked [`OriginRefused`] when the origin is, so CORS never names it.
pub async fn admit(
    state: &AppState,
    request: &RequestFacts,
    headers: &HeaderMap,
    budget: Option<Budget<'_>>,
    tenant_id: Option<&str>,
    actor: impl FnOnce() -> Actor,
) -> Result<Option<Decision>, Response> {
    let origin = match tenant_id {
        Some(tenant_id) => check_origin_for(state, tenant_id, headers).await,
        None => Ok(()),
    };
    if let Err(error) = &origin
        && error.status() != StatusCode::FORBIDDEN
    {
        // The store could not say: not a refusal of the origin.
        return Err(error.clone().into_response());
    }
    let decision = match budget {
        Some(budget) => Some(budget.spend(&state.rate_limiter).await),
        None => None,
    };
    let mut response = match (decision, origin) {
        (Some(d), origin) if !d.allowed => {
            let mut response = rate_limited(d);
            if origin.is_err() {
                response.extensions_mut().insert(OriginRefused);
            }
            return Err(response);
        }
        (_, Ok(())) => return Ok(decision),
        (_, Err(error)) => error.into_response(),
    };
    request
        .record_denied(state, &request.context(actor()), tenant_id, Refusal::Origin)
        .await;
    response.extensions_mut().insert(OriginRefused);
    if let Some(d) = decision {
        stamp(response.headers_mut(), d);
    }
    Err(response)
}

/// Counts a refused credential that verified (`holder`: a suspended tenant's) against its
/// limit. `Err` is the 429 past it; otherwise the decision, for the refusal's headers.
pub async fn count_refusal(
    state: &AppState,
    holder: Option<&Caller>,
) -> Result<Option<Decision>, Response> {
    let Some(budget) = holder.and_then(|c| Budget::of(c, &state.policy)) else {
        return Ok(None);
    };
    let decision = budget.spend(&state.rate_limiter).await;
    if decision.allowed {
        Ok(Some(decision))
    } else {
        Err(rate_limited(decision))
    }
}

/// The answer to a refused credential, recorded when the audit log keeps it.
async fn refuse(
    state: &AppState,
    request: &RequestFacts,
    headers: &HeaderMap,
    refused: Refused,
) -> Response {
    let Refused { error, holder } = refused;
    let decision = match count_refusal(state, holder.as_ref()).await {
        Ok(decision) => decision,
        Err(limited) => return limited,
    };
    let named = match &holder {
        Some(caller) => Some((caller.actor(), caller.tenant_id().map(str::to_owned))),
        None => denied_credential(state, headers, &error).await,
    };
    if let Some((actor, tenant_id)) = named {
        request
            .record_denied(
                state,
                &request.context(actor),
                tenant_id.as_deref(),
                Refusal::Error(&error),
            )
            .await;
    }
    let mut response = error.into_response();
    if let Some(d) = decision {
        stamp(response.headers_mut(), d);
    }
    response
}

/// 429 `RATE_LIMITED` for a decision past its limit, with `Retry-After` and the
/// `RateLimit-*` headers.
pub fn rate_limited(d: Decision) -> Response {
    let mut response = ApiError::rate_limited(d.reset.max(1) as u64).into_response();
    stamp(response.headers_mut(), d);
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

async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<Caller, Refused> {
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
        )
        .into());
    }
    if let Some(value) = master {
        let given = value.to_str().unwrap_or("");
        if given.starts_with(OPERATOR_KEY_PREFIX) {
            return Ok(operator_key_caller(state, given).await?);
        }
        return if secrets_equal(given, state.master_key.expose()) {
            Ok(Caller::Master)
        } else {
            Err(ApiError::unauthorized("Invalid master key").into())
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
        return bearer_caller(state, token).await;
    }
    Ok(Caller::Anonymous)
}

/// Looks up an API key and checks that it, and its tenant, may act now.
pub async fn check_api_key(state: &AppState, key: &str) -> Result<Arc<KeyAuth>, Refused> {
    let invalid = || ApiError::unauthorized("Invalid API key");
    if !key.starts_with(crate::crypto::API_KEY_PREFIX) {
        return Err(invalid().into());
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
        return Err(invalid().into());
    }
    if auth.tenant_status == TenantStatus::Suspended {
        return Err(Refused::suspended(tenant_caller(
            &auth,
            TenantCredential::ApiKey,
        )));
    }
    Ok(auth)
}

/// An operator key, read from the store on every request: revoked or expired, it is
/// refused at once on every instance.
async fn operator_key_caller(state: &AppState, key: &str) -> Result<Caller, ApiError> {
    let mut db = state.store.read().await?;
    let row = operator_keys::by_hash(&mut db, &hash_secret(key))
        .await?
        .filter(|row| row.is_valid_at(now()))
        .ok_or_else(|| ApiError::unauthorized("Invalid master key"))?;
    drop(db);
    if first_use_this_minute(state, &row.id) {
        let touched = async {
            let mut db = state.store.begin().await?;
            operator_keys::touch(&mut db, &row.id, now()).await?;
            db.commit().await
        };
        if let Err(e) = touched.await {
            tracing::warn!(error = %e, "could not record operator key use");
        }
    }
    Ok(Caller::Operator(OperatorCaller {
        id: row.id,
        name: row.name,
    }))
}

async fn api_key_caller(state: &AppState, key: &str) -> Result<Caller, Refused> {
    let auth = check_api_key(state, key).await?;
    record_key_use(state, &auth.key.id).await;
    Ok(tenant_caller(&auth, TenantCredential::ApiKey))
}

/// Keeps `last_used_at` fresh to the minute. The in-process check spares the single
/// SQLite writer an UPDATE per request; the store applies the same one-minute rule, so
/// several instances still write at most about once a minute per key.
pub async fn record_key_use(state: &AppState, key_id: &str) {
    let at = now();
    if !first_use_this_minute(state, key_id) {
        return;
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

/// Whether `id` (an API key or an operator key) has not been seen this minute by this
/// instance; remembers it if so.
fn first_use_this_minute(state: &AppState, id: &str) -> bool {
    let at = now();
    let mut recent = state.key_uses.lock().expect("key use lock poisoned");
    if recent.get(id).is_some_and(|last| at - *last < 60) {
        return false;
    }
    if recent.len() > 10_000 {
        recent.retain(|_, last| at - *last < 60);
    }
    recent.insert(id.to_owned(), at);
    true
}

/// A `Bearer` credential: a tenant's access token or a participant's.
async fn bearer_caller(state: &AppState, token: &str) -> Result<Caller, Refused> {
    match state.signer.verify_bearer(token).await {
        Ok(Verified::Access(claims)) => access_token_caller(state, claims).await,
        Ok(Verified::Participant(claims)) => participant_token_caller(state, claims).await,
        Err(TokenError::Expired) => Err(ApiError::token_expired().into()),
        Err(TokenError::Invalid) => Err(ApiError::unauthorized("Invalid access token").into()),
    }
}

async fn access_token_caller(state: &AppState, claims: AccessClaims) -> Result<Caller, Refused> {
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
        return Err(revoked().into());
    }
    let caller = tenant_caller(&auth, TenantCredential::AccessToken);
    if auth.tenant_status == TenantStatus::Suspended {
        return Err(Refused::suspended(caller));
    }
    Ok(caller)
}

async fn participant_token_caller(
    state: &AppState,
    claims: ParticipantClaims,
) -> Result<Caller, Refused> {
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
                participants::participant_auth(&mut db, &claims.sub)
                    .await?
                    .ok_or_else(dead)?,
            );
            cache.put_participant(ticket, &auth);
            auth
        }
    };
    if !auth.accepts(&claims.tid, &claims.rid, claims.r#gen) {
        return Err(dead().into());
    }
    let caller = Caller::Participant(ParticipantCaller {
        tenant_id: auth.participant.tenant_id.clone(),
        room_id: auth.participant.room_id.clone(),
        participant_id: auth.participant.id.clone(),
        role: auth.participant.role,
        rate_limit_per_minute: auth.rate_limit_per_minute,
    });
    if auth.tenant_status == TenantStatus::Suspended {
        return Err(Refused::suspended(caller));
    }
    Ok(caller)
}

/// `allowed_origins`: a request whose `Origin` header is not in its tenant's (non-empty)
/// list is refused with 403 `FORBIDDEN`, naming the origin. Requests without `Origin`
/// (servers, CLIs) and master-key requests are not subject to it. Called by [`admit`],
/// for credential headers and for the credentials that arrive in a body alike.
async fn check_origin_for(
    state: &AppState,
    tenant_id: &str,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let Some(tenant) = crate::store::tenants::snapshot(&state.store, tenant_id).await? else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    if crate::domain::config::origins::origin_allowed(&tenant.row.config.allowed_origins, origin) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "Origin {origin:?} is not in this tenant's allowed_origins"
        )))
    }
}

/// For a credential header refused without a holder (one that did not verify: a 401), the
/// actor and tenant to record, when the audit log keeps the refusal (docs/api.md: a credential
/// with a known key prefix). Guesses without a known prefix are only throttled. (A
/// credential that verified and was refused — a suspended tenant's — names its holder
/// itself: see `credentials::Refused`.)
async fn denied_credential(
    state: &AppState,
    headers: &HeaderMap,
    error: &ApiError,
) -> Option<(Actor, Option<String>)> {
    if error.status() != StatusCode::UNAUTHORIZED {
        return None;
    }
    let header_text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(key) = header_text(API_KEY_HEADER).filter(|k| k.starts_with(API_KEY_PREFIX)) {
        return Some(api_key_actor(state, key).await);
    }
    let key = header_text(MASTER_KEY_HEADER).filter(|k| k.starts_with(OPERATOR_KEY_PREFIX))?;
    let mut db = state.store.read().await.ok()?;
    let found = operator_keys::by_hash(&mut db, &hash_secret(key))
        .await
        .ok()
        .flatten();
    let actor = Actor {
        kind: ActorType::Operator,
        id: found.as_ref().map(|k| k.id.clone()),
        name: found.map(|k| k.name),
    };
    Some((actor, None))
}
