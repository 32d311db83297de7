//! CORS for browsers holding participant (or tenant) tokens.
//!
//! A preflight (`OPTIONS` with `Access-Control-Request-Method`) carries no credential, so
//! it cannot tell which tenant the real request will act for. It is therefore answered
//! generically: any `http(s)` origin is told which methods and headers it may use, and the
//! tenant's `allowed_origins` is enforced on the real request, which is refused with 403
//! `FORBIDDEN` (and no `Access-Control-Allow-Origin`, so the browser reveals nothing) when
//! its `Origin` is not in a non-empty list. Allowed real requests get
//! `Access-Control-Allow-Origin: <their origin>`.
//!
//! `X-API-Key` and `X-Master-Key` are not among the allowed request headers: they are
//! server-side credentials and must never be used from a browser.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::http::credentials::OriginRefused;

const ALLOW_METHODS: &str = "GET, POST, PATCH, DELETE";
const ALLOW_HEADERS: &str = "authorization, content-type, idempotency-key, if-match, x-request-id";
const EXPOSE_HEADERS: &str = "x-request-id, etag, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset, idempotent-replayed";
const MAX_AGE_SECONDS: &str = "600";

fn is_http_origin(origin: &str) -> bool {
    origin.starts_with("https://") || origin.starts_with("http://")
}

pub async fn cors<F: Future<Output = Response>>(
    req: Request,
    next: impl FnOnce(Request) -> F,
) -> Response {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let Some(origin) = origin.filter(|o| o.to_str().is_ok_and(is_http_origin)) else {
            return ApiError::forbidden("CORS preflight needs an http(s) Origin header")
                .into_response();
        };
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE_SECONDS),
        );
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        return response;
    }
    let mut response = next(req).await;
    if let Some(origin) = origin
        && response.extensions().get::<OriginRefused>().is_none()
        && origin.to_str().is_ok_and(is_http_origin)
    {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}
