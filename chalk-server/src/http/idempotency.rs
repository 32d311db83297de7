//! `Idempotency-Key` on creates and rotate-key: the same key with the same request, from
//! the same caller, within 24 h gets the first response again (its secrets included,
//! which is why stored responses are sealed); the same key with another request is 409.
//!
//! The key is reserved in the same transaction as the work (see `store::idempotency`), so
//! two concurrent retries cannot both create, and a crash at any point leaves either the
//! change with its record or neither.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::clock::now;
use crate::domain::caller::Caller;
use crate::error::ApiError;
use crate::http::state::AppState;
use crate::store::{Db, IdempotencyBegin, IdempotencyReservation, idempotency};

pub const HEADER: &str = "idempotency-key";
/// How long a response is replayed; `housekeeping` then deletes the record.
pub const RETENTION_SECONDS: i64 = 24 * 60 * 60;

/// A response body with its status, as the operation produced it. [`run`] encodes it:
/// inside the transaction only when it is recorded with it (an `Idempotency-Key`),
/// otherwise once the transaction committed, so that the writer holds only SQL.
pub struct Produced<T> {
    pub status: StatusCode,
    pub body: T,
}

impl<T: serde::Serialize> Produced<T> {
    pub fn new(status: StatusCode, body: T) -> Self {
        Self { status, body }
    }

    fn encode(&self) -> Result<Vec<u8>, ApiError> {
        serde_json::to_vec(&self.body).map_err(ApiError::internal)
    }
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

/// Runs `operation` in one write transaction and commits it — at most once per (caller,
/// `Idempotency-Key`). The reservation, the operation's changes and the recorded response
/// commit together, so there is no moment at which a change exists without its record (a
/// retry would create it twice) or a record without its change. `fingerprint` identifies
/// the request (method, path and canonical body).
///
/// For a request whose every permission check is made by the handler before this runs,
/// from the credential alone: a replay is then served only to a caller who may still
/// make the request. A request with a check that reads the store goes through
/// [`run_authorized`].
pub async fn run<T, F>(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    fingerprint: String,
    operation: F,
) -> Result<Response, ApiError>
where
    T: serde::Serialize,
    F: AsyncFnOnce(&mut Db) -> Result<Produced<T>, ApiError>,
{
    run_authorized(
        state,
        caller,
        headers,
        fingerprint,
        async |_: &mut Db| Ok(()),
        async |db: &mut Db, ()| operation(db).await,
    )
    .await
}

/// [`run`] for a request with a permission check made inside the transaction, against
/// what the store holds (rotate-key: is the calling key still the primary?). `authorize`
/// runs first, in the transaction, on the first request and on every replay alike; what
/// it refuses is the answer either way — a replay repeats every check a fresh request
/// would make, and answers as one would (docs/api.md "Hardening rules"). What it grants is
/// handed to `operation`.
pub async fn run_authorized<A, G, T, F>(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    fingerprint: String,
    authorize: A,
    operation: F,
) -> Result<Response, ApiError>
where
    A: AsyncFnOnce(&mut Db) -> Result<G, ApiError>,
    T: serde::Serialize,
    F: AsyncFnOnce(&mut Db, G) -> Result<Produced<T>, ApiError>,
{
    let key = read_key(headers)?;
    if key.is_some() && matches!(caller, Caller::Anonymous) {
        // Every anonymous caller would share one scope: a second client could replay the
        // first one's signup, its API key included.
        return Err(ApiError::invalid_field(
            "Idempotency-Key",
            "is not accepted without a credential: anonymous requests cannot be replayed",
        ));
    }
    let scope = caller.idempotency_scope();
    let mut db = state.store.begin().await?;
    // Before the record is looked up, so a replay cannot skip it; an error drops `db`.
    let grant = authorize(&mut db).await?;
    if let Some(key) = &key {
        let at = now();
        let reservation = IdempotencyReservation {
            scope: scope.clone(),
            key: key.clone(),
            request_hash: crate::crypto::hash_secret(&fingerprint),
            tenant_id: caller.tenant_id().map(str::to_owned),
            now: at,
            expired_before: at - RETENTION_SECONDS,
        };
        match idempotency::reserve(&mut db, &reservation).await? {
            IdempotencyBegin::Reserved => {}
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
                return Ok(response);
            }
            IdempotencyBegin::Mismatch => {
                return Err(ApiError::conflict(
                    "This Idempotency-Key was already used with a different request",
                ));
            }
        }
    }
    // An error drops `db`: the reservation and every change roll back, and a retry runs
    // the request afresh.
    let produced = operation(&mut db, grant).await?;
    let recorded = match &key {
        Some(key) => {
            let body = produced.encode()?;
            let sealed = state.sealer.seal(&body);
            idempotency::complete(&mut db, &scope, key, produced.status.as_u16(), &sealed).await?;
            Some(body)
        }
        None => None,
    };
    db.commit().await?;
    let body = match recorded {
        Some(body) => body,
        None => produced.encode()?,
    };
    Ok(json_response(produced.status, body))
}

/// What identifies a request for idempotency: method, path and canonical JSON body
/// (object keys sorted, so formatting does not matter).
pub fn fingerprint(method: &str, path: &str, body: Option<&Value>) -> String {
    let body = body.map(Value::to_string).unwrap_or_default();
    format!("{method} {path}\n{body}")
}
