//! `/tenants`, `/tenant`, rotate-key, suspend and resume.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chalk_sdk::model::{
    CreateTenantRequest, CreatedTenant, Data, Deleted, ErrorEnvelope, ListTenantsQuery, Page,
    RotateKeyRequest, RotatedKey, Scope, Tenant, TenantStatus, UpdateTenantRequest,
};
use serde_json::Value;

use crate::auth::Caller;
use crate::crypto::{hash_secret, key_prefix, new_api_key, new_id};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, JsonBody, OptionalJsonBody, parse};
use crate::idempotency::{self, Produced};
use crate::pagination::{next_cursor, page_request};
use crate::state::{AppState, now, to_datetime};
use crate::store::{
    CreateTenantOutcome, NewApiKey, TenantChange, TenantFilter, TenantRow, UpdateOutcome,
};
use crate::tenant_config::{StoredConfig, apply_patch};
use crate::validate::{EXTERNAL_ID_RULE, Problems, is_external_id};

pub const TAG: &str = "tenants";

/// The tenant as the API shows it: config with secrets masked, live usage.
pub async fn view(state: &AppState, row: &TenantRow) -> ApiResult<Tenant> {
    let usage = state.store.tenant_usage(&row.id, now()).await?;
    Ok(Tenant {
        id: row.id.clone(),
        name: row.name.clone(),
        email: row.email.clone(),
        external_id: row.external_id.clone(),
        status: row.status,
        max_concurrent_rooms: row.max_concurrent_rooms,
        max_participants_per_room: row.max_participants_per_room,
        max_recording_duration_minutes: row.max_recording_duration_minutes,
        rate_limit_per_minute: row.rate_limit_per_minute,
        config: stored_config(row)?.to_wire(),
        usage,
        created_at: to_datetime(row.created_at),
        updated_at: to_datetime(row.updated_at),
    })
}

pub fn stored_config(row: &TenantRow) -> ApiResult<StoredConfig> {
    serde_json::from_str(&row.config)
        .map_err(|e| ApiError::internal(format!("tenant {} has unreadable config: {e}", row.id)))
}

/// `ETag` of a tenant and of its config: both change with every write.
pub fn etag(row: &TenantRow) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{}\"", row.revision)).expect("a number is a valid header")
}

/// The revision an `If-Match` header names: `None` when absent or `*`.
/// A value that names no revision can never match: 412.
pub fn if_match(headers: &HeaderMap) -> ApiResult<Option<i64>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_start_matches("W/")
        .trim_matches('"')
        .parse::<i64>()
        .map(Some)
        .map_err(|_| ApiError::precondition_failed())
}

pub async fn load(state: &AppState, id: &str) -> ApiResult<TenantRow> {
    state
        .store
        .get_tenant(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Tenant"))
}

fn with_etag(status: StatusCode, row: &TenantRow, body: impl serde::Serialize) -> Response {
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::ETAG, etag(row));
    response
}

/// The primary key a tenant gets at creation and from rotate-key: every scope.
fn new_primary_key(tenant_id: &str, at: i64) -> (String, NewApiKey) {
    let secret = new_api_key();
    let key = NewApiKey {
        id: new_id("key"),
        tenant_id: tenant_id.to_owned(),
        name: "primary".to_owned(),
        prefix: key_prefix(&secret),
        key_hash: hash_secret(&secret),
        scopes: Scope::ALL.to_vec(),
        primary: true,
        created_at: at,
        expires_at: None,
    };
    (secret, key)
}

