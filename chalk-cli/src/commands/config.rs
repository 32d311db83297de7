//! `chalk config get|set|unset`: a tenant's config, changed by JSON merge patch.
//!
//! `set` takes `key=value` pairs parsed by the field's type (bool, integer, string,
//! comma-separated list; nested webhook fields by dotted key) and/or a patch file;
//! `unset` sends `null`, which restores the field's default.

use std::io::Read;
use std::path::PathBuf;

use chalk_sdk::model::ConfigPatch;
use clap::Subcommand;
use serde_json::{Map, Value};

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::output::{Block, View, flatten};

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Show a tenant's config (secrets masked)
    #[command(after_help = "Examples:
  chalk config get tenant_abc123
  chalk config get tenant_abc123 -o json | jq .config.allowed_origins
  ETAG=$(chalk config get tenant_abc123 --etag)")]
    Get {
        tenant: Option<String>,
        /// Print only the ETag, for `set --if-match`
        #[arg(long)]
        etag: bool,
    },
    /// Change config fields: KEY=VALUE pairs and/or a JSON merge patch file
    #[command(
        after_help = "Values are parsed by the field's type: booleans (true/false), integers,
strings, and comma-separated lists (`allowed_origins=` sets an empty list).
Webhook fields use dotted keys. Pairs override the file's fields.

Examples:
  chalk config set tenant_abc123 force_recording=true recording_retention_days=90
  chalk config set tenant_abc123 allowed_origins=https://app.acme.edu,http://localhost:*
  chalk config set tenant_abc123 post_meeting_webhook.url=https://hooks.acme.edu/chalk post_meeting_webhook.enabled=true
  chalk config set tenant_abc123 --file patch.json
  echo '{\"transcription_language\": \"es-ES\"}' | chalk config set tenant_abc123 --file -"
    )]
    Set {
        tenant: String,
        /// KEY=VALUE pairs
        pairs: Vec<String>,
        /// A JSON merge patch file, or `-` for stdin
        #[arg(long, short = 'f', value_name = "PATH")]
        file: Option<PathBuf>,
        /// Apply only if the config still has this ETag (412 otherwise)
        #[arg(long, value_name = "ETAG")]
        if_match: Option<String>,
    },
    /// Reset config fields to their defaults
    #[command(after_help = "Examples:
  chalk config unset tenant_abc123 allowed_origins
  chalk config unset tenant_abc123 transcription_language post_meeting_webhook")]
    Unset {
        tenant: String,
        /// Field names (dotted for webhook fields)
        #[arg(required = true)]
        keys: Vec<String>,
        #[arg(long, value_name = "ETAG")]
        if_match: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Str,
    List,
    Object,
}

/// Every config field and its type, nested webhook fields by dotted key.
const FIELDS: &[(&str, Kind)] = &[
    ("force_recording", Kind::Bool),
    ("auto_start_recording", Kind::Bool),
    ("allow_early_join", Kind::Bool),
    ("empty_room_timeout_minutes", Kind::Int),
    ("recording_retention_days", Kind::Int),
    ("duplicate_participant_policy", Kind::Str),
    ("transcription_enabled", Kind::Bool),
    ("transcription_language", Kind::Str),
    ("transcription_profanity_filter", Kind::Bool),
    ("transcription_keywords", Kind::List),
    ("allowed_origins", Kind::List),
    ("post_meeting_webhook", Kind::Object),
    ("post_meeting_webhook.enabled", Kind::Bool),
    ("post_meeting_webhook.url", Kind::Str),
    ("post_meeting_webhook.secret", Kind::Str),
    ("post_meeting_webhook.include_recording", Kind::Bool),
    ("post_meeting_webhook.include_transcript", Kind::Bool),
    ("post_meeting_webhook.include_summary", Kind::Bool),
    ("post_meeting_webhook.include_action_items", Kind::Bool),
    ("post_meeting_webhook.transcription", Kind::Object),
    ("post_meeting_webhook.transcription.provider", Kind::Str),
    ("post_meeting_webhook.transcription.api_key", Kind::Str),
    ("post_meeting_webhook.ai", Kind::Object),
    ("post_meeting_webhook.ai.provider", Kind::Str),
    ("post_meeting_webhook.ai.api_key", Kind::Str),
    ("post_meeting_webhook.ai.model", Kind::Str),
];

