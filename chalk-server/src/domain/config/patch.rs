//! The JSON merge patch (RFC 7396) that changes a tenant's config. [`apply_patch`] types
//! the patch as the SDK's [`ConfigPatch`] (the one definition of its fields), checks each
//! field against its rule (`fields.rs`) and reports every bad field at once, so a CI
//! script fixes its input in one go.

use chalk_sdk::SecretString;
use chalk_sdk::model::{ConfigPatch, FieldError, Patch, WebhookPatch};
use serde_json::Value;
use serde_path_to_error::Segment;

use crate::crypto::Sealer;
use crate::net::webhook_target::TargetPolicy;

use super::fields::*;
use crate::store::stored_config::{
    SealedSecret, StoredAiProvider, StoredConfig, StoredProvider, StoredWebhook,
};

/// How many unknown or mistyped fields are named before giving up on the rest: enough to
/// fix a patch by, and each one costs a pass over the patch (see [`type_patch`]).
const MAX_TYPE_ERRORS: usize = 64;

/// Applies a JSON merge patch (RFC 7396) to `current`: absent = unchanged, `null` = back
/// to the default (a removed object for `post_meeting_webhook`, `transcription`, `ai`),
/// nested objects merge. Secrets in the patch are sealed; secrets it leaves out keep their
/// sealed value. `targets` says whether the webhook may point at a private address.
///
/// Every field is checked before anything is returned; on any problem the result is the
/// full list of bad fields, each path prefixed by `field_prefix` (`""` for
/// `PATCH /config`, `"config."` when the config is embedded in another body).
pub fn apply_patch(
    current: &StoredConfig,
    patch: &Value,
    field_prefix: &str,
    sealer: &Sealer,
    targets: TargetPolicy,
) -> Result<StoredConfig, Vec<FieldError>> {
    if !patch.is_object() {
        let field = match field_prefix.trim_end_matches('.') {
            "" => "body",
            name => name,
        };
        return Err(vec![FieldError::new(field, "must be a JSON object")]);
    }
    // `usage_alerts` is a list of objects, checked by its own rule so that every bad entry
    // is named (the typing loop below knows lists of strings only); the rest is typed.
    let mut rest = patch.clone();
    let alerts = rest
        .as_object_mut()
        .and_then(|fields| fields.remove("usage_alerts"));
    let (typed, mut errors) = type_patch(&rest);
    let mut rule_errors = Vec::new();
    // Working on a copy is safe: on any error the copy is dropped and only errors return.
    let mut next = merge_config(&mut rule_errors, current.clone(), typed, sealer, targets);
    if let Some(alerts) = alerts {
        match usage_alerts(&alerts) {
            Ok(alerts) => next.usage_alerts = alerts.unwrap_or_default(),
            Err(refused) => rule_errors.extend(
                refused
                    .into_iter()
                    .map(|(field, message)| FieldError::new(field, message)),
            ),
        }
    }
    for error in rule_errors {
        // A list entry of the wrong type reaches the rules as a placeholder (see
        // `type_patch`); its field is already reported, for the right reason.
        if !errors.iter().any(|e| e.field == error.field) {
            errors.push(error);
        }
    }
    if errors.is_empty() {
        return Ok(next);
    }
    Err(errors
        .into_iter()
        .map(|e| FieldError::new(format!("{field_prefix}{}", e.field), e.message))
        .collect())
}

