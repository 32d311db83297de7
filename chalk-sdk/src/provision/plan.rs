//! The plan: what `apply` would change, as data.
//!
//! Each tenant's plan holds the changes to show (field by field, secrets only as
//! "changed") and, not serialized, the requests that make them. A plan read back from its
//! JSON has only the former: [`verify`] compares it with a fresh plan. How a plan is made
//! from the files and the server is `planner.rs` (with `diff_*.rs`); how it is carried out,
//! `apply.rs`. Both take these types from here.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::ProvisionError;
use crate::model::{
    ConfigPatch, CreateApiKeyRequest, CreateTenantRequest, CreateWebhookEndpointRequest,
    UpdateTenantRequest, UpdateWebhookEndpointRequest,
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

/// Which secret a declaration produces (and [`NewSecret`](super::NewSecret) carries): the
/// plan lists them all before any is made, so a sink can refuse two it would keep under
/// one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretKind {
    /// The tenant's primary API key, made with the tenant.
    PrimaryKey,
    /// A scoped API key, by name.
    ApiKey(String),
    /// A webhook endpoint's signing secret, by the endpoint's URL.
    EndpointSecret(String),
}

impl Change {
    pub(crate) fn new(
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

    pub(crate) fn secret(field: &str) -> Self {
        Change {
            secret: true,
            ..Change::new(Action::Update, "config", field, None, None)
        }
    }
}

/// A short hex digest of a declaration (which holds secret references, never secrets):
/// the part of a create's `Idempotency-Key` that comes from the file.
pub(crate) fn digest(value: &Value) -> String {
    let hash = Sha256::digest(value.to_string().as_bytes());
    hash[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks that a plan saved earlier (its JSON) is still what `apply` would do now: same
/// tenants, same `ETag`s, same changes. A difference means someone changed a tenant (or
/// the files changed) since: [`ProvisionError::Stale`], and nothing is written.
pub fn verify(saved: &Plan, fresh: &Plan) -> Result<(), ProvisionError> {
    if saved.prune != fresh.prune {
        return Err(ProvisionError::Stale(format!(
            "the saved plan was made {} --prune; plan again with the same options",
            if saved.prune { "with" } else { "without" }
        )));
    }
    let ids = |plan: &Plan| {
        plan.tenants
            .iter()
            .map(|t| t.external_id.clone())
            .collect::<Vec<_>>()
    };
    if ids(saved) != ids(fresh) {
        return Err(ProvisionError::Stale(
            "the files declare other tenants than the saved plan; plan again".into(),
        ));
    }
    for (old, new) in saved.tenants.iter().zip(&fresh.tenants) {
        let id = &old.external_id;
        if old.tenant_id != new.tenant_id {
            return Err(ProvisionError::Stale(format!(
                "tenant `{id}` was created or deleted since the plan; plan again"
            )));
        }
        if old.etag != new.etag {
            return Err(ProvisionError::Stale(format!(
                "tenant `{id}` was changed since the plan (ETag {} is now {}); nothing was overwritten: plan again",
                old.etag.as_deref().unwrap_or("-"),
                new.etag.as_deref().unwrap_or("-")
            )));
        }
        if old.changes != new.changes || old.needs_prune != new.needs_prune {
            return Err(ProvisionError::Stale(format!(
                "tenant `{id}`: the changes differ from the saved plan (its API keys or the files changed); plan again"
            )));
        }
    }
    Ok(())
}