fn quota_fields_present(fields: [(&'static str, Option<i64>); 4]) -> Vec<&'static str> {
    fields
        .into_iter()
        .filter(|(_, v)| v.is_some())
        .map(|(name, _)| name)
        .collect()
}

/// 403 for a caller other than the master key who sent operator-only fields, naming each
/// in the message and in `details`.
fn require_master_for(caller: &Caller, fields: &[&str]) -> ApiResult<()> {
    if fields.is_empty() || caller == &Caller::Master {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "These fields need the master key: {}",
        fields.join(", ")
    ))
    .with_details(
        fields
            .iter()
            .map(|field| chalk_sdk::model::FieldError::new(*field, "needs the master key"))
            .collect(),
    ))
}

fn email_taken() -> ApiError {
    ApiError::conflict("A tenant with this email already exists").with_details(vec![
        chalk_sdk::model::FieldError::new("email", "is already taken"),
    ])
}

fn external_id_taken() -> ApiError {
    ApiError::conflict("A tenant with this external_id already exists").with_details(vec![
        chalk_sdk::model::FieldError::new("external_id", "is already taken"),
    ])
}

/// Create a tenant. Returns the tenant and its primary API key, shown this once.
#[utoipa::path(post, path = "/api/v1/tenants", tag = TAG,
    description = "Needs the master key, unless the server runs with open registration. \
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
        (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)),
    security(("master_key" = []), ()))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    match &caller {
        Caller::Master => {}
        _ if state.policy.open_registration => {}
        Caller::Anonymous => caller.require_master()?,
        Caller::Tenant(_) | Caller::Participant(_) => {
            return Err(ApiError::forbidden("Creating tenants needs the master key"));
        }
    }
    let fingerprint = idempotency::fingerprint("POST", "/api/v1/tenants", Some(&body));
    idempotency::run(&state, &caller, &headers, fingerprint, || {
        create_tenant(&state, &caller, body)
    })
    .await
}

