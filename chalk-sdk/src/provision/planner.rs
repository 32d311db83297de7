//! Making the plan: each declared tenant looked up on the server and compared with its
//! declaration, field by field. A tenant the server does not have is planned as one create
//! carrying every declared field; one it has, as the differences `diff_*.rs` find.

use std::path::Path;

use futures_util::TryStreamExt;
use serde_json::{Value, json};

use super::ProvisionError;
use super::diff_config::diff_config;
use super::diff_endpoints::{diff_endpoints, endpoint_change, endpoint_request};
use super::diff_keys::{diff_keys, key_change, key_request};
use super::file::{Declared, Desired, TenantSpec};
use super::plan::{Action, Change, Ops, Plan, SecretKind, TenantPlan, digest};
use crate::client::Client;
use crate::model::{
    ApiKey, CreateTenantRequest, ListQuery, Patch, Tenant, TenantConfig, TenantStatus,
    UpdateTenantRequest, WebhookEndpoint,
};

/// Plans every declared tenant against the server (master key).
pub async fn plan(client: &Client, desired: &Desired, prune: bool) -> Result<Plan, ProvisionError> {
    let mut tenants = Vec::new();
    for declared in &desired.tenants {
        tenants.push(plan_tenant(client, declared, prune).await?);
    }
    Ok(Plan { prune, tenants })
}

async fn plan_tenant(
    client: &Client,
    declared: &Declared,
    prune: bool,
) -> Result<TenantPlan, ProvisionError> {
    let spec = &declared.spec;
    let base = declared.source.parent().unwrap_or(Path::new("."));
    let context = |what: &str| format!("tenant `{}`: {what}", spec.external_id);
    let found = client
        .tenants()
        .get_by_external_id(&spec.external_id)
        .await
        .map_err(|e| ProvisionError::api(context("looking it up"), e))?;
    let mut plan = TenantPlan {
        external_id: spec.external_id.clone(),
        tenant_id: None,
        etag: None,
        changes: Vec::new(),
        needs_prune: Vec::new(),
        ops: Ops::default(),
        declared_secrets: std::iter::once(SecretKind::PrimaryKey)
            .chain(
                spec.api_keys
                    .iter()
                    .map(|k| SecretKind::ApiKey(k.name.clone())),
            )
            .chain(
                spec.webhook_endpoints
                    .iter()
                    .map(|e| SecretKind::EndpointSecret(e.url.clone())),
            )
            .collect(),
    };
    let secret_error = |e: String| ProvisionError::Secret(spec.external_id.clone(), e);
    let Some(found) = found else {
        // Created with everything in one request; the changes list every declared field.
        let mut changes = vec![Change::new(
            Action::Create,
            "tenant",
            "external_id",
            None,
            Some(json!(spec.external_id)),
        )];
        let mut request = CreateTenantRequest {
            external_id: Some(spec.external_id.clone()),
            ..CreateTenantRequest::new(spec.name.clone())
        };
        changes.push(Change::new(
            Action::Create,
            "tenant",
            "name",
            None,
            Some(json!(spec.name)),
        ));
        if let Some(email) = &spec.email {
            request.email = Some(email.clone());
            changes.push(Change::new(
                Action::Create,
                "tenant",
                "email",
                None,
                Some(json!(email)),
            ));
        }
        for (field, value, slot) in [
            (
                "max_concurrent_rooms",
                spec.max_concurrent_rooms,
                &mut request.max_concurrent_rooms,
            ),
            (
                "max_participants_per_room",
                spec.max_participants_per_room,
                &mut request.max_participants_per_room,
            ),
            (
                "max_recording_duration_minutes",
                spec.max_recording_duration_minutes,
                &mut request.max_recording_duration_minutes,
            ),
            (
                "rate_limit_per_minute",
                spec.rate_limit_per_minute,
                &mut request.rate_limit_per_minute,
            ),
        ] {
            if let Some(value) = value {
                *slot = Some(value);
                changes.push(Change::new(
                    Action::Create,
                    "tenant",
                    field,
                    None,
                    Some(json!(value)),
                ));
            }
        }
        if spec.status == Some(TenantStatus::Suspended) {
            plan.ops.suspend_after_create = true;
            changes.push(Change::new(
                Action::Create,
                "tenant",
                "status",
                None,
                Some(json!("suspended")),
            ));
        }
        if let Some(config) = &spec.config {
            let mut config_changes = Vec::new();
            let patch = diff_config(config, &TenantConfig::default(), base, &mut config_changes)
                .map_err(secret_error)?;
            for mut change in config_changes {
                change.action = Action::Create;
                change.old = None;
                changes.push(change);
            }
            request.config = patch;
        }
        for key in &spec.api_keys {
            changes.push(key_change(Action::Create, key, None));
            plan.ops.create_keys.push(key_request(key));
        }
        for endpoint in &spec.webhook_endpoints {
            changes.push(endpoint_change(Action::Create, endpoint, None));
            plan.ops.create_endpoints.push(endpoint_request(endpoint));
        }
        plan.ops.create_digest = digest(&serde_json::to_value(spec).unwrap_or_default());
        plan.ops.create = Some(request);
        plan.changes = changes;
        return Ok(plan);
    };

    let (tenant, etag) = client
        .tenants()
        .get_with_etag(&found.id)
        .await
        .map_err(|e| ProvisionError::api(context("reading it"), e))?;
    plan.tenant_id = Some(tenant.id.clone());
    plan.etag = Some(etag);

    let update = diff_tenant(spec, &tenant, &mut plan.changes);
    if update != UpdateTenantRequest::default() {
        plan.ops.tenant = Some(update);
    }
    if let Some(config) = &spec.config {
        plan.ops.config =
            diff_config(config, &tenant.config, base, &mut plan.changes).map_err(secret_error)?;
    }

    let keys: Vec<ApiKey> = client
        .tenants()
        .api_keys(&tenant.id)
        .list_all(ListQuery::default())
        .try_collect()
        .await
        .map_err(|e| ProvisionError::api(context("listing its API keys"), e))?;
    diff_keys(&spec.api_keys, &keys, prune, &mut plan);
    let endpoints: Vec<WebhookEndpoint> = client
        .tenants()
        .webhook_endpoints(&tenant.id)
        .list_all(ListQuery::default())
        .try_collect()
        .await
        .map_err(|e| ProvisionError::api(context("listing its webhook endpoints"), e))?;
    diff_endpoints(&spec.webhook_endpoints, &endpoints, prune, base, &mut plan)
        .map_err(secret_error)?;
    Ok(plan)
}