/// Types the patch as the SDK's [`ConfigPatch`], yet names every unknown or mistyped
/// field rather than only the first.
///
/// serde stops at the first error, so the field it names is cut out of a copy of the
/// patch and the rest is typed again, until what remains types cleanly. A hand-written
/// first pass over the JSON would find them all in one go, but it would be a second list
/// of the fields and their types to keep in step with the SDK; this loop needs none. Each
/// round removes a key or turns a list entry into a string (every list in the patch is a
/// list of strings), so it ends after one round per bad field. An entry is replaced rather
/// than removed so that the entries after it keep the index the caller sent, which is the
/// index the rules report.
fn type_patch(patch: &Value) -> (ConfigPatch, Vec<FieldError>) {
    let mut remaining = patch.clone();
    let mut errors = Vec::new();
    while errors.len() < MAX_TYPE_ERRORS {
        let error = match serde_path_to_error::deserialize::<_, ConfigPatch>(&remaining) {
            Ok(typed) => return (typed, errors),
            Err(error) => error,
        };
        let message = error.inner().to_string();
        // serde names a nested patch by its Rust type, which means nothing to the caller.
        let message = match message.split_once(", expected struct ") {
            Some((found, _)) => format!("{found}, expected an object or null"),
            None => message,
        };
        errors.push(FieldError::new(error.path().to_string(), message));
        let segments: Vec<&Segment> = error.path().iter().collect();
        if !cut(&mut remaining, &segments) {
            break;
        }
    }
    // Not typed to the end: nothing is applied, and the errors say why.
    (ConfigPatch::default(), errors)
}

