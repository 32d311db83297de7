//! Throttling of failed authentication per client address (docs/api.md Credentials).
//!
//! Every 401 `UNAUTHORIZED` a client earns (a wrong master key, API key or token) counts
//! against its address. Past `CHALK_AUTH_FAILURE_LIMIT` failures in a one-minute window,
//! a request from that address whose credential does not verify is answered 429
//! `RATE_LIMITED` with `Retry-After` instead of 401, and costs no audit entry.
//!
//! A request whose credential verifies is served as usual: only its tenant's limit
//! applies. Every credential carries at least 128 random bits, so the throttle bounds the
//! cost and noise of bad traffic; it is not what stops guessing, and it must never lock a
//! valid client out because it shares an address (a NAT, an office, a reverse proxy) with
//! a broken one. The credential is therefore always checked, and only the refusal is
//! turned into a 429. Public documents (health, readiness, metrics, OpenAPI, JWKS) are
//! never throttled.
//!
//! The address is the client address of `client_ip.rs` (the TCP peer, or the client a
//! trusted proxy names).

use std::net::IpAddr;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Extensions, StatusCode};
use axum::response::{IntoResponse, Response};
use chalk_sdk::model::ErrorCode;

use crate::clock::now;
use crate::error::{ApiError, RenderedError};
use crate::http::state::AppState;
use crate::net::client_ip::ClientIp;

/// The throttling key of a client: its IPv4 address, or the /64 network of an IPv6 one
/// (one host usually holds a whole /64, so single addresses would be free to rotate).
pub fn client_key(req: &Request) -> String {
    client_key_of(req.extensions())
}

/// [`client_key`] from a request's extensions.
pub fn client_key_of(extensions: &Extensions) -> String {
    let Some(ClientIp(Some(address))) = extensions.get::<ClientIp>() else {
        // In-process callers (tests driving the router) have no peer: one shared bucket.
        return "unknown".to_owned();
    };
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Set in a request's extensions when its address is over the failure limit: a refusal
/// of its credential will be a 429, so nothing on the way records it.
#[derive(Debug, Clone, Copy)]
pub struct Throttled;

/// Set on a response whose credential did not verify although its status does not say so
/// (`/auth/revoke` answers 200 whatever the token, so that the answer tells nothing).
#[derive(Debug, Clone, Copy)]
pub struct Unverified;

/// Public documents: no credential, never throttled.
fn exempt(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/readyz" | "/metrics" | "/api/v1/openapi.json" | "/.well-known/jwks.json"
    )
}

/// Set on a refusal that counts as a failed authentication although its code is not
/// `UNAUTHORIZED`: a refresh token that was never live (unknown, expired or revoked).
#[derive(Debug, Clone, Copy)]
pub struct FailedAuthentication;

/// A 401 `UNAUTHORIZED`: somebody presented a credential that is not valid. An expired
/// access token or a spent refresh token is no guess (concurrent refreshes of one token
/// legitimately lose), so `TOKEN_EXPIRED` and a spent token's `INVALID_REFRESH_TOKEN` do
/// not count; a refresh token that was not live at all does ([`FailedAuthentication`]),
/// or guessing them would be free.
fn is_failed_authentication(response: &Response) -> bool {
    let unauthorized = response.status() == StatusCode::UNAUTHORIZED
        && response
            .extensions()
            .get::<RenderedError>()
            .is_none_or(|RenderedError(e)| e.code == ErrorCode::Unauthorized);
    unauthorized
        || response
            .extensions()
            .get::<FailedAuthentication>()
            .is_some()
}

/// Whether the response refuses the request's credential (any 401: a throttled address
/// gets no answer that tells a bad credential from an expired or spent one).
fn credential_refused(response: &Response) -> bool {
    response.status() == StatusCode::UNAUTHORIZED
        || response.extensions().get::<Unverified>().is_some()
}

pub async fn throttle_failures<F: Future<Output = Response>>(
    state: &AppState,
    mut req: Request,
    next: impl FnOnce(Request) -> F,
) -> Response {
    if exempt(req.uri().path()) {
        return next(req).await;
    }
    let client = client_key(&req);
    let limit = state.policy.auth_failure_limit;
    let blocked = state.auth_failures.blocked(&client, limit, now());
    if blocked.is_some() {
        req.extensions_mut().insert(Throttled);
    }
    let response = next(req).await;
    if is_failed_authentication(&response) {
        state.auth_failures.record_failure(&client, now());
    }
    match blocked {
        Some(retry_after) if credential_refused(&response) => {
            let mut error = ApiError::rate_limited(retry_after as u64);
            error.message = format!(
                "Too many failed authentication attempts from this address; retry in {retry_after} s"
            );
            error.into_response()
        }
        _ => response,
    }
}

/// The calling client's throttling key (see [`client_key`]), for handlers that limit
/// per address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_key_of(&parts.extensions)))
    }
}
