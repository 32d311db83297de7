//! The rule of each config field (docs/api.md, Config), one constant per field it
//! constrains and one check per kind of value; [`apply_patch`](super::patch::apply_patch)
//! runs them.

use std::ops::RangeInclusive;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chalk_sdk::SecretString;
use url::Url;

use crate::crypto::Sealer;
use crate::net::webhook_target::{self, TargetPolicy};

use super::origins::normalize_origin;
use crate::store::stored_config::SealedSecret;

pub(super) const EMPTY_ROOM_TIMEOUT_MINUTES: RangeInclusive<i64> = 1..=1440;
pub(super) const RECORDING_RETENTION_DAYS: RangeInclusive<i64> = 1..=3650;
/// RFC 5646 asks for at least 35; anything longer than this is not a real language tag.
pub(super) const MAX_LANGUAGE_TAG_CHARS: usize = 64;
pub(super) const MAX_KEYWORDS: usize = 100;
pub(super) const KEYWORD_CHARS: RangeInclusive<usize> = 1..=100;
pub(super) const MAX_ORIGINS: usize = 20;
/// Far beyond any real webhook address; keeps a stored config small.
pub(super) const MAX_URL_CHARS: usize = 2048;
/// `post_meeting_webhook.secret`: `whsec_` + base64 of this many bytes (Standard Webhooks).
pub(super) const WEBHOOK_SECRET_PREFIX: &str = "whsec_";
pub(super) const WEBHOOK_SECRET_BYTES: RangeInclusive<usize> = 24..=64;
/// The providers' `api_key`s: whatever the provider issued, within reason.
pub(super) const API_KEY_CHARS: RangeInclusive<usize> = 8..=512;
pub(super) const PROVIDER_CHARS: RangeInclusive<usize> = 1..=64;
pub(super) const MODEL_CHARS: RangeInclusive<usize> = 1..=128;

pub(super) const NOT_A_URL: &str =
    "must be a URL with a host, like https://example.com/webhooks/chalk";

/// Why a value was refused: what is wrong with the field itself, with entries of a list
/// (by index), or both.
#[derive(Debug, Default)]
pub(super) struct Refused {
    pub(super) field: Option<String>,
    pub(super) entries: Vec<(usize, String)>,
}

impl From<String> for Refused {
    fn from(message: String) -> Self {
        Self {
            field: Some(message),
            entries: Vec::new(),
        }
    }
}

pub(super) fn within(range: RangeInclusive<i64>) -> impl FnOnce(i64) -> Result<i64, String> {
    move |n| {
        if range.contains(&n) {
            Ok(n)
        } else {
            Err(format!(
                "must be between {} and {}",
                range.start(),
                range.end()
            ))
        }
    }
}

/// A string of `chars` characters after trimming; stored trimmed.
pub(super) fn trimmed(chars: RangeInclusive<usize>) -> impl Fn(String) -> Result<String, String> {
    move |text| {
        let text = text.trim();
        if chars.contains(&text.chars().count()) {
            Ok(text.to_owned())
        } else {
            Err(format!(
                "must be {} to {} characters (after trimming spaces)",
                chars.start(),
                chars.end()
            ))
        }
    }
}

pub(super) fn language_tag(tag: String) -> Result<String, String> {
    normalize_language_tag(&tag).ok_or_else(|| {
        "must be a BCP 47 language tag such as en, en-US, es-ES or zh-Hans-CN".to_owned()
    })
}

pub(super) fn keywords(list: Vec<String>) -> Result<Vec<String>, Refused> {
    let mut refused = Refused::default();
    if list.len() > MAX_KEYWORDS {
        refused.field = Some(format!("must have at most {MAX_KEYWORDS} keywords"));
    }
    let check = trimmed(KEYWORD_CHARS);
    let mut keywords = Vec::with_capacity(list.len());
    for (index, keyword) in list.into_iter().enumerate() {
        match check(keyword) {
            Ok(keyword) => keywords.push(keyword),
            Err(message) => refused.entries.push((index, message)),
        }
    }
    if refused.field.is_none() && refused.entries.is_empty() {
        Ok(keywords)
    } else {
        Err(refused)
    }
}