pub async fn run(ctx: &Context, cmd: ConfigCmd) -> CliResult<View> {
    match cmd {
        ConfigCmd::Get { tenant, etag } => {
            let tenant = ctx.require(tenant, "tenant id", "pass the tenant id as an argument")?;
            let client = ctx.client()?;
            let (config, tag) = client.tenants().config(&tenant).get_with_etag().await?;
            if etag {
                return View::new(&tag, vec![Block::Line(tag.clone())]);
            }
            let mut view = config_view(&config)?;
            if let Some(Block::Fields(rows)) = view.blocks.first_mut() {
                rows.push(("etag".into(), tag));
            }
            Ok(view)
        }
        ConfigCmd::Set {
            tenant,
            pairs,
            file,
            if_match,
        } => {
            let mut patch = match &file {
                Some(path) => read_patch_file(path)?,
                None => Map::new(),
            };
            for pair in &pairs {
                let (key, value) = parse_pair(pair)?;
                insert(&mut patch, &key, value);
            }
            if patch.is_empty() {
                return Err(CliError::usage(
                    "nothing to change: pass KEY=VALUE pairs or --file PATH (see `chalk config set --help`)",
                ));
            }
            send(ctx, &tenant, patch, if_match).await
        }
        ConfigCmd::Unset {
            tenant,
            keys,
            if_match,
        } => {
            let mut patch = Map::new();
            for key in &keys {
                field_kind(key)?;
                insert(&mut patch, key, Value::Null);
            }
            send(ctx, &tenant, patch, if_match).await
        }
    }
}

async fn send(
    ctx: &Context,
    tenant: &str,
    patch: Map<String, Value>,
    if_match: Option<String>,
) -> CliResult<View> {
    let patch = to_config_patch(Value::Object(patch))?;
    let client = ctx.client()?;
    let config = client.tenants().config(tenant);
    let updated = match if_match {
        Some(etag) => config.update_if_match(&etag, &patch).await?,
        None => config.update(&patch).await?,
    };
    config_view(&updated)
}

fn config_view(config: &chalk_sdk::model::TenantConfigResponse) -> CliResult<View> {
    let mut view = View::new(config, Vec::new())?;
    view.blocks.push(Block::Fields(flatten(&view.json)));
    Ok(view)
}

fn field_kind(key: &str) -> CliResult<Kind> {
    FIELDS
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, kind)| *kind)
        .ok_or_else(|| {
            let known: Vec<&str> = FIELDS.iter().map(|(name, _)| *name).collect();
            CliError::usage(format!(
                "unknown config field `{key}`; known fields: {}",
                known.join(", ")
            ))
        })
}

/// `key=value`, the value parsed by the field's type.
fn parse_pair(pair: &str) -> CliResult<(String, Value)> {
    let (key, raw) = pair.split_once('=').ok_or_else(|| {
        CliError::usage(format!(
            "`{pair}` is not KEY=VALUE (use `chalk config unset` to reset a field)"
        ))
    })?;
    let key = key.trim();
    let bad = |expected: &str| CliError::usage(format!("`{key}` expects {expected}, got `{raw}`"));
    let value = match field_kind(key)? {
        Kind::Bool => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Value::Bool(true),
            "false" | "no" | "off" | "0" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
        Kind::Int => Value::from(raw.trim().parse::<i64>().map_err(|_| bad("an integer"))?),
        Kind::Str => Value::String(raw.to_owned()),
        Kind::List => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Value::String(item.to_owned()))
                .collect(),
        ),
        Kind::Object => match serde_json::from_str::<Value>(raw) {
            Ok(object @ Value::Object(_)) => object,
            _ => return Err(bad("a JSON object (or set its fields with dotted keys)")),
        },
    };
    Ok((key.to_owned(), value))
}

