//! A tenant's scoped API keys compared with the declared ones, by name.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::file::ApiKeySpec;
use super::plan::{Action, Change, TenantPlan, digest};
use crate::model::{ApiKey, CreateApiKeyRequest, Scope};

/// Keys by name: a declared key missing is created; one whose scopes or expiry differ is
/// replaced; a key the file does not declare is deleted. Deletions and replacements only
/// with `prune`; otherwise they are listed in `needs_prune`. The primary key is never
/// touched: only `rotate-key` replaces it.
pub(crate) fn diff_keys(specs: &[ApiKeySpec], have: &[ApiKey], prune: bool, plan: &mut TenantPlan) {
    let mut claimed = BTreeSet::new();
    let mut destructive = Vec::new();
    for spec in specs {
        let same_name: Vec<&ApiKey> = have
            .iter()
            .filter(|k| !k.primary && k.name == spec.name)
            .collect();
        let matching = same_name.iter().find(|k| key_matches(spec, k));
        if let Some(key) = matching {
            claimed.insert(key.id.clone());
            continue;
        }
        match same_name.first() {
            None => {
                plan.changes.push(key_change(Action::Create, spec, None));
                plan.ops.create_keys.push(key_request(spec));
            }
            Some(old) => {
                claimed.insert(old.id.clone());
                destructive.push((
                    key_change(Action::Replace, spec, Some(old)),
                    Some(spec),
                    old.id.clone(),
                ));
            }
        }
    }
    for key in have
        .iter()
        .filter(|k| !k.primary && !claimed.contains(&k.id))
    {
        let change = Change::new(
            Action::Delete,
            "api_key",
            &key.name,
            Some(key_json(&key.scopes, key.expires_at, Some(&key.id))),
            None,
        );
        destructive.push((change, None, key.id.clone()));
    }
    for (change, spec, id) in destructive {
        if !prune {
            plan.needs_prune.push(change);
            continue;
        }
        plan.changes.push(change);
        plan.ops.revoke_keys.push(id);
        if let Some(spec) = spec {
            plan.ops.create_keys.push(key_request(spec));
        }
    }
}

fn key_matches(spec: &ApiKeySpec, key: &ApiKey) -> bool {
    let want: BTreeSet<_> = spec.scopes.iter().collect();
    let have: BTreeSet<_> = key.scopes.iter().collect();
    want == have && spec.expires_at == key.expires_at
}

fn key_json(
    scopes: &[Scope],
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    id: Option<&str>,
) -> Value {
    let mut value = json!({"scopes": scopes, "expires_at": expires_at});
    if let Some(id) = id {
        value["id"] = json!(id);
    }
    value
}

pub(crate) fn key_change(action: Action, spec: &ApiKeySpec, old: Option<&ApiKey>) -> Change {
    Change::new(
        action,
        "api_key",
        &spec.name,
        old.map(|k| key_json(&k.scopes, k.expires_at, Some(&k.id))),
        Some(key_json(&spec.scopes, spec.expires_at, None)),
    )
}

pub(crate) fn key_request(spec: &ApiKeySpec) -> (CreateApiKeyRequest, String) {
    let request = CreateApiKeyRequest {
        name: spec.name.clone(),
        scopes: spec.scopes.clone(),
        expires_at: spec.expires_at,
    };
    let digest = digest(&serde_json::to_value(&request).unwrap_or_default());
    (request, digest)
}
