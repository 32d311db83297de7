//! The provisioning file: TOML declaring tenants by `external_id`.
//!
//! Every table rejects unknown keys, and every error names the file, line and column.
//! Secrets are never literal: `{ env = "NAME" }` or `{ file = "PATH" }` (relative to the
//! file that names it), read only when a plan needs them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::model::{DuplicateParticipantPolicy, Scope, TenantStatus};
use crate::secret::SecretString;

/// A file (or several) that could not be used; the message names file, line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

/// Everything the files declare.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Desired {
    pub tenants: Vec<Declared>,
}

/// One tenant and the file it came from (for messages and relative secret paths).
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    pub spec: TenantSpec,
    pub source: PathBuf,
}

/// The document: `[[tenant]]` tables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    #[serde(default)]
    pub tenant: Vec<TenantSpec>,
}

/// `[[tenant]]`. Fields left out are left as the server has them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    pub external_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TenantStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_rooms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_participants_per_room: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_recording_duration_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_minute: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigSpec>,
    #[serde(default, rename = "api_key", skip_serializing_if = "Vec::is_empty")]
    pub api_keys: Vec<ApiKeySpec>,
    #[serde(
        default,
        rename = "webhook_endpoint",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub webhook_endpoints: Vec<EndpointSpec>,
}

/// `[tenant.config]`: any config field; absent = left as the server has it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_recording: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_start_recording: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_early_join: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_room_timeout_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_retention_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_participant_policy: Option<DuplicateParticipantPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcription_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcription_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcription_profanity_filter: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcription_keywords: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_meeting_webhook: Option<WebhookSpec>,
}

/// `[tenant.config.post_meeting_webhook]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_recording: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_transcript: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_summary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_action_items: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcription: Option<ProviderSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai: Option<AiProviderSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<SecretRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AiProviderSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<SecretRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// `[[tenant.api_key]]`: a key by name. A declared key missing on the server is created;
/// one whose scopes or expiry differ is replaced (with `--prune`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySpec {
    pub name: String,
    pub scopes: Vec<Scope>,
    /// RFC 3339 (`"2027-01-01T00:00:00Z"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// `[[tenant.webhook_endpoint]]`: an endpoint by URL. Its signing secret is made by the
/// server when the endpoint is created, and goes to `--secrets-out`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    pub url: String,
    /// Event types (`room.ended`), or `["*"]` for all.
    pub events: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The secret you hold for it (from an earlier `--secrets-out`). When the server's is
    /// another (rotated outside the file), `apply` rotates it and writes the new one out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretRef>,
}

/// Where a secret comes from. Never the secret itself: a literal string is refused
/// (without repeating it in the error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretRef {
    Env(String),
    File(String),
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RefVisitor;
        impl<'de> Visitor<'de> for RefVisitor {
            type Value = SecretRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a reference, { env = "NAME" } or { file = "PATH" }"#)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<SecretRef, E> {
                Err(E::custom(
                    r#"a secret is never written in the file: use { env = "NAME" } or { file = "PATH" }"#,
                ))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretRef, A::Error> {
                let mut found = None;
                while let Some(key) = map.next_key::<String>()? {
                    let value: String = map.next_value()?;
                    let reference = match key.as_str() {
                        "env" => SecretRef::Env(value),
                        "file" => SecretRef::File(value),
                        other => {
                            return Err(de::Error::unknown_field(other, &["env", "file"]));
                        }
                    };
                    if found.replace(reference).is_some() {
                        return Err(de::Error::custom("give exactly one of `env` or `file`"));
                    }
                }
                found.ok_or_else(|| de::Error::custom("give one of `env` or `file`"))
            }
        }
        deserializer.deserialize_any(RefVisitor)
    }
}

impl SecretRef {
    /// How the reference reads in a message: `env ACME_SECRET`, `file secrets/acme`.
    pub fn describe(&self) -> String {
        match self {
            SecretRef::Env(name) => format!("env {name}"),
            SecretRef::File(path) => format!("file {path}"),
        }
    }

    /// Reads the secret. `base` is the directory of the file that names it.
    pub fn resolve(&self, base: &Path) -> Result<SecretString, String> {
        let value = match self {
            SecretRef::Env(name) => std::env::var(name)
                .map_err(|_| format!("environment variable {name} is not set"))?,
            SecretRef::File(path) => {
                let path = base.join(path);
                std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            }
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("{} is empty", self.describe()));
        }
        Ok(SecretString::new(value))
    }
}

/// Reads files and directories (every `*.toml` directly inside, in name order).
/// The same `external_id` twice, in one file or two, is an error naming both places.
pub fn load(paths: &[PathBuf]) -> Result<Desired, FileError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| FileError(format!("{}: {e}", path.display())))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
                .collect();
            inside.sort();
            if inside.is_empty() {
                return Err(FileError(format!(
                    "{}: no *.toml file in it",
                    path.display()
                )));
            }
            files.extend(inside);
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        return Err(FileError("no file given: pass -f FILE".into()));
    }
    let mut desired = Desired::default();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| FileError(format!("{}: {e}", file.display())))?;
        let document = parse(&text).map_err(|e| FileError(format!("{}:{e}", file.display())))?;
        for spec in document.tenant {
            check(&spec).map_err(|e| {
                FileError(format!(
                    "{}: tenant `{}`: {e}",
                    file.display(),
                    spec.external_id
                ))
            })?;
            if let Some(first) = seen.insert(spec.external_id.clone(), file.clone()) {
                return Err(FileError(format!(
                    "{}: tenant `{}` is declared twice (also in {})",
                    file.display(),
                    spec.external_id,
                    first.display()
                )));
            }
            desired.tenants.push(Declared {
                spec,
                source: file.clone(),
            });
        }
    }
    Ok(desired)
}

