//! A tenant's config: read, and change by JSON merge patch (RFC 7396). The patch is typed
//! and merged in `patch.rs`, each field's rule is in `fields.rs`, origins in `origins.rs`;
//! the stored form (secrets sealed) is `store::stored_config`. This module applies a
//! patch to a tenant's stored config, audited.

pub mod fields;
pub mod origins;
pub mod patch;

use chalk_sdk::model::{EventType, TenantConfigResponse};
use serde_json::Value;

use crate::clock::to_datetime;

use crate::domain::core::Core;
use crate::error::{ApiError, ApiResult};
use crate::store::{Db, TenantChange, TenantRow, tenants};

use super::audit::AuditContext;
use super::tenants::apply_audited;
use super::views;

pub async fn get(db: &mut Db, id: &str) -> ApiResult<TenantRow> {
    views::tenant_row(db, id).await
}

/// Applies `patch` to the latest config. The tenant's row is locked first, so concurrent
/// patches without `If-Match` queue and each merges onto the one before (none is lost,
/// none fails); with `If-Match`, a revision that is no longer current is 412.
pub async fn update(
    core: &Core,
    db: &mut Db,
    ctx: &AuditContext,
    id: &str,
    expected_revision: Option<i64>,
    patch: &Value,
) -> ApiResult<TenantRow> {
    let row = tenants::lock(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Tenant"))?;
    if expected_revision.is_some_and(|r| r != row.revision) {
        return Err(ApiError::precondition_failed());
    }
    let merged = patch::apply_patch(
        &row.config,
        patch,
        "",
        &core.sealer,
        core.policy.webhook_targets,
    )
    .map_err(ApiError::validation)?;
    let change = TenantChange {
        config: Some(merged),
        ..TenantChange::default()
    };
    let row = apply_audited(db, ctx, "config.update", &row, Some(row.revision), change).await?;
    let data = TenantConfigResponse {
        id: row.id.clone(),
        config: row.config.to_wire(),
        updated_at: to_datetime(row.updated_at),
    };
    super::events::record(db, id, EventType::TenantConfigUpdated, data).await?;
    Ok(row)
}
