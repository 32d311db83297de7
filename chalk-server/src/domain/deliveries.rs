//! The delivery log (`GET /tenants/{id}/webhook-deliveries`) and manual retry.

use chalk_sdk::model::{DeliveryAttempt, DeliveryStatus, WebhookDelivery};

use super::audit::{self, AuditContext};
use crate::clock::{now, to_datetime};
use crate::error::{ApiError, ApiResult};
use crate::store::Db;
use crate::store::deliveries::{self, DeliveryFilter, DeliveryRow};

pub fn status(row: &DeliveryRow) -> ApiResult<DeliveryStatus> {
    row.status
        .parse()
        .map_err(|e| ApiError::internal(format!("delivery {}: {e}", row.id)))
}

pub fn attempts(row: &DeliveryRow) -> ApiResult<Vec<DeliveryAttempt>> {
    serde_json::from_str(&row.attempts)
        .map_err(|e| ApiError::internal(format!("delivery {} attempts: {e}", row.id)))
}

pub fn view(row: &DeliveryRow) -> ApiResult<WebhookDelivery> {
    Ok(WebhookDelivery {
        id: row.id.clone(),
        event_id: row.event_id.clone(),
        event_type: row.event_type.clone(),
        endpoint_id: row.endpoint_id.clone(),
        status: status(row)?,
        attempts: attempts(row)?,
        next_attempt_at: row.next_attempt_at.map(to_datetime),
        created_at: to_datetime(row.created_at),
    })
}

/// Deliveries with `seq < before_seq` (0: from the newest), newest first.
pub async fn list(
    db: &mut Db,
    tenant_id: &str,
    filter: &DeliveryFilter<'_>,
    before_seq: i64,
    limit: i64,
) -> ApiResult<Vec<DeliveryRow>> {
    super::views::tenant_row(db, tenant_id).await?;
    let before = if before_seq == 0 {
        i64::MAX
    } else {
        before_seq
    };
    Ok(deliveries::list(db, tenant_id, filter, before, limit).await?)
}

/// Sends a failed or exhausted delivery again now, with the same `webhook-id`.
pub async fn retry(
    db: &mut Db,
    ctx: &AuditContext,
    tenant_id: &str,
    id: &str,
) -> ApiResult<DeliveryRow> {
    match deliveries::retry_now(db, tenant_id, id, now()).await? {
        None => Err(ApiError::not_found("Webhook delivery")),
        Some((true, row)) => {
            let target = ("webhook_delivery", id);
            audit::record(
                db,
                ctx,
                "webhook_delivery.retry",
                target,
                Some(tenant_id),
                None,
            )
            .await?;
            Ok(row)
        }
        Some((false, row)) => Err(ApiError::conflict(format!(
            "Only a failed or exhausted delivery can be retried; this one is {}",
            row.status
        ))),
    }
}
