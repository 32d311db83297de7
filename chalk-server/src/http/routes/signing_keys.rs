//! `/signing-keys` (operator) and `/.well-known/jwks.json` (public).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chalk_sdk::model::{Data, ErrorEnvelope, Jwks, Page, SigningKey};

use crate::domain::audit::AuditContext;
use crate::domain::caller::Caller;
use crate::domain::signing_keys;
use crate::error::ApiResult;
use crate::http::state::AppState;

pub const TAG: &str = "signing-keys";

/// The public half of every key still verifying tokens (RFC 7517: `kty` `OKP`, `crv`
/// `Ed25519`, `kid`, `alg` `EdDSA`, `use` `sig`, `x`). Empty in HS256 mode.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = TAG,
    description = "No credential. Cacheable for 5 minutes (`Cache-Control: max-age=300`); a verifier meeting \
        an unknown `kid` should fetch it again. Keys rotated away stay listed until every token they signed has expired.",
    responses((status = 200, body = Jwks)))]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(signing_keys::jwks(&state)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// Every signing key, newest first: kid, algorithm, status, created_at and, for keys
/// rotated away, retires_at. Never a private key. Empty in HS256 mode.
#[utoipa::path(get, path = "/api/v1/signing-keys", tag = TAG,
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Page<SigningKey>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("master_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Page<SigningKey>>> {
    caller.require_master()?;
    Ok(Json(Page {
        data: signing_keys::list(&state).await?,
        next_cursor: None,
    }))
}

/// Make a new current signing key. Tokens signed by the old one keep working until they
/// expire (the old key is `previous` until then); new tokens carry the new `kid`.
#[utoipa::path(post, path = "/api/v1/signing-keys/rotate", tag = TAG,
    description = "Other instances sharing the database sign with the new key within a few seconds and \
        verify its tokens at once. 409 `CONFLICT` in HS256 mode, which has no signing keys.",
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<SigningKey>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope)),
    security(("master_key" = [])))]
pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
) -> ApiResult<Json<Data<SigningKey>>> {
    caller.require_master()?;
    Ok(Json(Data {
        data: signing_keys::rotate(&state, &audit).await?,
    }))
}
