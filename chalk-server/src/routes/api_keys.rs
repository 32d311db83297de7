//! `/tenants/{id}/api-keys`: scoped extra keys (Raven).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chalk_sdk::model::{
    ApiKey, CreateApiKeyRequest, CreatedApiKey, Data, Deleted, ErrorEnvelope, ListQuery, Page,
    Scope,
};

use crate::auth::Caller;
use crate::crypto::{hash_secret, key_prefix, new_api_key, new_id};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, JsonBody, parse};
use crate::idempotency::{self, Produced};
use crate::pagination::{next_cursor, page_request};
use crate::state::{AppState, now, to_datetime};
use crate::store::{ApiKeyRow, NewApiKey, RevokeKeyOutcome};
use crate::validate::Problems;

pub const TAG: &str = "api-keys";

fn view(row: &ApiKeyRow) -> ApiKey {
    ApiKey {
        id: row.id.clone(),
        name: row.name.clone(),
        prefix: row.prefix.clone(),
        scopes: row.scopes.clone(),
        primary: row.primary,
        created_at: to_datetime(row.created_at),
        last_used_at: row.last_used_at.map(to_datetime),
        expires_at: row.expires_at.map(to_datetime),
    }
}

async fn require_tenant_exists(state: &AppState, id: &str) -> ApiResult<()> {
    super::tenants::load(state, id).await.map(|_| ())
}

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
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let path = format!("/api/v1/tenants/{id}/api-keys");
    let fingerprint = idempotency::fingerprint("POST", &path, Some(&body));
    idempotency::run(&state, &caller, &headers, fingerprint, || async {
        let request: CreateApiKeyRequest = parse(body)?;
        let at = now();
        let mut problems = Problems::default();
        let name = problems.text("name", &request.name, 1, 100);
        let mut scopes = request.scopes.clone();
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            problems.push("scopes", "must name at least one scope");
        }
        let expires_at = request.expires_at.map(|t| t.timestamp());
        if expires_at.is_some_and(|t| t <= at) {
            problems.push("expires_at", "must be in the future");
        }
        problems.finish()?;
        if let Caller::Tenant(t) = &caller {
            let missing: Vec<&str> = scopes
                .iter()
                .filter(|s| !t.has(**s))
                .map(|s| s.as_str())
                .collect();
            if !missing.is_empty() {
                return Err(ApiError::forbidden(format!(
                    "A key cannot grant scopes its creator lacks: {}",
                    missing.join(", ")
                )));
            }
        }
        require_tenant_exists(&state, &id).await?;
        let secret = new_api_key();
        let row = state
            .store
            .create_api_key(NewApiKey {
                id: new_id("key"),
                tenant_id: id.clone(),
                name,
                prefix: key_prefix(&secret),
                key_hash: hash_secret(&secret),
                scopes,
                primary: false,
                created_at: at,
                expires_at,
            })
            .await?;
        let created = CreatedApiKey {
            api_key: secret.into(),
            key_id: row.id.clone(),
            prefix: row.prefix.clone(),
            name: row.name.clone(),
            scopes: row.scopes.clone(),
            primary: row.primary,
            created_at: to_datetime(row.created_at),
            expires_at: row.expires_at.map(to_datetime),
        };
        Ok(Produced {
            status: StatusCode::CREATED,
            body: serde_json::to_value(Data { data: created }).map_err(ApiError::internal)?,
        })
    })
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
    let page = page_request(query.limit, query.cursor.as_deref())?;
    require_tenant_exists(&state, &id).await?;
    let mut rows = state
        .store
        .list_api_keys(&id, now(), page.after_seq, page.limit + 1)
        .await?;
    let next_cursor = next_cursor(&mut rows, page.limit, |r| r.seq);
    Ok(Json(Page {
        data: rows.iter().map(view).collect(),
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
    Path((id, key_id)): Path<(String, String)>,
) -> ApiResult<Json<Data<Deleted>>> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    match state.store.revoke_api_key(&id, &key_id, now()).await? {
        RevokeKeyOutcome::Revoked => Ok(Json(Data {
            data: Deleted {
                id: key_id,
                deleted: true,
            },
        })),
        RevokeKeyOutcome::NotFound => Err(ApiError::not_found("API key")),
        RevokeKeyOutcome::IsPrimary => Err(ApiError::conflict(
            "The primary key cannot be revoked; replace it with POST /tenants/{id}/rotate-key",
        )),
    }
}
