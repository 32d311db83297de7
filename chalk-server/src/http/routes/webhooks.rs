//! `/tenants/{id}/webhook-endpoints`, `/tenants/{id}/webhook-deliveries` and
//! `/tenants/{id}/events` (docs/api.md "Webhooks").

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chalk_sdk::model::{
    CreateWebhookEndpointRequest, CreatedWebhookEndpoint, Data, Deleted, ErrorEnvelope,
    EventRecord, ListDeliveriesQuery, ListEventsQuery, ListQuery, Page, RotateWebhookSecretRequest,
    RotatedWebhookSecret, Scope, UpdateWebhookEndpointRequest, WebhookDelivery, WebhookEndpoint,
    WebhookTestResult,
};

use crate::domain::audit::AuditContext;
use crate::domain::caller::Caller;
use crate::domain::{deliveries, events, webhooks};
use crate::error::ApiResult;
use crate::http::extract::{ApiQuery, JsonBody, OptionalJsonBody};
use crate::http::idempotency::{self, Produced};
use crate::http::pagination::{next_cursor, page_request};
use crate::http::state::AppState;
use crate::store::Db;
use crate::store::deliveries::DeliveryFilter;

pub const TAG: &str = "webhooks";

/// Create an endpoint; its `whsec_` secret is shown this once.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/webhook-endpoints", tag = TAG,
    description = "`events`: event types, or `[\"*\"]` for all. At most 10 endpoints per tenant (409 past it). \
        The URL must be `https://` and must not point to a private address (unless the server sets \
        `CHALK_WEBHOOK_ALLOW_PRIVATE`). Honors `Idempotency-Key`.",
    params(("id" = String, Path, description = "Tenant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1..=255 printable ASCII", pattern = r"^[\x20-\x7E]{1,255}$")),
    request_body = CreateWebhookEndpointRequest,
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 201, body = Data<CreatedWebhookEndpoint>), (status = 400, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn create_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let path = format!("/api/v1/tenants/{id}/webhook-endpoints");
    let fingerprint = idempotency::fingerprint("POST", &path, Some(&body));
    idempotency::run(
        &state,
        &caller,
        &headers,
        fingerprint,
        async |db: &mut Db| {
            let created = webhooks::create(&state, db, &audit, &id, body).await?;
            Ok(Produced::new(StatusCode::CREATED, Data { data: created }))
        },
    )
    .await
}

/// A tenant's endpoints, oldest first, without their secrets.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/webhook-endpoints", tag = TAG,
    params(("id" = String, Path, description = "Tenant id"), ListQuery),
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Page<WebhookEndpoint>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn list_endpoints(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<WebhookEndpoint>>> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let page = page_request(&state.sealer, query.limit, query.cursor.as_deref())?;
    let mut db = state.store.read().await?;
    let mut rows = webhooks::list(&mut db, &id, page.after_seq, page.limit + 1).await?;
    let next_cursor = next_cursor(&state.sealer, &mut rows, page.limit, |r| r.seq);
    Ok(Json(Page {
        data: rows
            .iter()
            .map(|row| webhooks::view(row, &state.sealer))
            .collect(),
        next_cursor,
    }))
}

/// One endpoint, without its secret.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/webhook-endpoints/{eid}", tag = TAG,
    params(("id" = String, Path, description = "Tenant id"), ("eid" = String, Path, description = "Endpoint id")),
    responses((status = 400, description = "Bad query, or more than one credential", body = ErrorEnvelope), (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<WebhookEndpoint>), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn get_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, eid)): Path<(String, String)>,
) -> ApiResult<Json<Data<WebhookEndpoint>>> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let mut db = state.store.read().await?;
    let row = webhooks::get(&mut db, &id, &eid).await?;
    Ok(Json(Data {
        data: webhooks::view(&row, &state.sealer),
    }))
}

/// Change an endpoint's url, events, description or enabled; absent fields stay.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/webhook-endpoints/{eid}", tag = TAG,
    description = "`description: null` removes the description. Deliveries not yet sent go to the new URL; \
        a disabled endpoint gets no new deliveries, and those already queued are still sent.",
    params(("id" = String, Path, description = "Tenant id"), ("eid" = String, Path, description = "Endpoint id")),
    request_body = UpdateWebhookEndpointRequest,
    responses((status = 400, description = "Bad query, or more than one credential", body = ErrorEnvelope), (status = 413, body = ErrorEnvelope), (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<WebhookEndpoint>), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn update_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    Path((id, eid)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Data<WebhookEndpoint>>> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let mut db = state.store.begin().await?;
    let row = webhooks::update(&state, &mut db, &audit, &id, &eid, body).await?;
    db.commit().await?;
    Ok(Json(Data {
        data: webhooks::view(&row, &state.sealer),
    }))
}

/// Delete an endpoint; its deliveries not yet sent never will be.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/webhook-endpoints/{eid}", tag = TAG,
    params(("id" = String, Path, description = "Tenant id"), ("eid" = String, Path, description = "Endpoint id")),
    responses((status = 400, description = "Bad query, or more than one credential", body = ErrorEnvelope), (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<Deleted>), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn delete_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    Path((id, eid)): Path<(String, String)>,
) -> ApiResult<Json<Data<Deleted>>> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let mut db = state.store.begin().await?;
    webhooks::delete(&mut db, &audit, &id, &eid).await?;
    db.commit().await?;
    Ok(Json(Data {
        data: Deleted {
            id: eid,
            deleted: true,
        },
    }))
}

