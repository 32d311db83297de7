//! Throttling of failed authentication per client address (API.md Credentials).
//!
//! Every 401 `UNAUTHORIZED` a client earns (a wrong master key, API key or token) counts
//! against its address. Past
//! `CHALK_AUTH_FAILURE_LIMIT` failures in a one-minute window, the address's API requests
//! are refused with 429 `RATE_LIMITED` and `Retry-After` until the window ends — before any
//! credential they carry is looked at, so a guess cannot even be tested. The health probes,
//! metrics and the OpenAPI document stay open.
//!
//! The address is the client address of `client_ip.rs`: the TCP peer, or behind a proxy
//! of `CHALK_TRUSTED_PROXIES` the client it names.

use std::net::IpAddr;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::Extensions;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chalk_sdk::model::ErrorCode;

use crate::client_ip::ClientIp;
use crate::clock::now;
use crate::error::{ApiError, RenderedError};
use crate::state::AppState;

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

/// Paths that never take a credential and stay reachable from a throttled address.
fn exempt(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/readyz" | "/metrics" | "/api/v1/openapi.json"
    )
}

/// A 401 `UNAUTHORIZED`: somebody presented a credential that is not valid. An expired
/// access token or a spent refresh token is no guess (concurrent refreshes of one token
/// legitimately lose), so `TOKEN_EXPIRED` and `INVALID_REFRESH_TOKEN` do not count.
fn is_failed_authentication(response: &Response) -> bool {
    response.status() == axum::http::StatusCode::UNAUTHORIZED
        && response
            .extensions()
            .get::<RenderedError>()
            .is_none_or(|RenderedError(e)| e.code == ErrorCode::Unauthorized)
}

pub async fn throttle_failures(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if exempt(req.uri().path()) {
        return next.run(req).await;
    }
    let client = client_key(&req);
    let limit = state.policy.auth_failure_limit;
    if let Some(retry_after) = state.auth_failures.blocked(&client, limit, now()) {
        let mut error = ApiError::rate_limited(retry_after as u64);
        error.message = format!(
            "Too many failed authentication attempts from this address; retry in {retry_after} s"
        );
        return error.into_response();
    }
    let response = next.run(req).await;
    if is_failed_authentication(&response) {
        state.auth_failures.record_failure(&client, now());
    }
    response
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