pub(super) fn origins(list: Vec<String>) -> Result<Vec<String>, Refused> {
    let mut refused = Refused::default();
    let mut origins: Vec<String> = Vec::new();
    for (index, raw) in list.iter().enumerate() {
        match normalize_origin(raw) {
            Ok(origin) if origins.contains(&origin) => {}
            Ok(origin) => origins.push(origin),
            Err(message) => refused.entries.push((index, message.to_owned())),
        }
    }
    // Counted after removing duplicates: the limit is on distinct origins.
    if origins.len() > MAX_ORIGINS {
        refused.field = Some(format!("must have at most {MAX_ORIGINS} distinct origins"));
    }
    if refused.field.is_none() && refused.entries.is_empty() {
        Ok(origins)
    } else {
        Err(refused)
    }
}

/// A URL with a host that [`webhook_target::check_url`] accepts; stored as sent, trimmed.
/// Also the rule of webhook endpoints' URLs.
pub fn webhook_url(raw: String, targets: TargetPolicy) -> Result<String, String> {
    let raw = raw.trim();
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(format!("must be at most {MAX_URL_CHARS} characters"));
    }
    let url = Url::parse(raw).map_err(|_| NOT_A_URL.to_owned())?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(NOT_A_URL.to_owned());
    }
    webhook_target::check_url(&url, targets).map_err(str::to_owned)?;
    Ok(raw.to_owned())
}

/// Deliveries are signed with the secret's decoded bytes (Standard Webhooks, like the
/// endpoints' own secrets), so anything that does not decode could never sign one.
pub(super) fn webhook_secret(secret: &str) -> Result<(), String> {
    let decoded = secret
        .strip_prefix(WEBHOOK_SECRET_PREFIX)
        .and_then(|encoded| STANDARD.decode(encoded).ok());
    match decoded {
        Some(bytes) if WEBHOOK_SECRET_BYTES.contains(&bytes.len()) => Ok(()),
        _ => Err(format!(
            "must be {WEBHOOK_SECRET_PREFIX} followed by the base64 of {} to {} bytes",
            WEBHOOK_SECRET_BYTES.start(),
            WEBHOOK_SECRET_BYTES.end()
        )),
    }
}

/// Provider keys are used byte for byte to authenticate, so they are not trimmed.
pub(super) fn api_key(sealer: &Sealer, key: SecretString) -> Result<SealedSecret, String> {
    if API_KEY_CHARS.contains(&key.expose().chars().count()) {
        Ok(SealedSecret::seal(sealer, key.expose()))
    } else {
        Err(format!(
            "must be {} to {} characters",
            API_KEY_CHARS.start(),
            API_KEY_CHARS.end()
        ))
    }
}

/// A BCP 47 tag in canonical case (`zh-hans-cn` → `zh-Hans-CN`), or `None`.
///
/// Grammar: language, then optional script (4 letters), region (2 letters or 3 digits)
/// and variants (5–8 alphanumerics, or a digit and 3 alphanumerics). The language subtag
/// must be 2–3 letters: RFC 5646 reserves 4-letter ones and no 5–8 letter one has ever
/// been registered, and accepting them would let `english` through.
pub(super) fn normalize_language_tag(tag: &str) -> Option<String> {
    if tag.len() > MAX_LANGUAGE_TAG_CHARS {
        return None;
    }
    let mut subtags = tag.split('-').peekable();
    let language = subtags.next().filter(|s| is_alpha(s, 2..=3))?;
    let mut canonical = language.to_ascii_lowercase();
    if let Some(script) = subtags.next_if(|s| is_alpha(s, 4..=4)) {
        canonical.push('-');
        canonical.push_str(&script[..1].to_ascii_uppercase());
        canonical.push_str(&script[1..].to_ascii_lowercase());
    }
    if let Some(region) = subtags.next_if(|s| is_alpha(s, 2..=2) || is_digits(s, 3)) {
        canonical.push('-');
        canonical.push_str(&region.to_ascii_uppercase());
    }
    for variant in subtags {
        if !is_variant(variant) {
            return None;
        }
        canonical.push('-');
        canonical.push_str(&variant.to_ascii_lowercase());
    }
    Some(canonical)
}