/// A new secret, shown once. Until the previous one expires, every delivery carries a
/// signature under each.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/webhook-endpoints/{eid}/rotate-secret", tag = TAG,
    description = "The body is optional; `expire_previous_in_seconds` (0..=604800) defaults to 86400. \
        With 0 the previous secret stops signing at once. Honors `Idempotency-Key`.",
    params(("id" = String, Path, description = "Tenant id"), ("eid" = String, Path, description = "Endpoint id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1..=255 printable ASCII", pattern = r"^[\x20-\x7E]{1,255}$")),
    request_body(content = Option<RotateWebhookSecretRequest>),
    responses((status = 400, description = "Bad query, or more than one credential", body = ErrorEnvelope), (status = 413, body = ErrorEnvelope), (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<RotatedWebhookSecret>), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    Path((id, eid)): Path<(String, String)>,
    headers: HeaderMap,
    OptionalJsonBody(body): OptionalJsonBody,
) -> ApiResult<Response> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let path = format!("/api/v1/tenants/{id}/webhook-endpoints/{eid}/rotate-secret");
    let fingerprint = idempotency::fingerprint("POST", &path, body.as_ref());
    idempotency::run(
        &state,
        &caller,
        &headers,
        fingerprint,
        async |db: &mut Db| {
            let rotated = webhooks::rotate_secret(&state, db, &audit, &id, &eid, body).await?;
            Ok(Produced::new(StatusCode::OK, Data { data: rotated }))
        },
    )
    .await
}

/// Send a `webhook.test` event to this endpoint now (enabled or not).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/webhook-endpoints/{eid}/test", tag = TAG,
    description = "The delivery is queued at once and appears in the delivery log like any other.",
    params(("id" = String, Path, description = "Tenant id"), ("eid" = String, Path, description = "Endpoint id")),
    responses((status = 400, description = "Bad query, or more than one credential", body = ErrorEnvelope), (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 202, body = Data<WebhookTestResult>), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn test_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    Path((id, eid)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Data<WebhookTestResult>>)> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let mut db = state.store.begin().await?;
    let result = webhooks::test(&mut db, &audit, &id, &eid).await?;
    db.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(Data { data: result })))
}

/// A tenant's events, newest first; kept 30 days.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/events", tag = TAG,
    params(("id" = String, Path, description = "Tenant id"), ListEventsQuery),
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Page<EventRecord>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListEventsQuery>,
) -> ApiResult<Json<Page<EventRecord>>> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let page = page_request(&state.sealer, query.limit, query.cursor.as_deref())?;
    let mut db = state.store.read().await?;
    let mut rows = events::list(
        &mut db,
        &id,
        query.event_type,
        page.after_seq,
        page.limit + 1,
    )
    .await?;
    let next_cursor = next_cursor(&state.sealer, &mut rows, page.limit, |r| r.seq);
    Ok(Json(Page {
        data: rows.iter().map(events::view).collect::<ApiResult<_>>()?,
        next_cursor,
    }))
}

/// Deliveries, newest first, with every attempt.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/webhook-deliveries", tag = TAG,
    params(("id" = String, Path, description = "Tenant id"), ListDeliveriesQuery),
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Page<WebhookDelivery>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListDeliveriesQuery>,
) -> ApiResult<Json<Page<WebhookDelivery>>> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let page = page_request(&state.sealer, query.limit, query.cursor.as_deref())?;
    let filter = DeliveryFilter {
        status: query.status.map(|s| s.as_str()),
        endpoint_id: query.endpoint_id.as_deref(),
        event_id: query.event_id.as_deref(),
    };
    let mut db = state.store.read().await?;
    let mut rows = deliveries::list(&mut db, &id, &filter, page.after_seq, page.limit + 1).await?;
    let next_cursor = next_cursor(&state.sealer, &mut rows, page.limit, |r| r.seq);
    Ok(Json(Page {
        data: rows
            .iter()
            .map(deliveries::view)
            .collect::<ApiResult<_>>()?,
        next_cursor,
    }))
}

/// Send a failed or exhausted delivery again now (same `webhook-id`).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/webhook-deliveries/{did}/retry", tag = TAG,
    description = "409 for a delivery that is pending or has succeeded.",
    params(("id" = String, Path, description = "Tenant id"), ("did" = String, Path, description = "Delivery id")),
    responses((status = 400, description = "Bad query, or more than one credential", body = ErrorEnvelope), (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 202, body = Data<WebhookDelivery>), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn retry_delivery(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    Path((id, did)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Data<WebhookDelivery>>)> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    let mut db = state.store.begin().await?;
    let row = deliveries::retry(&mut db, &audit, &id, &did).await?;
    db.commit().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Data {
            data: deliveries::view(&row)?,
        }),
    ))
}