/// Takes the value at `path` out of the way of typing; `false` if there was nothing to do.
fn cut(value: &mut Value, path: &[&Segment]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut node = Some(value);
    for segment in parents {
        node = match (segment, node) {
            (Segment::Map { key }, Some(Value::Object(map))) => map.get_mut(key),
            (Segment::Seq { index }, Some(Value::Array(items))) => items.get_mut(*index),
            _ => None,
        };
    }
    match (last, node) {
        (Segment::Map { key }, Some(Value::Object(map))) => map.remove(key).is_some(),
        (Segment::Seq { index }, Some(Value::Array(items))) => match items.get_mut(*index) {
            Some(item) if !item.is_string() => {
                *item = Value::String(String::new());
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// One field of the patch into its slot: absent keeps it, `null` resets it to `default`,
/// a value goes through `check` and is stored only if accepted. `false` if refused.
fn merge_field<T, V, U: From<V>, E: Into<Refused>>(
    errors: &mut Vec<FieldError>,
    path: &str,
    patch: Patch<T>,
    slot: &mut U,
    default: U,
    check: impl FnOnce(T) -> Result<V, E>,
) -> bool {
    match patch {
        Patch::Absent => {}
        Patch::Reset => *slot = default,
        Patch::Set(value) => match check(value) {
            Ok(value) => *slot = value.into(),
            Err(refused) => {
                let refused = refused.into();
                errors.extend(refused.field.map(|m| FieldError::new(path, m)));
                errors.extend(
                    refused
                        .entries
                        .into_iter()
                        .map(|(index, m)| FieldError::new(format!("{path}[{index}]"), m)),
                );
                return false;
            }
        },
    }
    true
}

/// [`merge_field`] for the field of the same name in the patch, the stored form and its
/// defaults; that name, after `$prefix`, is also the path errors name, so they agree.
/// Without a check, every value the field's type can hold is accepted.
macro_rules! merge {
    ($errors:ident, $prefix:literal,
     $patch:ident => $into:ident, $defaults:ident . $field:ident) => {
        merge!($errors, $prefix, $patch => $into, $defaults.$field, Ok::<_, String>)
    };
    ($errors:ident, $prefix:literal,
     $patch:ident => $into:ident, $defaults:ident . $field:ident, $check:expr) => {
        merge_field(
            $errors,
            concat!($prefix, stringify!($field)),
            $patch.$field,
            &mut $into.$field,
            $defaults.$field,
            $check,
        )
    };
}

/// A nested object of the patch: `null` removes it, an object merges into it (starting
/// from its defaults when it did not exist yet).
fn merge_nested<T: Default, P>(
    slot: &mut Option<T>,
    patch: Patch<P>,
    merge: impl FnOnce(&mut T, P),
) {
    match patch {
        Patch::Absent => {}
        Patch::Reset => *slot = None,
        Patch::Set(patch) => merge(slot.get_or_insert_with(T::default), patch),
    }
}

fn merge_config(
    errors: &mut Vec<FieldError>,
    mut config: StoredConfig,
    patch: ConfigPatch,
    sealer: &Sealer,
    targets: TargetPolicy,
) -> StoredConfig {
    let d = StoredConfig::default();
    merge!(errors, "", patch => config, d.force_recording);
    merge!(errors, "", patch => config, d.auto_start_recording);
    merge!(errors, "", patch => config, d.allow_early_join);
    merge!(errors, "", patch => config, d.empty_room_timeout_minutes,
        within(EMPTY_ROOM_TIMEOUT_MINUTES));
    merge!(errors, "", patch => config, d.recording_retention_days,
        within(RECORDING_RETENTION_DAYS));
    merge!(errors, "", patch => config, d.duplicate_participant_policy);
    merge!(errors, "", patch => config, d.transcription_enabled);
    merge!(errors, "", patch => config, d.transcription_language, language_tag);
    merge!(errors, "", patch => config, d.transcription_profanity_filter);
    merge!(errors, "", patch => config, d.transcription_keywords, keywords);
    merge!(errors, "", patch => config, d.allowed_origins, origins);
    let hook = &mut config.post_meeting_webhook;
    merge_nested(hook, patch.post_meeting_webhook, |hook, patch| {
        merge_webhook(errors, hook, patch, sealer, targets);
    });
    config
}

fn merge_webhook(
    errors: &mut Vec<FieldError>,
    hook: &mut StoredWebhook,
    patch: WebhookPatch,
    sealer: &Sealer,
    targets: TargetPolicy,
) {
    let d = StoredWebhook::default();
    // Setting the secret it already has keeps the stored one, fingerprint included, so a
    // provisioning run that sends it again changes nothing a client can see.
    let current = hook.secret.clone();
    let sealed_secret = |secret: SecretString| {
        webhook_secret(secret.expose())?;
        Ok::<_, String>(match current {
            Some(kept)
                if kept.fingerprint.is_some()
                    && kept.open(sealer).ok().as_deref() == Some(secret.expose()) =>
            {
                kept
            }
            _ => SealedSecret::seal_fingerprinted(sealer, secret.expose()),
        })
    };
    merge!(errors, "post_meeting_webhook.", patch => hook, d.enabled);
    let url_accepted = merge!(errors, "post_meeting_webhook.", patch => hook, d.url,
        |url| webhook_url(url, targets));
    merge!(errors, "post_meeting_webhook.", patch => hook, d.secret, sealed_secret);
    merge!(errors, "post_meeting_webhook.", patch => hook, d.include_recording);
    merge!(errors, "post_meeting_webhook.", patch => hook, d.include_transcript);
    merge!(errors, "post_meeting_webhook.", patch => hook, d.include_summary);
    merge!(errors, "post_meeting_webhook.", patch => hook, d.include_action_items);
    merge_nested(
        &mut hook.transcription,
        patch.transcription,
        |provider, patch| {
            let d = StoredProvider::default();
            merge!(errors, "post_meeting_webhook.transcription.", patch => provider, d.provider,
            trimmed(PROVIDER_CHARS));
            merge!(errors, "post_meeting_webhook.transcription.", patch => provider, d.api_key,
            |key| api_key(sealer, key));
        },
    );
    merge_nested(&mut hook.ai, patch.ai, |ai, patch| {
        let d = StoredAiProvider::default();
        merge!(errors, "post_meeting_webhook.ai.", patch => ai, d.provider,
            trimmed(PROVIDER_CHARS));
        merge!(errors, "post_meeting_webhook.ai.", patch => ai, d.api_key,
            |key| api_key(sealer, key));
        merge!(errors, "post_meeting_webhook.ai.", patch => ai, d.model, trimmed(MODEL_CHARS));
    });
    // An enabled webhook with nowhere to go would silently drop every meeting's data.
    // Checked on the merged result, so `{"enabled": true}` alone is fine when a url is
    // already stored; skipped when the patch's own url was already reported as bad.
    if hook.enabled && hook.url.is_none() && url_accepted {
        errors.push(FieldError::new(
            "post_meeting_webhook.url",
            "required when enabled is true",
        ));
    }
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod tests;
