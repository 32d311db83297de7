//! Today's state as a provisioning file, so an existing deployment can be brought under one.
//!
//! Every field the server has is written, so planning the result changes nothing; secrets
//! become `{ env = "…" }` references to fill in (the server never returns them).

use futures_util::TryStreamExt;

use super::ProvisionError;
use super::file::{
    AiProviderSpec, ApiKeySpec, ConfigSpec, Document, EndpointSpec, ProviderSpec, SecretRef,
    TenantSpec, WebhookSpec,
};
use crate::client::Client;
use crate::model::{ApiKey, ListQuery, ListTenantsQuery, Tenant, TenantConfig, WebhookEndpoint};

/// The tenants with these external ids, or every tenant that has one (master key).
/// Tenants without an external id cannot be named by a file: they are listed in the
/// second value, to be given one (`chalk tenants update ID --external-id NAME`).
pub async fn export(
    client: &Client,
    external_ids: &[String],
) -> Result<(Document, Vec<String>), ProvisionError> {
    let mut tenants = Vec::new();
    let mut skipped = Vec::new();
    if external_ids.is_empty() {
        let all: Vec<Tenant> = client
            .tenants()
            .list_all(ListTenantsQuery::default())
            .try_collect()
            .await
            .map_err(|e| ProvisionError::api("listing tenants".into(), e))?;
        for tenant in all {
            match tenant.external_id {
                Some(_) => tenants.push(tenant),
                None => skipped.push(tenant.id),
            }
        }
    } else {
        for external_id in external_ids {
            let tenant = client
                .tenants()
                .get_by_external_id(external_id)
                .await
                .map_err(|e| ProvisionError::api(format!("tenant `{external_id}`"), e))?
                .ok_or_else(|| ProvisionError::NotFound(format!("no tenant `{external_id}`")))?;
            tenants.push(tenant);
        }
    }
    let mut document = Document::default();
    for tenant in tenants {
        let keys: Vec<ApiKey> = client
            .tenants()
            .api_keys(&tenant.id)
            .list_all(ListQuery::default())
            .try_collect()
            .await
            .map_err(|e| ProvisionError::api(format!("tenant `{}`: its API keys", tenant.id), e))?;
        let endpoints: Vec<WebhookEndpoint> = client
            .tenants()
            .webhook_endpoints(&tenant.id)
            .list_all(ListQuery::default())
            .try_collect()
            .await
            .map_err(|e| {
                ProvisionError::api(format!("tenant `{}`: its webhook endpoints", tenant.id), e)
            })?;
        let mut spec = spec_of(&tenant, &keys);
        let external_id = spec.external_id.clone();
        spec.webhook_endpoints = endpoints
            .into_iter()
            .map(|e| EndpointSpec {
                events: e.events,
                description: e.description,
                enabled: Some(e.enabled),
                secret: Some(SecretRef::Env(endpoint_env_name(&external_id, &e.url))),
                url: e.url,
            })
            .collect();
        document.tenant.push(spec);
    }
    Ok((document, skipped))
}

/// The file text: a header saying what to fill in, then the document.
pub fn to_toml(document: &Document) -> Result<String, ProvisionError> {
    let body = toml::to_string(document)
        .map_err(|e| ProvisionError::Output(format!("could not write TOML: {e}")))?;
    Ok(format!(
        "# Written by `chalk export`. Secrets are references: set the environment variables\n\
         # named by `{{ env = \"…\" }}` (or point them at files) before `chalk plan`.\n\n{body}"
    ))
}

fn spec_of(tenant: &Tenant, keys: &[ApiKey]) -> TenantSpec {
    let external_id = tenant.external_id.clone().unwrap_or_default();
    let mut api_keys: Vec<ApiKeySpec> = Vec::new();
    for key in keys.iter().filter(|k| !k.primary) {
        // A file names keys uniquely; a second key of one name stays unmanaged.
        if api_keys.iter().any(|k| k.name == key.name) {
            continue;
        }
        api_keys.push(ApiKeySpec {
            name: key.name.clone(),
            scopes: key.scopes.clone(),
            expires_at: key.expires_at,
        });
    }
    TenantSpec {
        name: tenant.name.clone(),
        email: tenant.email.clone(),
        status: Some(tenant.status),
        max_concurrent_rooms: Some(tenant.max_concurrent_rooms),
        max_participants_per_room: Some(tenant.max_participants_per_room),
        max_recording_duration_minutes: Some(tenant.max_recording_duration_minutes),
        rate_limit_per_minute: Some(tenant.rate_limit_per_minute),
        config: Some(config_spec(&external_id, &tenant.config)),
        api_keys,
        webhook_endpoints: Vec::new(),
        external_id,
    }
}

/// `CHALK_<EXTERNAL_ID>_<WHAT>`, as an environment variable name.
pub fn env_name(external_id: &str, what: &str) -> String {
    let id: String = external_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("CHALK_{id}_{what}")
}

/// The variable an endpoint's secret is read from: the name `--secrets-out` gives it in a
/// dotenv file, so the two meet.
pub fn endpoint_env_name(external_id: &str, url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    env_name(external_id, &format!("WEBHOOK_{}", upper(rest)))
}

/// Upper case, every character but letters and digits as `_`.
pub(crate) fn upper(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn config_spec(external_id: &str, config: &TenantConfig) -> ConfigSpec {
    let reference = |what: &str| SecretRef::Env(env_name(external_id, what));
    ConfigSpec {
        force_recording: Some(config.force_recording),
        auto_start_recording: Some(config.auto_start_recording),
        allow_early_join: Some(config.allow_early_join),
        empty_room_timeout_minutes: Some(config.empty_room_timeout_minutes),
        recording_retention_days: Some(config.recording_retention_days),
        duplicate_participant_policy: Some(config.duplicate_participant_policy),
        transcription_enabled: Some(config.transcription_enabled),
        transcription_language: Some(config.transcription_language.clone()),
        transcription_profanity_filter: Some(config.transcription_profanity_filter),
        transcription_keywords: Some(config.transcription_keywords.clone()),
        allowed_origins: Some(config.allowed_origins.clone()),
        post_meeting_webhook: config
            .post_meeting_webhook
            .as_ref()
            .map(|hook| WebhookSpec {
                enabled: Some(hook.enabled),
                url: hook.url.clone(),
                secret: hook.secret.as_ref().map(|_| reference("WEBHOOK_SECRET")),
                include_recording: Some(hook.include_recording),
                include_transcript: Some(hook.include_transcript),
                include_summary: Some(hook.include_summary),
                include_action_items: Some(hook.include_action_items),
                transcription: hook.transcription.as_ref().map(|t| ProviderSpec {
                    provider: t.provider.clone(),
                    api_key: t
                        .api_key
                        .as_ref()
                        .map(|_| reference("TRANSCRIPTION_API_KEY")),
                }),
                ai: hook.ai.as_ref().map(|a| AiProviderSpec {
                    provider: a.provider.clone(),
                    api_key: a.api_key.as_ref().map(|_| reference("AI_API_KEY")),
                    model: a.model.clone(),
                }),
            }),
    }
}