fn diff_tenant(
    spec: &TenantSpec,
    tenant: &Tenant,
    changes: &mut Vec<Change>,
) -> UpdateTenantRequest {
    let mut update = UpdateTenantRequest::default();
    let mut note = |field: &str, old: Value, new: Value| {
        changes.push(Change::new(
            Action::Update,
            "tenant",
            field,
            Some(old),
            Some(new),
        ));
    };
    if spec.name != tenant.name {
        note("name", json!(tenant.name), json!(spec.name));
        update.name = Some(spec.name.clone());
    }
    if let Some(email) = &spec.email
        && tenant.email.as_ref() != Some(email)
    {
        note("email", json!(tenant.email), json!(email));
        update.email = Patch::Set(email.clone());
    }
    if let Some(status) = spec.status
        && status != tenant.status
    {
        note("status", json!(tenant.status), json!(status));
        update.status = Some(status);
    }
    let quotas = [
        (
            "max_concurrent_rooms",
            spec.max_concurrent_rooms,
            tenant.max_concurrent_rooms,
            &mut update.max_concurrent_rooms,
        ),
        (
            "max_participants_per_room",
            spec.max_participants_per_room,
            tenant.max_participants_per_room,
            &mut update.max_participants_per_room,
        ),
        (
            "max_recording_duration_minutes",
            spec.max_recording_duration_minutes,
            tenant.max_recording_duration_minutes,
            &mut update.max_recording_duration_minutes,
        ),
        (
            "rate_limit_per_minute",
            spec.rate_limit_per_minute,
            tenant.rate_limit_per_minute,
            &mut update.rate_limit_per_minute,
        ),
    ];
    for (field, want, have, slot) in quotas {
        if let Some(want) = want
            && want != have
        {
            note(field, json!(have), json!(want));
            *slot = Some(want);
        }
    }
    update
}
