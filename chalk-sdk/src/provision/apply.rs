//! Making a plan's changes, safe to re-run and to interrupt.
//!
//! Creates carry an `Idempotency-Key` derived from the tenant's identity and the
//! declaration, so a run retried after a lost response gets the first response back
//! instead of a second object; a re-run after an interruption plans again and finds what
//! the first run made. Updates carry the plan's `ETag` as `If-Match`: a tenant changed by
//! someone else since the plan is refused (412), not overwritten.

use super::ProvisionError;
use super::plan::{Plan, SecretKind, TenantPlan};

use crate::client::Client;
use crate::model::{RotateWebhookSecretRequest, TenantStatus};
use crate::secret::SecretString;

/// A secret `apply` created, handed to the caller once, as soon as it exists.
#[derive(Debug, Clone)]
pub struct NewSecret {
    pub external_id: String,
    pub kind: SecretKind,
    pub value: SecretString,
}

/// Where new secrets go (a file, in the CLI). `keep` is called after each create, before
/// the next request, so an interrupted run loses none it made.
pub trait SecretSink {
    fn keep(&mut self, secret: NewSecret) -> Result<(), String>;

    /// Refuses a plan whose secrets this sink could not keep apart (two of them under one
    /// name would lose one: a secret is shown once). [`apply`] calls it before making any
    /// change. Every secret is kept apart unless the sink says otherwise.
    fn check(&self, _plan: &Plan) -> Result<(), ProvisionError> {
        Ok(())
    }
}

/// Makes every change of `plan`, tenant by tenant, in the order planned.
pub async fn apply(
    client: &Client,
    plan: &Plan,
    secrets: &mut dyn SecretSink,
) -> Result<usize, ProvisionError> {
    secrets.check(plan)?;
    let mut done = 0;
    for tenant in &plan.tenants {
        done += apply_tenant(client, tenant, secrets)
            .await
            .map_err(|e| e.after(done))?;
    }
    Ok(done)
}

async fn apply_tenant(
    client: &Client,
    plan: &TenantPlan,
    secrets: &mut dyn SecretSink,
) -> Result<usize, ProvisionError> {
    let external_id = &plan.external_id;
    let context = |what: &str| format!("tenant `{external_id}`: {what}");
    let ops = &plan.ops;
    let keep = |secrets: &mut dyn SecretSink, kind, value| {
        secrets
            .keep(NewSecret {
                external_id: external_id.clone(),
                kind,
                value,
            })
            .map_err(ProvisionError::Output)
    };
    let tenant_id = match (&plan.tenant_id, &ops.create) {
        (Some(id), _) => id.clone(),
        (None, Some(request)) => {
            let key = format!("chalk-provision:tenant:{external_id}:{}", ops.create_digest);
            let created = client
                .tenants()
                .create_with_idempotency_key(request, key)
                .await
                .map_err(|e| ProvisionError::api(context("creating it"), e))?;
            keep(secrets, SecretKind::PrimaryKey, created.api_key)?;
            if ops.suspend_after_create && created.tenant.status != TenantStatus::Suspended {
                client
                    .tenants()
                    .suspend(&created.tenant.id)
                    .await
                    .map_err(|e| ProvisionError::api(context("suspending it"), e))?;
            }
            created.tenant.id
        }
        (None, None) => return Ok(0),
    };

    // The config and the tenant share one revision: each write returns the next ETag,
    // which the following write must match.
    let mut etag = plan.etag.clone();
    if let Some(patch) = &ops.config {
        let current = etag.as_deref().ok_or_else(|| missing_etag(external_id))?;
        let (_, next) = client
            .tenants()
            .config(&tenant_id)
            .update_if_match_with_etag(current, patch)
            .await
            .map_err(|e| ProvisionError::api(context("updating its config"), e))?;
        etag = Some(next);
    }
    if let Some(update) = &ops.tenant {
        let current = etag.as_deref().ok_or_else(|| missing_etag(external_id))?;
        client
            .tenants()
            .update_if_match_with_etag(&tenant_id, current, update)
            .await
            .map_err(|e| ProvisionError::api(context("updating it"), e))?;
    }
    let keys = client.tenants().api_keys(&tenant_id);
    for key_id in &ops.revoke_keys {
        match keys.revoke(key_id).await {
            Ok(_) => {}
            // Revoked by an earlier, interrupted run: the goal is reached.
            Err(e) if e.status() == Some(404) => {}
            Err(e) => return Err(ProvisionError::api(context("revoking an API key"), e)),
        }
    }
    for (request, digest) in &ops.create_keys {
        let key = format!("chalk-provision:{tenant_id}:api_key:{digest}");
        let created = keys
            .create_with_idempotency_key(request, key)
            .await
            .map_err(|e| {
                ProvisionError::api(context(&format!("creating API key `{}`", request.name)), e)
            })?;
        keep(
            secrets,
            SecretKind::ApiKey(request.name.clone()),
            created.api_key,
        )?;
    }
    let endpoints = client.tenants().webhook_endpoints(&tenant_id);
    for endpoint_id in &ops.delete_endpoints {
        match endpoints.delete(endpoint_id).await {
            Ok(_) => {}
            // Deleted by an earlier, interrupted run: the goal is reached.
            Err(e) if e.status() == Some(404) => {}
            Err(e) => {
                return Err(ProvisionError::api(
                    context("deleting a webhook endpoint"),
                    e,
                ));
            }
        }
    }
    for (endpoint_id, update) in &ops.update_endpoints {
        endpoints
            .update(endpoint_id, update)
            .await
            .map_err(|e| ProvisionError::api(context("updating a webhook endpoint"), e))?;
    }
    for (endpoint_id, url) in &ops.rotate_endpoints {
        // No overlap: the secret the files hold is already not the server's.
        let request = RotateWebhookSecretRequest {
            expire_previous_in_seconds: Some(0),
        };
        let rotated = endpoints
            .rotate_secret(endpoint_id, &request)
            .await
            .map_err(|e| {
                ProvisionError::api(context(&format!("rotating the secret of {url}")), e)
            })?;
        keep(
            secrets,
            SecretKind::EndpointSecret(url.clone()),
            rotated.secret,
        )?;
    }
    for (request, digest) in &ops.create_endpoints {
        let key = format!("chalk-provision:{tenant_id}:webhook_endpoint:{digest}");
        let what = format!("creating webhook endpoint {}", request.url);
        let created = client
            .tenants()
            .webhook_endpoints(&tenant_id)
            .create_with_idempotency_key(request, key)
            .await
            .map_err(|e| ProvisionError::api(context(&what), e))?;
        keep(
            secrets,
            SecretKind::EndpointSecret(request.url.clone()),
            created.secret,
        )?;
    }
    Ok(plan.changes.len())
}

fn missing_etag(external_id: &str) -> ProvisionError {
    ProvisionError::Stale(format!(
        "tenant `{external_id}`: the plan has no ETag for it; plan again"
    ))
}
