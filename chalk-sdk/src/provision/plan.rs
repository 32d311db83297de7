//! The plan: what `apply` would change, computed by comparing the files with the server.
//!
//! Each tenant's plan holds the changes to show (field by field, secrets only as
//! "changed") and, not serialized, the requests that make them. A plan read back from its
//! JSON has only the former: [`verify`](super::verify) compares it with a fresh plan.

use std::collections::BTreeSet;
use std::path::Path;

use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::ProvisionError;
use super::apply::SecretKind;
use super::file::{
    ApiKeySpec, ConfigSpec, Declared, Desired, EndpointSpec, SecretRef, WebhookSpec,
};
use crate::Client;
use crate::model::{
    AiProviderPatch, ApiKey, ConfigPatch, CreateApiKeyRequest, CreateTenantRequest,
    CreateWebhookEndpointRequest, ListQuery, Patch, ProviderPatch, Tenant, TenantConfig,
    TenantStatus, UpdateTenantRequest, UpdateWebhookEndpointRequest, WebhookConfig,
    WebhookEndpoint, WebhookPatch, fingerprint,
};

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    /// Revoke and create again (an API key's scopes or expiry cannot be edited).
    Replace,
    Delete,
}

/// One change, as shown to people and in `-o json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub action: Action,
    /// `tenant`, `config` or `api_key`.
    pub object: String,
    /// The field (`name`, `config.transcription_language`) or the key's name.
    pub field: String,
    /// What the server has; absent for a create or a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    /// What the file wants; absent for a delete or a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
    /// A write-only secret: shown only as "changed", never its value.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

/// One tenant's part of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantPlan {
    pub external_id: String,
    /// `null` when the tenant is to be created.
    pub tenant_id: Option<String>,
    /// The tenant's `ETag` when planned: every update carries it as `If-Match`.
    pub etag: Option<String>,
    /// What `apply` will do.
    pub changes: Vec<Change>,
    /// Deletions (and replacements) found but left alone because `--prune` was not given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs_prune: Vec<Change>,
    #[serde(skip)]
    pub(crate) ops: Ops,
    /// Every secret the tenant's declaration can produce — its primary key, each declared
    /// API key, each declared endpoint's secret — whether or not this run creates it, so
    /// a sink can check it keeps them all apart ([`SecretSink::check`](super::SecretSink::check)).
    #[serde(skip)]
    pub(crate) declared_secrets: Vec<SecretKind>,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub prune: bool,
    pub tenants: Vec<TenantPlan>,
}

impl Plan {
    /// How many changes `apply` would make.
    pub fn change_count(&self) -> usize {
        self.tenants.iter().map(|t| t.changes.len()).sum()
    }

    /// Whether `apply` would change anything.
    pub fn has_changes(&self) -> bool {
        self.change_count() > 0
    }

    /// How many deletions (and replacements, which revoke) it would make.
    pub fn deletion_count(&self) -> usize {
        self.tenants
            .iter()
            .flat_map(|t| &t.changes)
            .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
            .count()
    }

    /// Every secret the planned tenants' declarations can produce, as (external id, kind):
    /// those this run creates and those an earlier run may have written already.
    pub fn declared_secrets(&self) -> impl Iterator<Item = (&str, &SecretKind)> {
        self.tenants.iter().flat_map(|t| {
            t.declared_secrets
                .iter()
                .map(|kind| (t.external_id.as_str(), kind))
        })
    }

    /// Whether it would create a secret that must be kept (a primary or scoped API key).
    pub fn creates_secrets(&self) -> bool {
        self.tenants.iter().any(|t| {
            t.changes.iter().any(|c| {
                c.object == "api_key" && matches!(c.action, Action::Create | Action::Replace)
                    || c.object == "tenant" && c.action == Action::Create
                    || c.object == "webhook_endpoint" && (c.action == Action::Create || c.secret)
            })
        })
    }
}

/// The requests that make a tenant's changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Ops {
    pub create: Option<CreateTenantRequest>,
    /// The part of the `Idempotency-Key` of the create that comes from the file.
    pub create_digest: String,
    pub suspend_after_create: bool,
    pub tenant: Option<UpdateTenantRequest>,
    pub config: Option<ConfigPatch>,
    pub revoke_keys: Vec<String>,
    /// Each key with the part of its `Idempotency-Key` that comes from the file.
    pub create_keys: Vec<(CreateApiKeyRequest, String)>,
    pub delete_endpoints: Vec<String>,
    pub update_endpoints: Vec<(String, UpdateWebhookEndpointRequest)>,
    /// Endpoints (id, URL) whose secret is not the one the files hold.
    pub rotate_endpoints: Vec<(String, String)>,
    /// Each endpoint with the part of its `Idempotency-Key` that comes from the file.
    pub create_endpoints: Vec<(CreateWebhookEndpointRequest, String)>,
}

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

