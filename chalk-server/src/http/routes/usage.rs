//! Usage metering: `GET /tenants/{id}/usage`, `GET /usage` (operator; a page, or the whole
//! range streamed as CSV or NDJSON by `Accept`) and `DELETE /tenants/{id}/usage`.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chalk_sdk::model::{
    Data, Deleted, ErrorEnvelope, ExportUsageQuery, Page, Scope, TenantUsagePeriod, Usage,
    UsageQuery,
};
use serde::Deserialize;

use crate::clock::now;
use crate::domain::audit::AuditContext;
use crate::domain::caller::Caller;
use crate::domain::usage::{self, Range};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::ApiQuery;
use crate::http::pagination::{next_cursor, page_request};
use crate::http::state::AppState;

pub const TAG: &str = "usage";

/// The query as received: typed here, so that a bad value is a 422 naming its field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    granularity: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

impl RangeQuery {
    fn range(&self) -> ApiResult<Range> {
        usage::parse_range(
            self.from.as_deref(),
            self.to.as_deref(),
            self.granularity.as_deref(),
            now(),
        )
    }
}

/// A tenant's usage per hour, day or month.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/usage", tag = TAG, operation_id = "get_tenant_usage",
    description = "Master key or an operator key, or the tenant itself with `tenant:read`. One entry per \
        period in `[from, to)`, periods with no use as zeros, and `totals` over them (sums; \
        `peak_participants`: the maximum). `from` (default: the start of the current month) is rounded \
        down to the start of its period and `to` (default: now) up to the end of its period, so the \
        period in progress is included, with participants and rooms still active counted up to now. \
        `granularity` defaults to `day`. At most 744 hourly, 400 daily or 36 monthly periods (422 naming \
        `to`). A deleted tenant's history stays readable by the operator until \
        `DELETE /tenants/{id}/usage`.",
    params(("id" = String, Path, description = "Tenant id"), UsageQuery),
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Usage), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("master_key" = []), ("api_key" = []), ("bearer" = [])))]
pub async fn get_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> ApiResult<Json<Usage>> {
    caller.require_tenant(&id, Scope::TenantRead)?;
    if query.limit.is_some() || query.cursor.is_some() {
        return Err(ApiError::invalid_request(
            "Invalid query string: limit and cursor page GET /usage, not a tenant's usage",
        ));
    }
    let range = query.range()?;
    let mut db = state.store.read().await?;
    let usage = usage::tenant_usage(&mut db, &id, &range, now())
        .await?
        .ok_or_else(|| ApiError::not_found("Tenant"))?;
    Ok(Json(usage))
}

/// What `GET /usage` answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Page,
    Csv,
    Ndjson,
}

fn format(headers: &HeaderMap) -> Format {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase();
    if accept.contains("text/csv") {
        Format::Csv
    } else if accept.contains("application/x-ndjson") {
        Format::Ndjson
    } else {
        Format::Page
    }
}

/// Rows read per step of a stream.
const STREAM_BATCH: usize = 500;

/// Every tenant's usage per period, for billing.
#[utoipa::path(get, path = "/api/v1/usage", tag = TAG, operation_id = "export_usage",
    description = "Master key or an operator key. One entry per tenant and period (the periods of \
        `GET /tenants/{id}/usage`), every tenant that existed within the range, deleted ones included \
        (their `tenant_id` and `external_id` stay until their usage is purged), in the order tenants \
        were created. Paginated like every list. With `Accept: text/csv` (a header row, then one row \
        per tenant and period; `external_id` empty when unset) or `Accept: application/x-ndjson` (one \
        JSON object per line) the whole range streams in one response, read from the store a batch at \
        a time; `limit` and `cursor` are then ignored.",
    params(ExportUsageQuery),
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Page<TenantUsagePeriod>, content_type = "application/json"),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("master_key" = [])))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> ApiResult<Response> {
    caller.require_master()?;
    let range = query.range()?;
    let at = now();
    let format = format(&headers);
    if format == Format::Page {
        let page = page_request(&state.sealer, query.limit, query.cursor.as_deref())?;
        let mut db = state.store.read().await?;
        let mut rows =
            usage::export_page(&mut db, &range, page.after_seq, page.limit as usize + 1, at)
                .await?;
        let next_cursor = next_cursor(&state.sealer, &mut rows, page.limit, |r| r.position);
        let data = rows.into_iter().map(|r| r.row).collect();
        return Ok(Json(Page { data, next_cursor }).into_response());
    }
    let (content_type, header_line) = match format {
        Format::Csv => ("text/csv; charset=utf-8", usage::CSV_HEADER),
        _ => ("application/x-ndjson", ""),
    };
    let start = Step::Next {
        state,
        range,
        after: 0,
        header_sent: false,
    };
    let body = futures_util::stream::unfold(start, move |step| async move {
        let Step::Next {
            state,
            range,
            after,
            header_sent,
        } = step
        else {
            return None;
        };
        let rows = match async {
            let mut db = state.store.read().await?;
            usage::export_page(&mut db, &range, after, STREAM_BATCH, at).await
        }
        .await
        {
            Ok(rows) => rows,
            Err(e) => {
                // The status went out with the first chunk: the client sees the body cut.
                tracing::warn!(error = ?e, "usage export stopped: the store failed");
                return Some((
                    Err(std::io::Error::other("usage export failed")),
                    Step::Done,
                ));
            }
        };
        let mut text = String::new();
        if !header_sent {
            text.push_str(header_line);
        }
        for row in &rows {
            if format == Format::Csv {
                text.push_str(&usage::csv_line(&row.row));
            } else {
                let line = serde_json::to_string(&row.row).map_err(std::io::Error::other);
                match line {
                    Ok(line) => text.push_str(&line),
                    Err(e) => return Some((Err(e), Step::Done)),
                }
                text.push('\n');
            }
        }
        let next = match rows.last() {
            Some(last) if rows.len() == STREAM_BATCH => Step::Next {
                state,
                range,
                after: last.position,
                header_sent: true,
            },
            _ => Step::Done,
        };
        Some((Ok::<_, std::io::Error>(Bytes::from(text)), next))
    });
    let mut response = Body::from_stream(body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}

/// Where a streamed export is.
enum Step {
    Next {
        state: AppState,
        range: Range,
        /// The position of the last row sent (0: none yet).
        after: i64,
        header_sent: bool,
    },
    Done,
}

/// Purge a deleted tenant's usage history.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/usage", tag = TAG, operation_id = "purge_tenant_usage",
    description = "Master key or an operator key. Deletes the usage history of a deleted tenant (kept after \
        its deletion, for billing). 409 `CONFLICT` while the tenant exists; 404 when nothing is kept for \
        this id.",
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<Deleted>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("master_key" = [])))]
pub async fn purge(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<Deleted>>> {
    caller.require_master()?;
    let mut db = state.store.begin().await?;
    usage::purge(&mut db, &audit, &id).await?;
    db.commit().await?;
    Ok(Json(Data {
        data: Deleted { id, deleted: true },
    }))
}
