//! What every request passes first (`http::around_every_route`): gives every request an
//! id, completes every error body with it, turns framework-made errors (404, 405, 413, …)
//! into the contract's envelope, and logs and counts every request. Headers and bodies
//! are never logged: they carry secrets.

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use chalk_sdk::model::ErrorCode;
use std::net::SocketAddr;
use std::time::Instant;
use tracing::Instrument;

use crate::error::{ApiError, RenderedError};
use crate::http::state::AppState;
use crate::net::client_ip::{ClientIp, client_ip};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the request being served, in request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// An incoming id is echoed when it is short, printable and free of separators that
/// could forge log lines; otherwise the server makes one.
fn valid_incoming_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let ok = (1..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| text.to_owned())
}

pub async fn request_context<F: Future<Output = Response>>(
    state: &AppState,
    mut req: Request,
    next: impl FnOnce(Request) -> F,
) -> Response {
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(valid_incoming_id)
        .unwrap_or_else(|| crate::crypto::new_id("req"));
    req.extensions_mut().insert(RequestId(request_id.clone()));
    // For the credential middleware, which sits on individual routes (see `openapi.rs`).
    req.extensions_mut().insert(state.clone());
    // Who the client is, decided once for the throttle, registration's limit and the audit log.
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    let client = client_ip(peer, req.headers(), &state.policy.trusted_proxies);
    req.extensions_mut().insert(ClientIp(client));

    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, path = %path);
    let started = Instant::now();

    let response = next(req).instrument(span.clone()).await;
    let mut response = complete_error(response, &request_id, &span);

    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let elapsed = started.elapsed();
    let status = response.status();
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "served"
        )
    });
    state
        .metrics
        .observe(&method, route.as_deref(), status.as_u16(), elapsed);
    response
}

/// Ensures an error response carries the contract's envelope with this request's id.
fn complete_error(response: Response, request_id: &str, span: &tracing::Span) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let error = match response.extensions().get::<RenderedError>() {
        Some(RenderedError(error)) => (**error).clone(),
        None => framework_error(status),
    };
    if let Some(cause) = &error.internal_cause {
        span.in_scope(|| tracing::error!(code = %error.code, cause = %cause, "request failed"));
    }
    let (mut parts, _) = response.into_parts();
    let rendered = error.render(Some(request_id.to_owned()));
    let (rendered_parts, body) = rendered.into_parts();
    parts.status = rendered_parts.status;
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in rendered_parts.headers.iter() {
        parts.headers.insert(name.clone(), value.clone());
    }
    Response::from_parts(parts, Body::new(body))
}

/// Errors that axum or tower-http produced without going through a handler.
fn framework_error(status: StatusCode) -> ApiError {
    match status {
        StatusCode::NOT_FOUND => ApiError::new(ErrorCode::NotFound, "No such endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            ErrorCode::MethodNotAllowed,
            "This endpoint does not support that method",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            ErrorCode::PayloadTooLarge,
            "Request body is larger than 64 KiB",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Request body must be sent with Content-Type: application/json",
        ),
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => {
            ApiError::unavailable(format!("framework answered {status}"))
        }
        s if s.is_server_error() => ApiError::internal(format!("framework answered {s}")),
        s => ApiError::invalid_request(format!(
            "Request rejected: {}",
            s.canonical_reason().unwrap_or("bad request")
        )),
    }
}

/// Body of the 500 returned for a panic; the panic message goes to the log only.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".to_owned());
    axum::response::IntoResponse::into_response(ApiError::internal(format!("panic: {detail}")))
}
