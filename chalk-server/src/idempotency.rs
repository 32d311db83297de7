//! `Idempotency-Key` on creates and rotate-key: the same key with the same request, from
//! the same caller, within 24 h gets the first response again (its secrets included,
//! which is why stored responses are sealed); the same key with another request is 409.
//!
//! The key is reserved in the store before the work runs, so two concurrent retries
//! cannot both create: the second sees the reservation and gets 409 until the first ends.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::future::Future;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::{AppState, now};
use crate::store::{IdempotencyBegin, IdempotencyReservation};

pub const HEADER: &str = "idempotency-key";
const RETENTION_SECONDS: i64 = 24 * 60 * 60;
/// A reservation still pending after this long belongs to a request that died.
const ABANDONED_SECONDS: i64 = 60;

/// A response body with its status, as the operation produced it.
pub struct Produced {
    pub status: StatusCode,
    pub body: Value,
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn read_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::invalid_field(
            "Idempotency-Key",
            "must be 1 to 255 printable ASCII characters",
        )
    };
    let text = value.to_str().map_err(|_| bad())?;
    if text.is_empty() || text.len() > 255 || !text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(bad());
    }
    Ok(Some(text.to_owned()))
}

/// Runs `operation` at most once per (caller, `Idempotency-Key`). `fingerprint` identifies
/// the request (method, path and canonical body).
pub async fn run<F, Fut>(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    fingerprint: String,
    operation: F,
) -> Result<Response, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Produced, ApiError>>,
{
    let Some(key) = read_key(headers)? else {
        let produced = operation().await?;
        return Ok(json_response(
            produced.status,
            produced.body.to_string().into_bytes(),
        ));
    };
    let scope = caller.idempotency_scope();
    let at = now();
    let begin = state
        .store
        .idempotency_begin(IdempotencyReservation {
            scope: scope.clone(),
            key: key.clone(),
            request_hash: crate::crypto::hash_secret(&fingerprint),
            tenant_id: caller.tenant_id().map(str::to_owned),
            now: at,
            expired_before: at - RETENTION_SECONDS,
            stale_before: at - ABANDONED_SECONDS,
        })
        .await?;
    match begin {
        IdempotencyBegin::Replay {
            status,
            sealed_body,
        } => {
            let body = state
                .sealer
                .open(&sealed_body)
                .map_err(|e| ApiError::internal(format!("stored idempotent response: {e}")))?;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = json_response(status, body);
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
        IdempotencyBegin::Mismatch => Err(ApiError::conflict(
            "This Idempotency-Key was already used with a different request",
        )),
        IdempotencyBegin::InProgress => Err(ApiError::conflict(
            "A request with this Idempotency-Key is still in progress; retry shortly",
        )),
        IdempotencyBegin::Reserved => match operation().await {
            Ok(produced) => {
                let body = produced.body.to_string().into_bytes();
                let sealed = state.sealer.seal(&body);
                state
                    .store
                    .idempotency_complete(&scope, &key, produced.status.as_u16(), &sealed)
                    .await?;
                Ok(json_response(produced.status, body))
            }
            Err(error) => {
                // A failed request leaves nothing behind: a retry runs it afresh.
                if let Err(e) = state.store.idempotency_abort(&scope, &key).await {
                    tracing::warn!(error = %e, "could not release an idempotency reservation");
                }
                Err(error)
            }
        },
    }
}

/// What identifies a request for idempotency: method, path and canonical JSON body
/// (object keys sorted, so formatting does not matter).
pub fn fingerprint(method: &str, path: &str, body: Option<&Value>) -> String {
    let body = body.map(Value::to_string).unwrap_or_default();
    format!("{method} {path}\n{body}")
}