pub(super) fn is_alpha(s: &str, len: RangeInclusive<usize>) -> bool {
    len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
}

pub(super) fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

pub(super) fn is_variant(s: &str) -> bool {
    let alphanumeric = s.bytes().all(|b| b.is_ascii_alphanumeric());
    match s.len() {
        5..=8 => alphanumeric,
        4 => alphanumeric && s.as_bytes()[0].is_ascii_digit(),
        _ => false,
    }
}

pub(super) const MAX_USAGE_ALERTS: usize = 10;
pub(super) const USAGE_ALERT_THRESHOLD: RangeInclusive<i64> = 1..=1_000_000_000_000;

/// `usage_alerts` as sent (a list, each entry `{metric, period, threshold}`), checked
/// whole: every bad entry and field is named (`usage_alerts[2].threshold`), not only the
/// first. Identical entries are kept once. `Ok(None)` for `null` (back to none).
pub(super) fn usage_alerts(
    value: &serde_json::Value,
) -> Result<Option<Vec<chalk_sdk::model::UsageAlert>>, Vec<(String, String)>> {
    use chalk_sdk::model::{AlertPeriod, UsageAlert, UsageMetric};
    use serde_json::Value;
    let field = "usage_alerts";
    let items = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        _ => {
            return Err(vec![(
                field.into(),
                "must be a list of {\"metric\", \"period\", \"threshold\"} objects, or null".into(),
            )]);
        }
    };
    let mut errors = Vec::new();
    if items.len() > MAX_USAGE_ALERTS {
        errors.push((
            field.to_owned(),
            format!("must have at most {MAX_USAGE_ALERTS} alerts"),
        ));
    }
    let metrics = UsageMetric::ALL
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut alerts: Vec<UsageAlert> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let at = |name: &str| format!("{field}[{index}].{name}");
        let Some(entry) = item.as_object() else {
            errors.push((
                format!("{field}[{index}]"),
                "must be an object {\"metric\", \"period\", \"threshold\"}".into(),
            ));
            continue;
        };
        for key in entry.keys() {
            if !matches!(key.as_str(), "metric" | "period" | "threshold") {
                errors.push((
                    at(key),
                    "unknown field, expected one of metric, period, threshold".into(),
                ));
            }
        }
        let metric = match entry.get("metric") {
            None => {
                errors.push((at("metric"), "is required".into()));
                None
            }
            Some(v) => match v.as_str().and_then(|m| m.parse::<UsageMetric>().ok()) {
                Some(m) => Some(m),
                None => {
                    errors.push((at("metric"), format!("must be one of {metrics}")));
                    None
                }
            },
        };
        let period = match entry.get("period").map(|v| v.as_str()) {
            None => {
                errors.push((at("period"), "is required".into()));
                None
            }
            Some(Some("day")) => Some(AlertPeriod::Day),
            Some(Some("month")) => Some(AlertPeriod::Month),
            Some(_) => {
                errors.push((at("period"), "must be day or month".into()));
                None
            }
        };
        let threshold = match entry.get("threshold") {
            None => {
                errors.push((at("threshold"), "is required".into()));
                None
            }
            Some(v) => match v.as_i64().or_else(|| {
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                    .map(|f| f as i64)
            }) {
                Some(n) if USAGE_ALERT_THRESHOLD.contains(&n) => Some(n),
                _ => {
                    errors.push((
                        at("threshold"),
                        format!(
                            "must be an integer between {} and {}",
                            USAGE_ALERT_THRESHOLD.start(),
                            USAGE_ALERT_THRESHOLD.end()
                        ),
                    ));
                    None
                }
            },
        };
        if let (Some(metric), Some(period), Some(threshold)) = (metric, period, threshold) {
            let alert = UsageAlert {
                metric,
                period,
                threshold,
            };
            if !alerts.contains(&alert) {
                alerts.push(alert);
            }
        }
    }
    if errors.is_empty() {
        Ok(Some(alerts))
    } else {
        Err(errors)
    }
}