async fn create_tenant(state: &AppState, caller: &Caller, mut body: Value) -> ApiResult<Produced> {
    // The config is validated by the config module, which reports every bad field.
    let config_patch = body.as_object_mut().and_then(|o| o.remove("config"));
    let request: CreateTenantRequest = parse(body)?;

    let mut privileged = quota_fields_present([
        ("max_concurrent_rooms", request.max_concurrent_rooms),
        (
            "max_participants_per_room",
            request.max_participants_per_room,
        ),
        (
            "max_recording_duration_minutes",
            request.max_recording_duration_minutes,
        ),
        ("rate_limit_per_minute", request.rate_limit_per_minute),
    ]);
    // The external id is the operator's name for a tenant: a self-registered tenant
    // choosing its own could squat on the name a provisioning file is about to claim.
    if request.external_id.is_some() {
        privileged.push("external_id");
    }
    require_master_for(caller, &privileged)?;

    let mut problems = Problems::default();
    let name = problems.text("name", &request.name, 1, 200);
    let email = request.email.as_deref().map(|e| problems.email("email", e));
    let external_id = request
        .external_id
        .as_deref()
        .map(|e| problems.external_id("external_id", e));
    problems.range(
        "max_concurrent_rooms",
        request.max_concurrent_rooms,
        1,
        100_000,
    );
    problems.range(
        "max_participants_per_room",
        request.max_participants_per_room,
        1,
        10_000,
    );
    problems.range(
        "max_recording_duration_minutes",
        request.max_recording_duration_minutes,
        1,
        1440,
    );
    problems.range(
        "rate_limit_per_minute",
        request.rate_limit_per_minute,
        1,
        1_000_000,
    );
    let config = match config_patch {
        None | Some(Value::Null) => StoredConfig::default(),
        Some(patch) => {
            match apply_patch(&StoredConfig::default(), &patch, "config.", &state.sealer) {
                Ok(config) => config,
                Err(errors) => {
                    problems.extend(errors);
                    StoredConfig::default()
                }
            }
        }
    };
    problems.finish()?;

    let at = now();
    let id = new_id("tenant");
    let (secret, key) = new_primary_key(&id, at);
    let key_id = key.id.clone();
    let row = TenantRow {
        seq: 0,
        id,
        name,
        email,
        external_id,
        status: TenantStatus::Active,
        max_concurrent_rooms: request.max_concurrent_rooms.unwrap_or(100),
        max_participants_per_room: request.max_participants_per_room.unwrap_or(10),
        max_recording_duration_minutes: request.max_recording_duration_minutes.unwrap_or(120),
        rate_limit_per_minute: request
            .rate_limit_per_minute
            .unwrap_or(state.policy.default_rate_limit),
        config: serde_json::to_string(&config).map_err(ApiError::internal)?,
        revision: 1,
        created_at: at,
        updated_at: at,
    };
    let row = match state.store.create_tenant(row, key).await? {
        CreateTenantOutcome::Created(row) => row,
        CreateTenantOutcome::EmailTaken => return Err(email_taken()),
        CreateTenantOutcome::ExternalIdTaken => return Err(external_id_taken()),
    };
    let created = CreatedTenant {
        tenant: view(state, &row).await?,
        api_key: secret.into(),
        key_id,
    };
    Ok(Produced {
        status: StatusCode::CREATED,
        body: serde_json::to_value(Data { data: created }).map_err(ApiError::internal)?,
    })
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
    let page = page_request(query.limit, query.cursor.as_deref())?;
    // A value no tenant could hold is a typo, not "no such tenant": say so rather than
    // answer an empty page a script would take for "create it".
    if let Some(external_id) = query.external_id.as_deref()
        && !is_external_id(external_id)
    {
        return Err(ApiError::invalid_field("external_id", EXTERNAL_ID_RULE));
    }
    let filter = TenantFilter {
        status: query.status,
        external_id: query.external_id,
    };
    let mut rows = state
        .store
        .list_tenants(&filter, page.after_seq, page.limit + 1)
        .await?;
    let next_cursor = next_cursor(&mut rows, page.limit, |r| r.seq);
    let mut data = Vec::with_capacity(rows.len());
    for row in &rows {
        data.push(view(&state, row).await?);
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
    let row = load(&state, &id).await?;
    Ok(with_etag(
        StatusCode::OK,
        &row,
        Data {
            data: view(&state, &row).await?,
        },
    ))
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
    let row = load(&state, &tenant.tenant_id).await?;
    Ok(with_etag(
        StatusCode::OK,
        &row,
        Data {
            data: view(&state, &row).await?,
        },
    ))
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
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    // Only `email` and `external_id` can be removed; `null` for anything else would be
    // silently ignored by the typed request, so it is refused here, all fields at once.
    let nulls: Vec<chalk_sdk::model::FieldError> = body
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(field, value)| {
            value.is_null()
                && matches!(
                    field.as_str(),
                    "name"
                        | "status"
                        | "max_concurrent_rooms"
                        | "max_participants_per_room"
                        | "max_recording_duration_minutes"
                        | "rate_limit_per_minute"
                )
        })
        .map(|(field, _)| {
            chalk_sdk::model::FieldError::new(field.as_str(), "cannot be null; give a value")
        })
        .collect();
    if !nulls.is_empty() {
        return Err(ApiError::validation(nulls));
    }
    let request: UpdateTenantRequest = parse(body)?;
    let mut privileged = quota_fields_present([
        ("max_concurrent_rooms", request.max_concurrent_rooms),
        (
            "max_participants_per_room",
            request.max_participants_per_room,
        ),
        (
            "max_recording_duration_minutes",
            request.max_recording_duration_minutes,
        ),
        ("rate_limit_per_minute", request.rate_limit_per_minute),
    ]);
    if request.status.is_some() {
        privileged.push("status");
    }
    // Setting and clearing alike: the name belongs to the operator's provisioning, and a
    // tenant renaming itself would make the next `chalk apply` create a second tenant.
    if !request.external_id.is_absent() {
        privileged.push("external_id");
    }
    require_master_for(&caller, &privileged)?;
    let mut problems = Problems::default();
    let name = request
        .name
        .as_deref()
        .map(|n| problems.text("name", n, 1, 200));
    let email = match &request.email {
        chalk_sdk::model::Patch::Absent => None,
        chalk_sdk::model::Patch::Reset => Some(None),
        chalk_sdk::model::Patch::Set(e) => Some(Some(problems.email("email", e))),
    };
    let external_id = match &request.external_id {
        chalk_sdk::model::Patch::Absent => None,
        chalk_sdk::model::Patch::Reset => Some(None),
        chalk_sdk::model::Patch::Set(e) => Some(Some(problems.external_id("external_id", e))),
    };
    problems.range(
        "max_concurrent_rooms",
        request.max_concurrent_rooms,
        1,
        100_000,
    );
    problems.range(
        "max_participants_per_room",
        request.max_participants_per_room,
        1,
        10_000,
    );
    problems.range(
        "max_recording_duration_minutes",
        request.max_recording_duration_minutes,
        1,
        1440,
    );
    problems.range(
        "rate_limit_per_minute",
        request.rate_limit_per_minute,
        1,
        1_000_000,
    );
    problems.finish()?;
    let change = TenantChange {
        name,
        email,
        external_id,
        max_concurrent_rooms: request.max_concurrent_rooms,
        max_participants_per_room: request.max_participants_per_room,
        max_recording_duration_minutes: request.max_recording_duration_minutes,
        rate_limit_per_minute: request.rate_limit_per_minute,
        status: request.status,
        config: None,
    };
    let row = apply_change(&state, &id, if_match(&headers)?, change).await?;
    Ok(with_etag(
        StatusCode::OK,
        &row,
        Data {
            data: view(&state, &row).await?,
        },
    ))
}

