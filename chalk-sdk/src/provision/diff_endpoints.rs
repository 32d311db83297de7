//! A tenant's webhook endpoints compared with the declared ones, by URL.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use super::diff_config::resolve;
use super::file::EndpointSpec;
use super::plan::{Action, Change, TenantPlan, digest};
use crate::model::{
    CreateWebhookEndpointRequest, Patch, UpdateWebhookEndpointRequest, WebhookEndpoint, fingerprint,
};

/// Endpoints by URL: a declared one missing is created (its secret to the caller); one
/// whose events, description or enabled flag differ is updated; one the file does not
/// declare is deleted, only with `prune`.
pub(crate) fn diff_endpoints(
    specs: &[EndpointSpec],
    have: &[WebhookEndpoint],
    prune: bool,
    base: &Path,
    plan: &mut TenantPlan,
) -> Result<(), String> {
    for spec in specs {
        let Some(found) = have.iter().find(|e| e.url == spec.url) else {
            plan.changes
                .push(endpoint_change(Action::Create, spec, None));
            plan.ops.create_endpoints.push(endpoint_request(spec));
            continue;
        };
        let mut update = UpdateWebhookEndpointRequest::default();
        let (mut old, mut new) = (json!({}), json!({}));
        let want: BTreeSet<&String> = spec.events.iter().collect();
        let got: BTreeSet<&String> = found.events.iter().collect();
        if want != got {
            old["events"] = json!(found.events);
            new["events"] = json!(spec.events);
            update.events = Some(spec.events.clone());
        }
        if let Some(description) = &spec.description
            && found.description.as_ref() != Some(description)
        {
            old["description"] = json!(found.description);
            new["description"] = json!(description);
            update.description = Patch::Set(description.clone());
        }
        if let Some(enabled) = spec.enabled
            && enabled != found.enabled
        {
            old["enabled"] = json!(found.enabled);
            new["enabled"] = json!(enabled);
            update.enabled = Some(enabled);
        }
        if update != UpdateWebhookEndpointRequest::default() {
            plan.changes.push(Change::new(
                Action::Update,
                "webhook_endpoint",
                &spec.url,
                Some(old),
                Some(new),
            ));
            plan.ops.update_endpoints.push((found.id.clone(), update));
        }
        if let Some(reference) = &spec.secret {
            let field = format!("webhook_endpoint {} secret", spec.url);
            let held = resolve(reference, base, &field)?;
            let same = found
                .secret_fingerprint
                .as_deref()
                .is_some_and(|fp| fingerprint::matches(fp, held.expose()));
            if !same {
                plan.changes.push(Change {
                    object: "webhook_endpoint".into(),
                    ..Change::secret(&format!("{}.secret", spec.url))
                });
                plan.ops
                    .rotate_endpoints
                    .push((found.id.clone(), spec.url.clone()));
            }
        }
    }
    for endpoint in have
        .iter()
        .filter(|e| !specs.iter().any(|s| s.url == e.url))
    {
        let change = Change::new(
            Action::Delete,
            "webhook_endpoint",
            &endpoint.url,
            Some(json!({"id": endpoint.id, "events": endpoint.events})),
            None,
        );
        if prune {
            plan.changes.push(change);
            plan.ops.delete_endpoints.push(endpoint.id.clone());
        } else {
            plan.needs_prune.push(change);
        }
    }
    Ok(())
}

pub(crate) fn endpoint_change(action: Action, spec: &EndpointSpec, old: Option<Value>) -> Change {
    Change::new(
        action,
        "webhook_endpoint",
        &spec.url,
        old,
        Some(
            json!({"events": spec.events, "description": spec.description, "enabled": spec.enabled.unwrap_or(true)}),
        ),
    )
}

pub(crate) fn endpoint_request(spec: &EndpointSpec) -> (CreateWebhookEndpointRequest, String) {
    let request = CreateWebhookEndpointRequest {
        url: spec.url.clone(),
        events: spec.events.clone(),
        description: spec.description.clone(),
        enabled: spec.enabled,
    };
    let digest = digest(&serde_json::to_value(&request).unwrap_or_default());
    (request, digest)
}
