//! `/tenants`, `/tenant`, rotate-key, suspend and resume.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chalk_sdk::model::{
    CreateTenantRequest, CreatedTenant, Data, Deleted, ErrorEnvelope, ListTenantsQuery, Page,
    RotateKeyRequest, RotatedKey, Scope, Tenant, TenantStatus, UpdateTenantRequest,
};

use crate::clock::now;
use crate::domain::audit::AuditContext;
use crate::domain::caller::Caller;
use crate::domain::tenants;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiQuery, JsonBody, OptionalJsonBody, etag, if_match};
use crate::http::idempotency::{self, Produced};
use crate::http::pagination::{next_cursor, page_request};
use crate::http::state::AppState;
use crate::http::throttle::ClientAddress;
use crate::store::{Db, TenantRow};

pub const TAG: &str = "tenants";

/// The tenant with its `ETag`.
async fn respond(db: &mut Db, row: &TenantRow) -> ApiResult<Response> {
    let body = Data {
        data: tenants::view(db, row).await?,
    };
    let mut response = (StatusCode::OK, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(row.revision));
    Ok(response)
}

/// Create a tenant. Returns the tenant and its primary API key, shown this once.
#[utoipa::path(post, path = "/api/v1/tenants", tag = TAG,
    description = "Needs the master key, unless the server runs with open registration: then \
        signups without it are limited per client address (`CHALK_REGISTRATION_RATE_LIMIT`, default \
        10 an hour; 429 `RATE_LIMITED` with `Retry-After` past it; master-key creates are not \
        limited), and anonymous ones may not send `Idempotency-Key` (400: anonymous requests cannot be replayed). \
        Quota fields and `external_id` need the master key (403 naming them otherwise): the \
        external id is the operator's name for the tenant, which provisioning files use as its \
        identity. An optional `config` is applied to the defaults as a merge patch. \
        Honors `Idempotency-Key`.",
    params(("Idempotency-Key" = Option<String>, Header, description = "1..=255 printable ASCII; a retry with the same key and body returns the first response", pattern = r"^[\x20-\x7E]{1,255}$")),
    request_body = CreateTenantRequest,
    responses(
        (status = 201, description = "Created", body = Data<CreatedTenant>),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 409, description = "Email or external_id taken, or Idempotency-Key reused", body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope), (status = 429, description = "Open registration: too many signups from this address; see Retry-After", body = ErrorEnvelope)),
    security(("master_key" = []), ()))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    match &caller {
        Caller::Master | Caller::Operator(_) => {}
        _ if state.policy.open_registration => limit_registration(&state, &client).await?,
        Caller::Anonymous => caller.require_master()?,
        Caller::Tenant(_) | Caller::Participant(_) => {
            return Err(ApiError::forbidden("Creating tenants needs the master key"));
        }
    }
    let fingerprint = idempotency::fingerprint("POST", "/api/v1/tenants", Some(&body));
    // Everything but the SQL before the transaction (see `tenants::prepare_create`).
    let prepared = tenants::prepare_create(&state, &caller, body)?;
    idempotency::run(
        &state,
        &caller,
        &headers,
        fingerprint,
        async |db: &mut Db| {
            let created = tenants::create(db, &audit, prepared).await?;
            Ok(Produced::new(StatusCode::CREATED, Data { data: created }))
        },
    )
    .await
}

/// Open registration's per-address budget (`CHALK_REGISTRATION_RATE_LIMIT` an hour): every
/// signup attempt without the master key counts, whatever its outcome.
async fn limit_registration(state: &AppState, client: &str) -> ApiResult<()> {
    const HOUR: i64 = 3600;
    let limit = state.policy.registration_rate_limit;
    let decision = state
        .rate_limiter
        .check_window(&format!("registration:{client}"), limit, HOUR, now())
        .await;
    if decision.allowed {
        return Ok(());
    }
    let retry_after = decision.reset.max(1);
    let mut error = ApiError::rate_limited(retry_after as u64);
    error.message = format!(
        "Too many signups from this address ({limit} an hour without the master key); retry in {retry_after} s"
    );
    Err(error)
}

/// List tenants (master key), oldest first.
#[utoipa::path(get, path = "/api/v1/tenants", tag = TAG,
    description = "`?external_id=` finds the tenant with that external id: a page of 0 or 1 \
        tenant. A value that no external id could have is 400 naming `external_id`.",
    params(ListTenantsQuery),
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Page<Tenant>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("master_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListTenantsQuery>,
) -> ApiResult<Json<Page<Tenant>>> {
    caller.require_master()?;
    let page = page_request(&state.sealer, query.limit, query.cursor.as_deref())?;
    let filter = tenants::list_filter(query.status, query.external_id)?;
    let mut db = state.store.read().await?;
    let mut rows =
        crate::store::tenants::list(&mut db, &filter, page.after_seq, page.limit + 1).await?;
    let next_cursor = next_cursor(&state.sealer, &mut rows, page.limit, |r| r.seq);
    let mut data = Vec::with_capacity(rows.len());
    for row in &rows {
        data.push(tenants::view(&mut db, row).await?);
    }
    Ok(Json(Page { data, next_cursor }))
}

