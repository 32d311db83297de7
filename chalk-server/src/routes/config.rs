//! `/tenants/{id}/config`: read, and change by JSON merge patch (RFC 7396).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chalk_sdk::model::{ConfigPatch, Data, ErrorEnvelope, Scope, TenantConfigResponse};

use super::tenants::{TAG, apply_change, etag, if_match, load, stored_config};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::state::{AppState, to_datetime};
use crate::store::{TenantChange, TenantRow};
use crate::tenant_config::apply_patch;
use crate::webhook_target::TargetPolicy;

/// Concurrent patches without `If-Match` each apply to the latest config: a patch that
/// lost a race is re-applied to the winner's result, a few times at most.
const MERGE_ATTEMPTS: usize = 5;

fn respond(row: &TenantRow) -> ApiResult<Response> {
    let body = Data {
        data: TenantConfigResponse {
            id: row.id.clone(),
            config: stored_config(row)?.to_wire(),
            updated_at: to_datetime(row.updated_at),
        },
    };
    let mut response = (StatusCode::OK, Json(body)).into_response();
    response.headers_mut().insert(header::ETAG, etag(row));
    Ok(response)
}

/// A tenant's config; secrets masked as `****` + last 4 characters.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/config", tag = TAG,
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
    respond(&load(&state, &id).await?)
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
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(patch): JsonBody,
) -> ApiResult<Response> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let expected = if_match(&headers)?;
    for _ in 0..MERGE_ATTEMPTS {
        let row = load(&state, &id).await?;
        if expected.is_some_and(|r| r != row.revision) {
            return Err(ApiError::precondition_failed());
        }
        // CHALK_WEBHOOK_ALLOW_PRIVATE is not a setting yet: private targets are refused.
        let targets = TargetPolicy::default();
        let merged = apply_patch(&stored_config(&row)?, &patch, "", &state.sealer, targets)
            .map_err(ApiError::validation)?;
        let change = TenantChange {
            config: Some(serde_json::to_string(&merged).map_err(ApiError::internal)?),
            ..TenantChange::default()
        };
        match apply_change(&state, &id, Some(row.revision), change).await {
            Ok(row) => return respond(&row),
            // Someone wrote in between: with If-Match that is the caller's 412,
            // without it we merge again onto the newer config.
            Err(e)
                if e.code == chalk_sdk::model::ErrorCode::PreconditionFailed
                    && expected.is_none() =>
            {
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::conflict(
        "The config is being changed by others too often; retry",
    ))
}
