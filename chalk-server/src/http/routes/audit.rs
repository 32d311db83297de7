//! `/audit-events` (operator: every tenant) and `/tenants/{id}/audit-events` (a tenant's
//! own). Read only: no endpoint changes or deletes an entry.

use axum::Json;
use axum::extract::{Path, State};
use chalk_sdk::model::{AuditEvent, ErrorEnvelope, ListAuditEventsQuery, Page, Scope};

use crate::domain::audit;
use crate::domain::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::ApiQuery;
use crate::http::pagination::{next_cursor, page_request};
use crate::http::state::AppState;
use crate::store::audit::AuditFilter;

pub const TAG: &str = "audit";

fn filter(query: &ListAuditEventsQuery) -> AuditFilter {
    AuditFilter {
        tenant_id: query.tenant_id.clone(),
        actor_id: query.actor_id.clone(),
        action: query.action.clone(),
        since: query.since.map(|t| t.timestamp()),
        until: query.until.map(|t| t.timestamp()),
    }
}

async fn page(
    state: &AppState,
    query: &ListAuditEventsQuery,
    filter: &AuditFilter,
) -> ApiResult<Page<AuditEvent>> {
    let page = page_request(&state.sealer, query.limit, query.cursor.as_deref())?;
    let mut db = state.store.read().await?;
    let mut rows = audit::list(&mut db, filter, page.after_seq, page.limit + 1).await?;
    let next_cursor = next_cursor(&state.sealer, &mut rows, page.limit, |r| r.seq);
    let data = rows.iter().map(audit::view).collect::<ApiResult<_>>()?;
    Ok(Page { data, next_cursor })
}

/// The audit log of every tenant and of the operator's own changes, oldest first.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = TAG, operation_id = "list_audit_events",
    description = "Master key or an operator key. Every change made through the API, recorded in the \
        transaction that made it: who (`actor`), when, from where (`client_ip`, `user_agent`), which \
        request (`request_id`, the response's `X-Request-Id`) and what exactly (`changes`; a secret shows \
        only `\"changed\"`). Refused attempts that carried a credential have `outcome` `denied`. \
        `since` is inclusive, `until` exclusive (RFC 3339). Entries are kept `CHALK_AUDIT_RETENTION_DAYS` (365).",
    params(ListAuditEventsQuery),
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Page<AuditEvent>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("master_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListAuditEventsQuery>,
) -> ApiResult<Json<Page<AuditEvent>>> {
    caller.require_master()?;
    Ok(Json(page(&state, &query, &filter(&query)).await?))
}

/// A tenant's own audit log, oldest first.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/audit-events", tag = TAG, operation_id = "list_tenant_audit_events",
    description = "The tenant itself with `tenant:admin`, or an operator credential. Filters as \
        `GET /audit-events`; `tenant_id`, when given, must be this tenant's.",
    params(("id" = String, Path, description = "Tenant id"), ListAuditEventsQuery),
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Page<AuditEvent>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn list_for_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListAuditEventsQuery>,
) -> ApiResult<Json<Page<AuditEvent>>> {
    caller.require_tenant(&id, Scope::TenantAdmin)?;
    if query.tenant_id.as_deref().is_some_and(|t| t != id) {
        return Err(ApiError::invalid_field(
            "tenant_id",
            "must be this tenant's id (or absent)",
        ));
    }
    let filter = AuditFilter {
        tenant_id: Some(id),
        ..filter(&query)
    };
    Ok(Json(page(&state, &query, &filter).await?))
}