/// Endpoints by URL: a declared one missing is created (its secret to the caller); one
/// whose events, description or enabled flag differ is updated; one the file does not
/// declare is deleted, only with `prune`.
fn diff_endpoints(
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

fn endpoint_change(action: Action, spec: &EndpointSpec, old: Option<Value>) -> Change {
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

fn endpoint_request(spec: &EndpointSpec) -> (CreateWebhookEndpointRequest, String) {
    let request = CreateWebhookEndpointRequest {
        url: spec.url.clone(),
        events: spec.events.clone(),
        description: spec.description.clone(),
        enabled: spec.enabled,
    };
    let digest = digest(&serde_json::to_value(&request).unwrap_or_default());
    (request, digest)
}

fn diff_tenant(
    spec: &super::file::TenantSpec,
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

/// Compares the declared config with the server's; returns the merge patch that makes it
/// so (`None` when nothing differs). Secrets are read here, and compared by fingerprint
/// (the webhook secret) or by the last four characters the server shows (provider keys,
/// which get no fingerprint).
fn diff_config(
    spec: &ConfigSpec,
    have: &TenantConfig,
    base: &Path,
    changes: &mut Vec<Change>,
) -> Result<Option<ConfigPatch>, String> {
    let mut patch = ConfigPatch::default();
    let mut changed = false;
    macro_rules! field {
        ($name:ident) => {
            if let Some(want) = &spec.$name
                && *want != have.$name
            {
                changes.push(Change::new(
                    Action::Update,
                    "config",
                    concat!("config.", stringify!($name)),
                    Some(json!(have.$name)),
                    Some(json!(want)),
                ));
                patch.$name = Patch::Set(want.clone());
                changed = true;
            }
        };
    }
    field!(force_recording);
    field!(auto_start_recording);
    field!(allow_early_join);
    field!(empty_room_timeout_minutes);
    field!(recording_retention_days);
    field!(duplicate_participant_policy);
    field!(transcription_enabled);
    field!(transcription_language);
    field!(transcription_profanity_filter);
    field!(transcription_keywords);
    field!(allowed_origins);
    if let Some(hook) = &spec.post_meeting_webhook {
        let have_hook = have.post_meeting_webhook.clone().unwrap_or_default();
        if let Some(hook_patch) = diff_webhook(hook, &have_hook, base, changes)? {
            patch.post_meeting_webhook = Patch::Set(hook_patch);
            changed = true;
        }
    }
    Ok(changed.then_some(patch))
}

fn diff_webhook(
    spec: &WebhookSpec,
    have: &WebhookConfig,
    base: &Path,
    changes: &mut Vec<Change>,
) -> Result<Option<WebhookPatch>, String> {
    const AT: &str = "config.post_meeting_webhook.";
    let mut patch = WebhookPatch::default();
    let mut changed = false;
    let mut note = |field: &str, old: Value, new: Value| {
        changes.push(Change::new(
            Action::Update,
            "config",
            &format!("{AT}{field}"),
            Some(old),
            Some(new),
        ));
    };
    macro_rules! field {
        ($name:ident) => {
            if let Some(want) = &spec.$name
                && *want != have.$name
            {
                note(stringify!($name), json!(have.$name), json!(want));
                patch.$name = Patch::Set(want.clone());
                changed = true;
            }
        };
    }
    field!(enabled);
    field!(include_recording);
    field!(include_transcript);
    field!(include_summary);
    field!(include_action_items);
    if let Some(url) = &spec.url
        && have.url.as_ref() != Some(url)
    {
        note("url", json!(have.url), json!(url));
        patch.url = Patch::Set(url.clone());
        changed = true;
    }
    if let Some(reference) = &spec.secret {
        let secret = resolve(reference, base, "config.post_meeting_webhook.secret")?;
        let same = have
            .secret_fingerprint
            .as_deref()
            .is_some_and(|fp| fingerprint::matches(fp, secret.expose()));
        if !same {
            changes.push(Change::secret(&format!("{AT}secret")));
            patch.secret = Patch::Set(secret);
            changed = true;
        }
    }
    if let Some(provider) = &spec.transcription {
        let have = have.transcription.clone().unwrap_or_default();
        let mut sub = ProviderPatch::default();
        let mut sub_changed = false;
        if let Some(name) = &provider.provider
            && have.provider.as_ref() != Some(name)
        {
            changes.push(Change::new(
                Action::Update,
                "config",
                &format!("{AT}transcription.provider"),
                Some(json!(have.provider)),
                Some(json!(name)),
            ));
            sub.provider = Patch::Set(name.clone());
            sub_changed = true;
        }
        if let Some(key) = provider_key_change(
            provider.api_key.as_ref(),
            have.api_key.as_deref(),
            &format!("{AT}transcription.api_key"),
            base,
            changes,
        )? {
            sub.api_key = Patch::Set(key);
            sub_changed = true;
        }
        if sub_changed {
            patch.transcription = Patch::Set(sub);
            changed = true;
        }
    }
    if let Some(ai) = &spec.ai {
        let have = have.ai.clone().unwrap_or_default();
        let mut sub = AiProviderPatch::default();
        let mut sub_changed = false;
        for (field, want, old, slot) in [
            ("provider", &ai.provider, &have.provider, &mut sub.provider),
            ("model", &ai.model, &have.model, &mut sub.model),
        ] {
            if let Some(want) = want
                && old.as_ref() != Some(want)
            {
                changes.push(Change::new(
                    Action::Update,
                    "config",
                    &format!("{AT}ai.{field}"),
                    Some(json!(old)),
                    Some(json!(want)),
                ));
                *slot = Patch::Set(want.clone());
                sub_changed = true;
            }
        }
        if let Some(key) = provider_key_change(
            ai.api_key.as_ref(),
            have.api_key.as_deref(),
            &format!("{AT}ai.api_key"),
            base,
            changes,
        )? {
            sub.api_key = Patch::Set(key);
            sub_changed = true;
        }
        if sub_changed {
            patch.ai = Patch::Set(sub);
            changed = true;
        }
    }
    Ok(changed.then_some(patch))
}

fn resolve(reference: &SecretRef, base: &Path, field: &str) -> Result<crate::SecretString, String> {
    reference.resolve(base).map_err(|e| format!("{field}: {e}"))
}

/// A provider's API key from the file, when the server's mask says it holds another
/// one: the change is listed (as "changed", never the value) and the key returned to send.
fn provider_key_change(
    reference: Option<&SecretRef>,
    mask: Option<&str>,
    field: &str,
    base: &Path,
    changes: &mut Vec<Change>,
) -> Result<Option<crate::SecretString>, String> {
    let Some(reference) = reference else {
        return Ok(None);
    };
    let key = resolve(reference, base, field)?;
    if mask_matches(mask, key.expose()) {
        return Ok(None);
    }
    changes.push(Change::secret(field));
    Ok(Some(key))
}

/// Whether the server's mask (`****` + last four characters) could be this key's.
fn mask_matches(mask: Option<&str>, key: &str) -> bool {
    let chars: Vec<char> = key.chars().collect();
    let last4: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    mask == Some(format!("****{last4}").as_str())
}

/// Keys by name: a declared key missing is created; one whose scopes or expiry differ is
/// replaced; a key the file does not declare is deleted. Deletions and replacements only
/// with `prune`; otherwise they are listed in `needs_prune`. The primary key is never
/// touched: only `rotate-key` replaces it.
fn diff_keys(specs: &[ApiKeySpec], have: &[ApiKey], prune: bool, plan: &mut TenantPlan) {
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
    scopes: &[crate::model::Scope],
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    id: Option<&str>,
) -> Value {
    let mut value = json!({"scopes": scopes, "expires_at": expires_at});
    if let Some(id) = id {
        value["id"] = json!(id);
    }
    value
}

fn key_change(action: Action, spec: &ApiKeySpec, old: Option<&ApiKey>) -> Change {
    Change::new(
        action,
        "api_key",
        &spec.name,
        old.map(|k| key_json(&k.scopes, k.expires_at, Some(&k.id))),
        Some(key_json(&spec.scopes, spec.expires_at, None)),
    )
}

fn key_request(spec: &ApiKeySpec) -> (CreateApiKeyRequest, String) {
    let request = CreateApiKeyRequest {
        name: spec.name.clone(),
        scopes: spec.scopes.clone(),
        expires_at: spec.expires_at,
    };
    let digest = digest(&serde_json::to_value(&request).unwrap_or_default());
    (request, digest)
}

/// A short hex digest of a declaration (which holds secret references, never secrets).
fn digest(value: &Value) -> String {
    let hash = Sha256::digest(value.to_string().as_bytes());
    hash[..12].iter().map(|b| format!("{b:02x}")).collect()
}

impl Change {
    fn new(
        action: Action,
        object: &str,
        field: &str,
        old: Option<Value>,
        new: Option<Value>,
    ) -> Self {
        Change {
            action,
            object: object.to_owned(),
            field: field.to_owned(),
            old,
            new,
            secret: false,
        }
    }

    fn secret(field: &str) -> Self {
        Change {
            secret: true,
            ..Change::new(Action::Update, "config", field, None, None)
        }
    }
}
