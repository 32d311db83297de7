//! `/operator-keys`: named credentials with the master key's powers.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chalk_sdk::model::{
    CreateOperatorKeyRequest, CreatedOperatorKey, Data, Deleted, ErrorEnvelope, ListQuery,
    OperatorKey, Page,
};

use crate::domain::audit::AuditContext;
use crate::domain::caller::Caller;
use crate::domain::operator_keys;
use crate::error::ApiResult;
use crate::http::extract::{ApiQuery, JsonBody};
use crate::http::idempotency::{self, Produced};
use crate::http::pagination::{next_cursor, page_request};
use crate::http::state::AppState;
use crate::store::Db;

pub const TAG: &str = "operator-keys";

/// Create an operator key; its secret (`ok_live_` + 32 base62) is shown once.
#[utoipa::path(post, path = "/api/v1/operator-keys", tag = TAG, operation_id = "create_operator_key",
    description = "Master key or an operator key. The key is sent as `X-Master-Key` and carries the master \
        key's powers until it expires or is revoked. Honors `Idempotency-Key`.",
    params(("Idempotency-Key" = Option<String>, Header, description = "1..=255 printable ASCII", pattern = r"^[\x20-\x7E]{1,255}$")),
    request_body = CreateOperatorKeyRequest,
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 201, body = Data<CreatedOperatorKey>), (status = 400, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 409, description = "Idempotency-Key reused", body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("master_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    caller.require_master()?;
    let fingerprint = idempotency::fingerprint("POST", "/api/v1/operator-keys", Some(&body));
    idempotency::run(
        &state,
        &caller,
        &headers,
        fingerprint,
        async |db: &mut Db| {
            let created = operator_keys::create(db, &caller, &audit, body).await?;
            Ok(Produced::new(StatusCode::CREATED, Data { data: created }))
        },
    )
    .await
}

/// Operator keys that still work, without their secrets, oldest first.
#[utoipa::path(get, path = "/api/v1/operator-keys", tag = TAG, operation_id = "list_operator_keys",
    params(ListQuery),
    responses((status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Page<OperatorKey>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("master_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<OperatorKey>>> {
    caller.require_master()?;
    let page = page_request(&state.sealer, query.limit, query.cursor.as_deref())?;
    let mut db = state.store.read().await?;
    let mut rows = operator_keys::list(&mut db, page.after_seq, page.limit + 1).await?;
    let next_cursor = next_cursor(&state.sealer, &mut rows, page.limit, |r| r.seq);
    Ok(Json(Page {
        data: rows.iter().map(operator_keys::view).collect(),
        next_cursor,
    }))
}

/// Revoke an operator key: refused at once, on every instance.
#[utoipa::path(delete, path = "/api/v1/operator-keys/{id}", tag = TAG, operation_id = "revoke_operator_key",
    description = "Any operator credential may revoke any operator key except the one it is using (409).",
    params(("id" = String, Path, description = "Operator key id (`op_…`)")),
    responses((status = 400, description = "Bad query, or more than one credential", body = ErrorEnvelope), (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope),
        (status = 200, body = Data<Deleted>), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "The key making the request", body = ErrorEnvelope)),
    security(("master_key" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditContext,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<Deleted>>> {
    caller.require_master()?;
    let mut db = state.store.begin().await?;
    operator_keys::revoke(&mut db, &caller, &audit, &id).await?;
    db.commit().await?;
    Ok(Json(Data {
        data: Deleted { id, deleted: true },
    }))
}
