//! `/tenants/{id}/config`: read, and change by JSON merge patch (RFC 7396).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chalk_sdk::model::{ConfigPatch, Data, ErrorEnvelope, Scope, TenantConfigResponse};

use super::tenants::TAG;
use crate::clock::to_datetime;
use crate::domain::audit::AuditContext;
use crate::domain::caller::Caller;
use crate::domain::config;
use crate::error::ApiResult;
use crate::http::extract::{JsonBody, etag, if_match};
use crate::http::state::AppState;
use crate::store::TenantRow;

fn respond(row: &TenantRow) -> ApiResult<Response> {
    let body = Data {
        data: TenantConfigResponse {
            id: row.id.clone(),
            config: row.config.to_wire(),
            updated_at: to_datetime(row.updated_at),
        },
    };
    let mut response = (StatusCode::OK, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(row.revision));
    Ok(response)
}
/// A tenant's config; secrets masked as `****` + last 4 characters.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/config", tag = TAG,
    description = "Secrets are write-only: they are shown masked as `\"****\"` + their last 4 \
        characters, never whole. So that a provisioning client can tell whether the webhook \
        secret it holds is the one set (drift) without the server returning it, \
        `post_meeting_webhook.secret_fingerprint` is `hmac-sha256:` + base64url(salt) + `:` + \
        base64url(HMAC-SHA256(salt, secret)), with 16 random salt bytes chosen each time the \
        secret is set; the client recomputes it with its own copy. It is safe to show to \
        whoever may read the config: the secret is `whsec_` + at least 24 random bytes (192 \
        bits), so finding it from its fingerprint is a search no one can finish, and the \
        random salt defeats precomputed tables and makes the same secret, set twice or by \
        two tenants, fingerprint differently. Provider `api_key`s, which a person may choose \
        and could be guessed, get no fingerprint. Setting the secret the config already has \
        keeps the fingerprint. `null` for a secret set before fingerprints existed.",
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 400, description = "Bad query, or more than one credential", body = ErrorEnvelope), (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<TenantConfigResponse>, headers(("ETag" = String, description = "Revision, for If-Match"))),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require_tenant(&id, Scope::TenantRead)?;
    let mut db = state.store.read().await?;
    respond(&config::get(&mut db, &id).await?)
}

/// Change a tenant's config by JSON merge patch: absent = unchanged, `null` = default,
/// nested objects merge. Every bad field is reported and nothing is written on error.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/config", tag = TAG,
    params(("id" = String, Path, description = "Tenant id"),
        ("If-Match" = Option<String>, Header, description = "Apply only if the ETag still matches")),
    request_body(content = ConfigPatch, content_type = "application/json"),
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<TenantConfigResponse>), (status = 400, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 412, body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(patch): JsonBody,
) -> ApiResult<Response> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let expected = if_match(&headers)?;
    let mut db = state.store.begin().await?;
    let row = config::update(&state, &mut db, &audit, &id, expected, &patch).await?;
    db.commit().await?;
    respond(&row)
}