/// Puts `value` at a dotted path, creating (or merging into) the objects on the way.
fn insert(patch: &mut Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            match (patch.get_mut(key), value) {
                // A pair merges into an object the file already had.
                (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new),
                (_, value) => {
                    patch.insert(key.to_owned(), value);
                }
            }
        }
        Some((head, rest)) => {
            let slot = patch
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(inner) = slot {
                insert(inner, rest, value);
            }
        }
    }
}

fn read_patch_file(path: &std::path::Path) -> CliResult<Map<String, Value>> {
    let (name, text) = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::other(format!("could not read the patch from stdin: {e}")))?;
        ("stdin".to_owned(), text)
    } else {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::usage(format!("could not read {}: {e}", path.display())))?;
        (path.display().to_string(), text)
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(CliError::Invalid(format!(
            "{name}: a config patch must be a JSON object"
        ))),
        Err(e) => Err(CliError::Invalid(format!("{name} is not valid JSON: {e}"))),
    }
}

/// The patch as the SDK's typed `ConfigPatch`; a wrong field or type is named by its path.
fn to_config_patch(value: Value) -> CliResult<ConfigPatch> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        CliError::Invalid(format!("invalid config patch at `{path}`: {}", e.inner()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chalk_sdk::model::Patch;
    use serde_json::json;

    fn patch_of(pairs: &[&str]) -> CliResult<Value> {
        let mut patch = Map::new();
        for pair in pairs {
            let (k, v) = parse_pair(pair)?;
            insert(&mut patch, &k, v);
        }
        Ok(Value::Object(patch))
    }

    #[test]
    fn values_are_parsed_by_field_type() {
        let patch = patch_of(&[
            "force_recording=true",
            "allow_early_join=no",
            "recording_retention_days=90",
            "transcription_language=es-ES",
            "allowed_origins=https://a.example, http://localhost:*",
            "transcription_keywords=",
            "post_meeting_webhook.url=https://hooks.example/x",
            "post_meeting_webhook.enabled=on",
            "post_meeting_webhook.ai.model=small",
        ])
        .unwrap();
        assert_eq!(
            patch,
            json!({
                "force_recording": true,
                "allow_early_join": false,
                "recording_retention_days": 90,
                "transcription_language": "es-ES",
                "allowed_origins": ["https://a.example", "http://localhost:*"],
                "transcription_keywords": [],
                "post_meeting_webhook": {
                    "url": "https://hooks.example/x",
                    "enabled": true,
                    "ai": {"model": "small"}
                }
            })
        );
        let typed = to_config_patch(patch).unwrap();
        assert_eq!(typed.force_recording, Patch::Set(true));
        assert_eq!(typed.recording_retention_days, Patch::Set(90));
    }

    #[test]
    fn bad_pairs_are_usage_errors_naming_the_field() {
        for (pair, needle) in [
            ("force_recording=maybe", "force_recording"),
            ("recording_retention_days=ten", "recording_retention_days"),
            ("no_such_field=1", "unknown config field `no_such_field`"),
            ("force_recording", "not KEY=VALUE"),
        ] {
            let err = patch_of(&[pair]).unwrap_err();
            assert_eq!(err.exit_code(), crate::error::exit::USAGE, "{pair}");
            assert!(err.message().contains(needle), "{pair}: {}", err.message());
        }
    }

    #[test]
    fn file_patches_with_unknown_fields_are_invalid_input() {
        let err = to_config_patch(json!({"post_meeting_webhook": {"urll": "x"}})).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::INVALID_INPUT);
        assert!(
            err.message().contains("post_meeting_webhook"),
            "{}",
            err.message()
        );
        assert!(err.message().contains("urll"), "{}", err.message());
    }
}