/// Get a tenant with its config and usage.
#[utoipa::path(get, path = "/api/v1/tenants/{id}", tag = TAG,
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 400, description = "Bad query, or more than one credential", body = ErrorEnvelope), (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<Tenant>, headers(("ETag" = String, description = "Revision, for If-Match"))),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require_tenant(&id, Scope::TenantRead)?;
    respond_snapshot(&state, &id).await
}

/// A tenant read: served from the cache when it holds the tenant (see `cache.rs`).
async fn respond_snapshot(state: &AppState, id: &str) -> ApiResult<Response> {
    let snapshot = crate::store::tenants::snapshot(&state.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Tenant"))?;
    let body = match snapshot.body.get() {
        Some(body) => body.clone(),
        None => {
            let data = Data {
                data: tenants::view_of(&snapshot.row, snapshot.usage.clone()),
            };
            let rendered = serde_json::to_vec(&data).map_err(ApiError::internal)?;
            snapshot.body.get_or_init(|| rendered.into()).clone()
        }
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    headers.insert(header::ETAG, etag(snapshot.row.revision));
    Ok(response)
}

/// The calling tenant itself.
#[utoipa::path(get, path = "/api/v1/tenant", tag = TAG,
    description = "Any tenant credential (API key or access token), whatever its scopes.",
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<Tenant>), (status = 400, description = "Called with the master key", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn current(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let tenant = caller.require_any_tenant()?;
    respond_snapshot(&state, &tenant.tenant_id).await
}

/// Change a tenant: only the fields present. Quotas and status need the master key.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}", tag = TAG,
    description = "Master key, or the tenant itself with `tenant:admin`. Quota fields, `status` \
        and `external_id` (setting or clearing it) need the master key: a tenant credential \
        sending any of them gets 403 naming them, and nothing changes. `email` and \
        `external_id` may be `null` to remove them. A taken email or external id is 409 \
        naming the field.",
    params(("id" = String, Path, description = "Tenant id"),
        ("If-Match" = Option<String>, Header, description = "Apply only if the tenant's ETag still matches")),
    request_body = UpdateTenantRequest,
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<Tenant>), (status = 400, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 412, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let expected = if_match(&headers)?;
    let mut db = state.store.begin().await?;
    let row = tenants::update(&mut db, &caller, &audit, &id, expected, body).await?;
    db.commit().await?;
    // The usage counts are reads: they need not hold the write transaction (on SQLite,
    // the one writer) while they run.
    respond(&mut state.store.read().await?, &row).await
}

/// Delete a tenant and everything it owns; its keys and tokens stop working at once.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}", tag = TAG,
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 400, description = "Bad query, or more than one credential", body = ErrorEnvelope), (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<Deleted>), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<Deleted>>> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let mut db = state.store.begin().await?;
    tenants::delete(&mut db, &audit, &id).await?;
    db.commit().await?;
    Ok(Json(Data {
        data: Deleted { id, deleted: true },
    }))
}

/// Issue a new primary key, shown once. The previous one keeps working for
/// `expire_previous_in_seconds` (0: it and every token it minted stop at once).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/rotate-key", tag = TAG,
    description = "The body is optional. `previous_key_expires_at` is null when the previous key stopped at once. Honors `Idempotency-Key`.",
    params(("id" = String, Path, description = "Tenant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1..=255 printable ASCII", pattern = r"^[\x20-\x7E]{1,255}$")),
    request_body(content = Option<RotateKeyRequest>),
    responses((status = 400, description = "Bad query, or more than one credential", body = ErrorEnvelope), (status = 413, body = ErrorEnvelope), (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<RotatedKey>), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn rotate_key(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    Path(id): Path<String>,
    headers: HeaderMap,
    OptionalJsonBody(body): OptionalJsonBody,
) -> ApiResult<Response> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let path = format!("/api/v1/tenants/{id}/rotate-key");
    let fingerprint = idempotency::fingerprint("POST", &path, body.as_ref());
    idempotency::run_authorized(
        &state,
        &caller,
        &headers,
        fingerprint,
        async |db: &mut Db| tenants::authorize_rotation(db, &caller, &id).await,
        async |db: &mut Db, may_rotate| {
            let rotated = tenants::rotate_key(db, may_rotate, &audit, &id, body).await?;
            Ok(Produced::new(StatusCode::OK, Data { data: rotated }))
        },
    )
    .await
}

async fn set_status(
    state: &AppState,
    caller: &Caller,
    audit: &AuditContext,
    id: &str,
    status: TenantStatus,
) -> ApiResult<Response> {
    let mut db = state.store.begin().await?;
    let row = tenants::set_status(&mut db, caller, audit, id, status).await?;
    db.commit().await?;
    // The usage counts are reads: they need not hold the write transaction (on SQLite,
    // the one writer) while they run.
    respond(&mut state.store.read().await?, &row).await
}

/// Suspend a tenant: every credential of it gets 403 `TENANT_SUSPENDED`; nothing is deleted.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/suspend", tag = TAG,
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 400, description = "Bad query, or more than one credential", body = ErrorEnvelope), (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<Tenant>), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("master_key" = [])))]
pub async fn suspend(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    set_status(&state, &caller, &audit, &id, TenantStatus::Suspended).await
}

/// Resume a suspended tenant.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/resume", tag = TAG,
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 400, description = "Bad query, or more than one credential", body = ErrorEnvelope), (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<Tenant>), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("master_key" = [])))]
pub async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    set_status(&state, &caller, &audit, &id, TenantStatus::Active).await
}
