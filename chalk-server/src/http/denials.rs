//! Refused requests in the audit log (docs/api.md "Operator keys and audit log" and Hardening
//! rules): which refusals are recorded, under which actor, and the bound on how many —
//! at most one denial entry per credential and reason a minute, with the count of the
//! refusals it stands for ([`DenialLog`](super::denial_log::DenialLog)).

use std::net::IpAddr;

use axum::extract::{FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use chalk_sdk::model::{Actor, ActorType};

use crate::clock::now;
use crate::crypto::{API_KEY_PREFIX, hash_secret};
use crate::domain::audit::{self, AuditContext};
use crate::error::ApiError;
use crate::http::context::RequestId;
use crate::http::state::AppState;
use crate::http::throttle::Throttled;
use crate::net::client_ip::ClientIp;
use crate::store::keys;

/// What the audit log needs of a request, taken before the request moves on (an
/// extractor too, for the routes that carry their credential in the body). Every
/// authenticated request takes it, so it holds the request's own cheap handles; the
/// strings of an entry are made only when one is written.
pub struct RequestFacts {
    method: axum::http::Method,
    route: Option<MatchedPath>,
    uri: axum::http::Uri,
    request_id: Option<RequestId>,
    client: Option<IpAddr>,
    user_agent: Option<HeaderValue>,
    /// The client address is over its failed-authentication limit (see `throttle.rs`).
    throttled: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestFacts {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestFacts::from_parts(
            &parts.method,
            &parts.uri,
            &parts.headers,
            &parts.extensions,
        ))
    }
}

impl RequestFacts {
    pub(crate) fn of(req: &Request) -> Self {
        Self::from_parts(req.method(), req.uri(), req.headers(), req.extensions())
    }

    pub(crate) fn from_parts(
        method: &axum::http::Method,
        uri: &axum::http::Uri,
        headers: &HeaderMap,
        extensions: &axum::http::Extensions,
    ) -> Self {
        Self {
            method: method.clone(),
            route: extensions.get::<MatchedPath>().cloned(),
            uri: uri.clone(),
            request_id: extensions.get::<RequestId>().cloned(),
            client: extensions.get::<ClientIp>().and_then(|ClientIp(ip)| *ip),
            user_agent: headers.get(header::USER_AGENT).cloned(),
            throttled: extensions.get::<Throttled>().is_some(),
        }
    }

    pub(crate) fn context(&self, actor: Actor) -> AuditContext {
        AuditContext {
            actor,
            request_id: self
                .request_id
                .as_ref()
                .map(|r| r.0.clone())
                .unwrap_or_default(),
            client_ip: self
                .client
                .map(|ip| ip.to_string())
                .unwrap_or_else(|| "unknown".to_owned()),
            // Bounded: a header is the client's to fill.
            user_agent: self
                .user_agent
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(256).collect()),
        }
    }

    /// The tenant a `/tenants/{id}/…` path names, so that an operator reading a tenant's
    /// log sees the attempts on it.
    fn path_tenant(&self) -> Option<String> {
        let rest = self.uri.path().strip_prefix("/api/v1/tenants/")?;
        let id = rest.split('/').next().filter(|id| !id.is_empty())?;
        Some(id.to_owned())
    }

    /// Records a refusal, within the bound: the first of a minute per credential and reason
    /// is written at once, the others are counted into the next entry ([`DenialLog`]). An
    /// unverified credential from a throttled address costs no entry at all: it is answered
    /// 429, and a flood of guesses must not become a flood of rows.
    pub(crate) async fn record_denied(
        &self,
        state: &AppState,
        ctx: &AuditContext,
        tenant_id: Option<&str>,
        refusal: Refusal<'_>,
    ) {
        if self.throttled && refusal.unverified() {
            return;
        }
        let tenant_id = tenant_id.map(str::to_owned).or_else(|| self.path_tenant());
        let entry = audit::denied_entry(
            ctx,
            self.method.as_str(),
            self.route.as_ref().map(MatchedPath::as_str),
            self.uri.path(),
            tenant_id.as_deref(),
        );
        // What other keys hold back is written by the task `serve` runs (`spawn`): a
        // refusal costs one map lookup, never a scan.
        if let Some(entry) = state.denials.admit(entry, refusal.reason(), now()) {
            audit::write_denied(&state.store, &entry).await;
        }
    }
}

/// Why a request was refused, as the bound on denial entries tells refusals apart.
#[derive(Debug, Clone, Copy)]
pub enum Refusal<'a> {
    /// Refused with this error (401, 403 …).
    Error(&'a ApiError),
    /// Refused for its `Origin` (`allowed_origins`).
    Origin,
}

impl Refusal<'_> {
    fn reason(&self) -> &str {
        match self {
            Refusal::Error(error) => error.code.as_str(),
            Refusal::Origin => "ORIGIN",
        }
    }

    /// A credential that did not verify (a 401), as opposed to one that verified and may
    /// not do this.
    fn unverified(&self) -> bool {
        matches!(self, Refusal::Error(e) if e.status() == StatusCode::UNAUTHORIZED)
    }
}

/// Writes the due denial entries every `interval` until aborted.
pub fn spawn(state: AppState, interval: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        loop {
            ticks.tick().await;
            state.denials.write_due(&state.store, now()).await;
        }
    })
}

/// The actor a refused `sk_live_` key names: its id and name when the store still has it.
pub(crate) async fn api_key_actor(state: &AppState, key: &str) -> (Actor, Option<String>) {
    let found = match state.store.read().await {
        Ok(mut db) => keys::by_hash(&mut db, &hash_secret(key))
            .await
            .ok()
            .flatten(),
        Err(_) => None,
    };
    let actor = Actor {
        kind: ActorType::ApiKey,
        id: found.as_ref().map(|a| a.key.id.clone()),
        name: found.as_ref().map(|a| a.key.name.clone()),
    };
    (actor, found.map(|a| a.key.tenant_id))
}

/// For `/auth/token`, whose API key is in the body: records the refusal of a key with the
/// known prefix (401) or of a suspended tenant's key (403), as the middleware does for
/// credential headers.
pub async fn record_refused_api_key(
    state: &AppState,
    facts: &RequestFacts,
    key: &str,
    error: &ApiError,
) {
    let status = error.status();
    let refused = status == axum::http::StatusCode::UNAUTHORIZED
        || status == axum::http::StatusCode::FORBIDDEN;
    if !refused || !key.starts_with(API_KEY_PREFIX) {
        return;
    }
    let (actor, tenant_id) = api_key_actor(state, key).await;
    facts
        .record_denied(
            state,
            &facts.context(actor),
            tenant_id.as_deref(),
            Refusal::Error(error),
        )
        .await;
}