/// Writes `change`, mapping the store's outcomes to the contract's errors. An empty change
/// writes nothing (the revision, and so the ETag, stays).
pub async fn apply_change(
    state: &AppState,
    id: &str,
    expected_revision: Option<i64>,
    change: TenantChange,
) -> ApiResult<TenantRow> {
    if change == TenantChange::default() {
        let row = load(state, id).await?;
        if expected_revision.is_some_and(|r| r != row.revision) {
            return Err(ApiError::precondition_failed());
        }
        return Ok(row);
    }
    match state
        .store
        .update_tenant(id, expected_revision, change, now())
        .await?
    {
        UpdateOutcome::Updated(row) => Ok(*row),
        UpdateOutcome::NotFound => Err(ApiError::not_found("Tenant")),
        UpdateOutcome::Stale => Err(ApiError::precondition_failed()),
        UpdateOutcome::EmailTaken => Err(email_taken()),
        UpdateOutcome::ExternalIdTaken => Err(external_id_taken()),
    }
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
    Path(id): Path<String>,
) -> ApiResult<Json<Data<Deleted>>> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    if !state.store.delete_tenant(&id).await? {
        return Err(ApiError::not_found("Tenant"));
    }
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
    Path(id): Path<String>,
    headers: HeaderMap,
    OptionalJsonBody(body): OptionalJsonBody,
) -> ApiResult<Response> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let path = format!("/api/v1/tenants/{id}/rotate-key");
    let fingerprint = idempotency::fingerprint("POST", &path, body.as_ref());
    idempotency::run(&state, &caller, &headers, fingerprint, || async {
        let request: RotateKeyRequest = match body {
            None | Some(Value::Null) => RotateKeyRequest::default(),
            Some(body) => parse(body)?,
        };
        let grace = request.expire_previous_in_seconds.unwrap_or(0);
        let mut problems = Problems::default();
        problems.range("expire_previous_in_seconds", Some(grace), 0, 604_800);
        problems.finish()?;
        let at = now();
        let previous_expires_at = (grace > 0).then_some(at + grace);
        let (secret, key) = new_primary_key(&id, at);
        let key_id = key.id.clone();
        if !state
            .store
            .rotate_primary_key(key, previous_expires_at, at)
            .await?
        {
            return Err(ApiError::not_found("Tenant"));
        }
        let rotated = RotatedKey {
            api_key: secret.into(),
            key_id,
            previous_key_expires_at: previous_expires_at.map(to_datetime),
        };
        Ok(Produced {
            status: StatusCode::OK,
            body: serde_json::to_value(Data { data: rotated }).map_err(ApiError::internal)?,
        })
    })
    .await
}

async fn set_status(
    state: &AppState,
    caller: &Caller,
    id: &str,
    status: TenantStatus,
) -> ApiResult<Response> {
    caller.require_master()?;
    let change = TenantChange {
        status: Some(status),
        ..TenantChange::default()
    };
    let row = apply_change(state, id, None, change).await?;
    Ok(with_etag(
        StatusCode::OK,
        &row,
        Data {
            data: view(state, &row).await?,
        },
    ))
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
    Path(id): Path<String>,
) -> ApiResult<Response> {
    set_status(&state, &caller, &id, TenantStatus::Suspended).await
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
    Path(id): Path<String>,
) -> ApiResult<Response> {
    set_status(&state, &caller, &id, TenantStatus::Active).await
}
