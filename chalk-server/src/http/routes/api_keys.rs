//! `/tenants/{id}/api-keys`: scoped extra keys (Raven).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chalk_sdk::model::{
    ApiKey, CreateApiKeyRequest, CreatedApiKey, Data, Deleted, ErrorEnvelope, ListQuery, Page,
    Scope,
};

use crate::domain::audit::AuditContext;
use crate::domain::caller::Caller;
use crate::domain::{keys, views};
use crate::error::ApiResult;
use crate::http::extract::{ApiQuery, JsonBody};
use crate::http::idempotency::{self, Produced};
use crate::http::pagination::{next_cursor, page_request};
use crate::http::state::AppState;
use crate::store::Db;

pub const TAG: &str = "api-keys";

/// Create a scoped key; its secret is shown once. A tenant credential may only grant
/// scopes it holds itself.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/api-keys", tag = TAG,
    description = "Honors `Idempotency-Key`. A tenant credential cannot grant scopes it lacks (403).",
    params(("id" = String, Path, description = "Tenant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1..=255 printable ASCII", pattern = r"^[\x20-\x7E]{1,255}$")),
    request_body = CreateApiKeyRequest,
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 201, body = Data<CreatedApiKey>), (status = 400, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let path = format!("/api/v1/tenants/{id}/api-keys");
    let fingerprint = idempotency::fingerprint("POST", &path, Some(&body));
    // Everything but the SQL before the transaction (see `keys::prepare_create`).
    let prepared = keys::prepare_create(&caller, &id, body)?;
    idempotency::run(
        &state,
        &caller,
        &headers,
        fingerprint,
        async |db: &mut Db| {
            let created = keys::create(db, &audit, prepared).await?;
            Ok(Produced::new(StatusCode::CREATED, Data { data: created }))
        },
    )
    .await
}

/// Keys that still work, without their secrets, oldest first.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/api-keys", tag = TAG,
    params(("id" = String, Path, description = "Tenant id"), ListQuery),
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Page<ApiKey>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<ApiKey>>> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let page = page_request(&state.sealer, query.limit, query.cursor.as_deref())?;
    let mut db = state.store.read().await?;
    let mut rows = keys::list(&mut db, &id, page.after_seq, page.limit + 1).await?;
    let next_cursor = next_cursor(&state.sealer, &mut rows, page.limit, |r| r.seq);
    Ok(Json(Page {
        data: rows.iter().map(views::api_key).collect(),
        next_cursor,
    }))
}

/// Revoke a key; tokens it minted stop working. The primary key is replaced only by rotate-key (409).
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/api-keys/{key_id}", tag = TAG,
    params(("id" = String, Path, description = "Tenant id"), ("key_id" = String, Path, description = "Key id")),
    responses((status = 400, description = "Bad query, or more than one credential", body = ErrorEnvelope), (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<Deleted>), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    Path((id, key_id)): Path<(String, String)>,
) -> ApiResult<Json<Data<Deleted>>> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let mut db = state.store.begin().await?;
    keys::revoke(&mut db, &audit, &id, &key_id).await?;
    db.commit().await?;
    Ok(Json(Data {
        data: Deleted {
            id: key_id,
            deleted: true,
        },
    }))
}