/// Parses one document; errors read `LINE:COLUMN: message`.
pub fn parse(text: &str) -> Result<Document, String> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|span| line_column(text, span.start))
            .unwrap_or((1, 1));
        format!("{line}:{column}: {}", e.message().trim())
    })
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// What the file alone can tell is wrong (the server checks the rest).
fn check(spec: &TenantSpec) -> Result<(), String> {
    let mut names = BTreeMap::new();
    for key in &spec.api_keys {
        if names.insert(key.name.as_str(), ()).is_some() {
            return Err(format!("api_key `{}` is declared twice", key.name));
        }
        if key.scopes.is_empty() {
            return Err(format!("api_key `{}` needs at least one scope", key.name));
        }
    }
    let mut urls = BTreeMap::new();
    for endpoint in &spec.webhook_endpoints {
        if urls.insert(endpoint.url.as_str(), ()).is_some() {
            return Err(format!(
                "webhook_endpoint `{}` is declared twice",
                endpoint.url
            ));
        }
        if endpoint.events.is_empty() {
            return Err(format!(
                "webhook_endpoint `{}` needs at least one event (or \"*\")",
                endpoint.url
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_with_line_and_column() {
        let text = "[[tenant]]\nexternal_id = \"acme\"\nname = \"Acme\"\nnmae = \"typo\"\n";
        let error = parse(text).unwrap_err();
        assert!(error.starts_with("4:1: unknown field `nmae`"), "{error}");

        let nested = "[[tenant]]\nexternal_id = \"a\"\nname = \"A\"\n[tenant.config]\n  forse_recording = true\n";
        let error = parse(nested).unwrap_err();
        assert!(
            error.starts_with("5:3: unknown field `forse_recording`"),
            "{error}"
        );
    }

    #[test]
    fn a_literal_secret_is_refused_without_being_repeated() {
        let text = "[[tenant]]\nexternal_id = \"a\"\nname = \"A\"\n[tenant.config.post_meeting_webhook]\nsecret = \"whsec_abcdefghijklmnop\"\n";
        let error = parse(text).unwrap_err();
        assert!(error.starts_with("5:"), "{error}");
        assert!(error.contains("never written in the file"), "{error}");
        assert!(!error.contains("whsec_abc"), "{error}");
    }

    #[test]
    fn references_parse_and_resolve() {
        let text = "[[tenant]]\nexternal_id = \"a\"\nname = \"A\"\n[tenant.config.post_meeting_webhook]\nsecret = { file = \"s.txt\" }\n[tenant.config.post_meeting_webhook.ai]\napi_key = { env = \"CHALK_TEST_NOT_SET_ANYWHERE\" }\n";
        let doc = parse(text).unwrap();
        let hook = doc.tenant[0]
            .config
            .as_ref()
            .unwrap()
            .post_meeting_webhook
            .as_ref()
            .unwrap();
        assert_eq!(hook.secret, Some(SecretRef::File("s.txt".into())));
        let dir = std::env::temp_dir().join(format!("chalk-ref-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("s.txt"), "whsec_value\n").unwrap();
        let resolved = hook.secret.as_ref().unwrap().resolve(&dir).unwrap();
        assert_eq!(resolved.expose(), "whsec_value");
        let missing = hook.ai.as_ref().unwrap().api_key.as_ref().unwrap();
        assert_eq!(
            missing.resolve(&dir).unwrap_err(),
            "environment variable CHALK_TEST_NOT_SET_ANYWHERE is not set"
        );
        let both = "[[tenant]]\nexternal_id = \"a\"\nname = \"A\"\n[tenant.config.post_meeting_webhook]\nsecret = { file = \"x\", env = \"Y\" }\n";
        assert!(parse(both).unwrap_err().contains("exactly one"));
    }

    #[test]
    fn the_same_tenant_twice_names_both_files() {
        let dir = std::env::temp_dir().join(format!("chalk-dup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let body = "[[tenant]]\nexternal_id = \"acme\"\nname = \"Acme\"\n";
        std::fs::write(dir.join("a.toml"), body).unwrap();
        std::fs::write(dir.join("b.toml"), body).unwrap();
        let error = load(std::slice::from_ref(&dir)).unwrap_err().0;
        assert!(
            error.contains("b.toml") && error.contains("a.toml"),
            "{error}"
        );
        assert!(error.contains("declared twice"), "{error}");
    }

    #[test]
    fn the_cli_reference_example_is_a_valid_file() {
        let reference = include_str!("../../../docs/cli.md");
        let start = reference
            .find("```toml\n# chalk.toml")
            .expect("the example")
            + 8;
        let end = start + reference[start..].find("```").unwrap();
        let doc = parse(&reference[start..end]).unwrap();
        let acme = &doc.tenant[0];
        assert_eq!(acme.external_id, "acme");
        assert_eq!(acme.api_keys.len(), 2);
        assert_eq!(acme.webhook_endpoints.len(), 1);
        assert!(acme.webhook_endpoints[0].secret.is_some());
    }
}
