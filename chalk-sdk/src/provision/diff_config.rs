//! A tenant's config compared with its declaration, into the merge patch that makes it so.
//! The secrets it holds (the post-meeting webhook's, the providers' API keys) are read from
//! their references here and compared without being shown.

use std::path::Path;

use serde_json::{Value, json};

use super::file::{ConfigSpec, SecretRef, WebhookSpec};
use super::plan::{Action, Change};
use crate::model::{
    AiProviderPatch, ConfigPatch, Patch, ProviderPatch, TenantConfig, WebhookConfig, WebhookPatch,
    fingerprint,
};
use crate::secret::SecretString;

/// Compares the declared config with the server's; returns the merge patch that makes it
/// so (`None` when nothing differs). Secrets are read here, and compared by fingerprint
/// (the webhook secret) or by the last four characters the server shows (provider keys,
/// which get no fingerprint).
pub(crate) fn diff_config(
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

pub(crate) fn resolve(
    reference: &SecretRef,
    base: &Path,
    field: &str,
) -> Result<SecretString, String> {
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
) -> Result<Option<SecretString>, String> {
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
