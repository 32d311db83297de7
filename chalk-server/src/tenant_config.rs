//! A tenant's config as the server keeps it, and the JSON merge patch (RFC 7396) that
//! changes it.
//!
//! The wire form ([`TenantConfig`]) shows secrets masked; the stored form ([`StoredConfig`])
//! keeps them sealed with the server's [`Sealer`], so the database never holds plaintext
//! while webhook delivery can still open them. [`apply_patch`] validates the whole patch
//! and reports every bad field at once, so a CI script fixes its input in one go.

use std::fmt;
use std::ops::RangeInclusive;

use chalk_sdk::model::{
    AiProviderConfig, DuplicateParticipantPolicy, FieldError, ProviderConfig, TenantConfig,
    WebhookConfig,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::crypto::{CryptoError, Sealer};

const EMPTY_ROOM_TIMEOUT_MINUTES: RangeInclusive<i64> = 1..=1440;
const RECORDING_RETENTION_DAYS: RangeInclusive<i64> = 1..=3650;
const MAX_KEYWORDS: usize = 100;
const KEYWORD_CHARS: RangeInclusive<usize> = 1..=100;
const MAX_ORIGINS: usize = 20;
const SECRET_CHARS: RangeInclusive<usize> = 8..=512;
const PROVIDER_CHARS: RangeInclusive<usize> = 1..=64;
const MODEL_CHARS: RangeInclusive<usize> = 1..=128;
/// Far beyond any real webhook address; keeps a stored config small.
const MAX_URL_CHARS: usize = 2048;
/// RFC 5646 asks for at least 35; anything longer than this is not a real language tag.
const MAX_LANGUAGE_TAG_CHARS: usize = 64;

const CONFIG_FIELDS: &[&str] = &[
    "force_recording",
    "auto_start_recording",
    "allow_early_join",
    "empty_room_timeout_minutes",
    "recording_retention_days",
    "duplicate_participant_policy",
    "transcription_enabled",
    "transcription_language",
    "transcription_profanity_filter",
    "transcription_keywords",
    "allowed_origins",
    "post_meeting_webhook",
];
const WEBHOOK_FIELDS: &[&str] = &[
    "enabled",
    "url",
    "secret",
    "include_recording",
    "include_transcript",
    "include_summary",
    "include_action_items",
    "transcription",
    "ai",
];
const PROVIDER_FIELDS: &[&str] = &["provider", "api_key"];
const AI_PROVIDER_FIELDS: &[&str] = &["provider", "api_key", "model"];

const HTTPS_ONLY: &str = "must be an https:// URL (http:// only for localhost or 127.0.0.1)";
const NOT_AN_ORIGIN: &str =
    "must be an origin like https://app.example.com (scheme, host and optional port)";
const ORIGIN_SCHEME: &str = "must start with http:// or https://";
const ORIGIN_PATH: &str =
    "must not have a path, query or fragment (scheme, host and optional port only)";
const ORIGIN_USERINFO: &str = "must not contain a user name or password";
const ORIGIN_WILDCARD: &str =
    "wildcards are allowed only as the port of localhost (http://localhost:*)";

// ---------------------------------------------------------------------------------------
// The stored form
// ---------------------------------------------------------------------------------------

/// A secret encrypted at rest, with the last four characters kept for masking.
///
/// It never holds the plaintext; `Debug` shows only the masked form.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    /// [`Sealer::seal_str`] output.
    pub sealed: String,
    /// The last four characters of the plaintext (secrets are at least 8 long, so this
    /// reveals at most half).
    pub last4: String,
}

impl SealedSecret {
    /// Encrypts `plaintext` and remembers its last four characters.
    pub fn seal(sealer: &Sealer, plaintext: &str) -> Self {
        Self {
            sealed: sealer.seal_str(plaintext),
            last4: last_chars(plaintext, 4),
        }
    }

    /// The plaintext, for the one place that needs it (signing or calling out).
    pub fn open(&self, sealer: &Sealer) -> Result<String, CryptoError> {
        sealer.open_str(&self.sealed)
    }

    /// What responses show: `"****"` + the last four characters.
    pub fn masked(&self) -> String {
        format!("****{}", self.last4)
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SealedSecret").field(&self.masked()).finish()
    }
}

/// A tenant's config as kept in the database (JSON text), secrets sealed.
///
/// Missing fields deserialize to their defaults, so rows written before a field existed
/// still load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredConfig {
    pub force_recording: bool,
    pub auto_start_recording: bool,
    pub allow_early_join: bool,
    pub empty_room_timeout_minutes: i64,
    pub recording_retention_days: i64,
    pub duplicate_participant_policy: DuplicateParticipantPolicy,
    pub transcription_enabled: bool,
    pub transcription_language: String,
    pub transcription_profanity_filter: bool,
    pub transcription_keywords: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub post_meeting_webhook: Option<StoredWebhook>,
}

impl Default for StoredConfig {
    /// The contract defaults, taken from the SDK so there is one source of truth.
    fn default() -> Self {
        let wire = TenantConfig::default();
        Self {
            force_recording: wire.force_recording,
            auto_start_recording: wire.auto_start_recording,
            allow_early_join: wire.allow_early_join,
            empty_room_timeout_minutes: wire.empty_room_timeout_minutes,
            recording_retention_days: wire.recording_retention_days,
            duplicate_participant_policy: wire.duplicate_participant_policy,
            transcription_enabled: wire.transcription_enabled,
            transcription_language: wire.transcription_language,
            transcription_profanity_filter: wire.transcription_profanity_filter,
            transcription_keywords: wire.transcription_keywords,
            allowed_origins: wire.allowed_origins,
            post_meeting_webhook: None,
        }
    }
}

/// The post-meeting webhook as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredWebhook {
    pub enabled: bool,
    pub url: Option<String>,
    pub secret: Option<SealedSecret>,
    pub include_recording: bool,
    pub include_transcript: bool,
    pub include_summary: bool,
    pub include_action_items: bool,
    pub transcription: Option<StoredProvider>,
    pub ai: Option<StoredAiProvider>,
}

/// A transcription provider as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredProvider {
    pub provider: Option<String>,
    pub api_key: Option<SealedSecret>,
}

/// An AI provider as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredAiProvider {
    pub provider: Option<String>,
    pub api_key: Option<SealedSecret>,
    pub model: Option<String>,
}

impl StoredConfig {
    /// The response form: everything as stored, secrets masked.
    pub fn to_wire(&self) -> TenantConfig {
        TenantConfig {
            force_recording: self.force_recording,
            auto_start_recording: self.auto_start_recording,
            allow_early_join: self.allow_early_join,
            empty_room_timeout_minutes: self.empty_room_timeout_minutes,
            recording_retention_days: self.recording_retention_days,
            duplicate_participant_policy: self.duplicate_participant_policy,
            transcription_enabled: self.transcription_enabled,
            transcription_language: self.transcription_language.clone(),
            transcription_profanity_filter: self.transcription_profanity_filter,
            transcription_keywords: self.transcription_keywords.clone(),
            allowed_origins: self.allowed_origins.clone(),
            post_meeting_webhook: self
                .post_meeting_webhook
                .as_ref()
                .map(StoredWebhook::to_wire),
        }
    }
}

impl StoredWebhook {
    fn to_wire(&self) -> WebhookConfig {
        WebhookConfig {
            enabled: self.enabled,
            url: self.url.clone(),
            secret: self.secret.as_ref().map(SealedSecret::masked),
            include_recording: self.include_recording,
            include_transcript: self.include_transcript,
            include_summary: self.include_summary,
            include_action_items: self.include_action_items,
            transcription: self.transcription.as_ref().map(|t| ProviderConfig {
                provider: t.provider.clone(),
                api_key: t.api_key.as_ref().map(SealedSecret::masked),
            }),
            ai: self.ai.as_ref().map(|a| AiProviderConfig {
                provider: a.provider.clone(),
                api_key: a.api_key.as_ref().map(SealedSecret::masked),
                model: a.model.clone(),
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The merge patch
// ---------------------------------------------------------------------------------------

/// Applies a JSON merge patch (RFC 7396) to `current`: absent = unchanged, `null` = back
/// to the default (a removed object for `post_meeting_webhook`, `transcription`, `ai`),
/// nested objects merge. Secrets in the patch are sealed; secrets it leaves out keep their
/// sealed value.
///
/// Every field is checked before anything is returned; on any problem the result is the
/// full list of bad fields, each path prefixed by `field_prefix` (`""` for
/// `PATCH /config`, `"config."` when the config is embedded in another body).
pub fn apply_patch(
    current: &StoredConfig,
    patch: &Value,
    field_prefix: &str,
    sealer: &Sealer,
) -> Result<StoredConfig, Vec<FieldError>> {
    let Some(fields) = patch.as_object() else {
        return Err(vec![FieldError::new(
            whole_patch_field(field_prefix),
            "must be a JSON object",
        )]);
    };
    let mut patcher = Patcher {
        prefix: field_prefix,
        sealer,
        errors: Vec::new(),
    };
    // Working on a copy is safe: on any error the copy is dropped and only errors return.
    let mut next = current.clone();
    patcher.config_fields(&mut next, fields);
    if patcher.errors.is_empty() {
        Ok(next)
    } else {
        Err(patcher.errors)
    }
}

/// The field to blame when the patch itself is not an object: `config` for an embedded
/// config, `body` for a whole request body.
fn whole_patch_field(prefix: &str) -> String {
    match prefix.trim_end_matches('.') {
        "" => "body".to_owned(),
        name => name.to_owned(),
    }
}

/// Walks a patch, applying what is valid and collecting what is not.
struct Patcher<'a> {
    prefix: &'a str,
    sealer: &'a Sealer,
    errors: Vec<FieldError>,
}

/// Parses one patch value; on failure it has pushed its errors and returns `None`.
type Parse<'p, 'a, T> = &'p dyn Fn(&mut Patcher<'a>, &str, &Value) -> Option<T>;

impl<'a> Patcher<'a> {
    fn fail(&mut self, path: &str, message: impl Into<String>) {
        self.errors
            .push(FieldError::new(format!("{}{path}", self.prefix), message));
    }

    fn unknown(&mut self, path: &str, known: &[&str]) {
        self.fail(
            path,
            format!("unknown field; expected one of: {}", known.join(", ")),
        );
    }

    /// Runs `check`, keeping its result only if it reported no error.
    fn checked<T>(&mut self, check: impl FnOnce(&mut Self) -> T) -> Option<T> {
        let before = self.errors.len();
        let value = check(self);
        (self.errors.len() == before).then_some(value)
    }

    /// `null` resets `slot` to `default`; anything else is parsed and, if valid, stored.
    fn set<T>(
        &mut self,
        path: &str,
        value: &Value,
        slot: &mut T,
        default: T,
        parse: Parse<'_, 'a, T>,
    ) {
        if value.is_null() {
            *slot = default;
        } else if let Some(parsed) = parse(self, path, value) {
            *slot = parsed;
        }
    }

    /// [`Patcher::set`] for optional fields, whose default is "not set".
    fn set_optional<T>(
        &mut self,
        path: &str,
        value: &Value,
        slot: &mut Option<T>,
        parse: Parse<'_, 'a, T>,
    ) {
        self.set(path, value, slot, None, &|p, path, value| {
            parse(p, path, value).map(Some)
        });
    }

    /// A nested object: `null` removes it, an object merges into it (starting from its
    /// defaults when it did not exist yet).
    fn nested<T: Default>(
        &mut self,
        path: &str,
        value: &Value,
        slot: &mut Option<T>,
        merge: impl FnOnce(&mut Self, &str, &mut T, &Map<String, Value>),
    ) {
        match value {
            Value::Null => *slot = None,
            Value::Object(fields) => merge(self, path, slot.get_or_insert_with(T::default), fields),
            _ => self.fail(path, "must be an object or null"),
        }
    }

    fn config_fields(&mut self, config: &mut StoredConfig, fields: &Map<String, Value>) {
        let defaults = StoredConfig::default();
        for (key, value) in fields {
            let path = key.as_str();
            match path {
                "force_recording" => self.set(
                    path,
                    value,
                    &mut config.force_recording,
                    defaults.force_recording,
                    &Self::boolean,
                ),
                "auto_start_recording" => self.set(
                    path,
                    value,
                    &mut config.auto_start_recording,
                    defaults.auto_start_recording,
                    &Self::boolean,
                ),
                "allow_early_join" => self.set(
                    path,
                    value,
                    &mut config.allow_early_join,
                    defaults.allow_early_join,
                    &Self::boolean,
                ),
                "empty_room_timeout_minutes" => self.set(
                    path,
                    value,
                    &mut config.empty_room_timeout_minutes,
                    defaults.empty_room_timeout_minutes,
                    &|p, path, value| p.integer(path, value, EMPTY_ROOM_TIMEOUT_MINUTES),
                ),
                "recording_retention_days" => self.set(
                    path,
                    value,
                    &mut config.recording_retention_days,
                    defaults.recording_retention_days,
                    &|p, path, value| p.integer(path, value, RECORDING_RETENTION_DAYS),
                ),
                "duplicate_participant_policy" => self.set(
                    path,
                    value,
                    &mut config.duplicate_participant_policy,
                    defaults.duplicate_participant_policy,
                    &Self::policy,
                ),
                "transcription_enabled" => self.set(
                    path,
                    value,
                    &mut config.transcription_enabled,
                    defaults.transcription_enabled,
                    &Self::boolean,
                ),
                "transcription_language" => self.set(
                    path,
                    value,
                    &mut config.transcription_language,
                    defaults.transcription_language.clone(),
                    &Self::language,
                ),
                "transcription_profanity_filter" => self.set(
                    path,
                    value,
                    &mut config.transcription_profanity_filter,
                    defaults.transcription_profanity_filter,
                    &Self::boolean,
                ),
                "transcription_keywords" => self.set(
                    path,
                    value,
                    &mut config.transcription_keywords,
                    Vec::new(),
                    &Self::keywords,
                ),
                "allowed_origins" => self.set(
                    path,
                    value,
                    &mut config.allowed_origins,
                    Vec::new(),
                    &Self::origins,
                ),
                "post_meeting_webhook" => self.nested(
                    path,
                    value,
                    &mut config.post_meeting_webhook,
                    Self::webhook_fields,
                ),
                _ => self.unknown(path, CONFIG_FIELDS),
            }
        }
    }

    fn webhook_fields(
        &mut self,
        path: &str,
        hook: &mut StoredWebhook,
        fields: &Map<String, Value>,
    ) {
        let mut url_rejected = false;
        for (key, value) in fields {
            let field = format!("{path}.{key}");
            let field = field.as_str();
            match key.as_str() {
                "enabled" => self.set(field, value, &mut hook.enabled, false, &Self::boolean),
                "url" => {
                    url_rejected = self
                        .checked(|p| {
                            p.set_optional(field, value, &mut hook.url, &Self::webhook_url)
                        })
                        .is_none();
                }
                "secret" => self.set_optional(field, value, &mut hook.secret, &Self::secret),
                "include_recording" => self.set(
                    field,
                    value,
                    &mut hook.include_recording,
                    false,
                    &Self::boolean,
                ),
                "include_transcript" => self.set(
                    field,
                    value,
                    &mut hook.include_transcript,
                    false,
                    &Self::boolean,
                ),
                "include_summary" => self.set(
                    field,
                    value,
                    &mut hook.include_summary,
                    false,
                    &Self::boolean,
                ),
                "include_action_items" => self.set(
                    field,
                    value,
                    &mut hook.include_action_items,
                    false,
                    &Self::boolean,
                ),
                "transcription" => {
                    self.nested(field, value, &mut hook.transcription, Self::provider_fields)
                }
                "ai" => self.nested(field, value, &mut hook.ai, Self::ai_provider_fields),
                _ => self.unknown(field, WEBHOOK_FIELDS),
            }
        }
        // An enabled webhook with nowhere to go would silently drop every meeting's data.
        // Checked on the merged result, so `{"enabled": true}` alone is fine when a url is
        // already stored; skipped when the patch's own url was already reported as bad.
        if hook.enabled && hook.url.is_none() && !url_rejected {
            self.fail(&format!("{path}.url"), "required when enabled is true");
        }
    }

    fn provider_fields(
        &mut self,
        path: &str,
        provider: &mut StoredProvider,
        fields: &Map<String, Value>,
    ) {
        for (key, value) in fields {
            let field = format!("{path}.{key}");
            let field = field.as_str();
            match key.as_str() {
                "provider" => {
                    self.set_optional(field, value, &mut provider.provider, &|p, f, v| {
                        p.text(f, v, PROVIDER_CHARS)
                    })
                }
                "api_key" => self.set_optional(field, value, &mut provider.api_key, &Self::secret),
                _ => self.unknown(field, PROVIDER_FIELDS),
            }
        }
    }

    fn ai_provider_fields(
        &mut self,
        path: &str,
        ai: &mut StoredAiProvider,
        fields: &Map<String, Value>,
    ) {
        for (key, value) in fields {
            let field = format!("{path}.{key}");
            let field = field.as_str();
            match key.as_str() {
                "provider" => self.set_optional(field, value, &mut ai.provider, &|p, f, v| {
                    p.text(f, v, PROVIDER_CHARS)
                }),
                "api_key" => self.set_optional(field, value, &mut ai.api_key, &Self::secret),
                "model" => self.set_optional(field, value, &mut ai.model, &|p, f, v| {
                    p.text(f, v, MODEL_CHARS)
                }),
                _ => self.unknown(field, AI_PROVIDER_FIELDS),
            }
        }
    }

    // --- value parsers: each reports its own errors and returns `None` on failure ---

    fn boolean(&mut self, path: &str, value: &Value) -> Option<bool> {
        let parsed = value.as_bool();
        if parsed.is_none() {
            self.fail(path, "must be true or false");
        }
        parsed
    }

    fn string<'v>(&mut self, path: &str, value: &'v Value) -> Option<&'v str> {
        let parsed = value.as_str();
        if parsed.is_none() {
            self.fail(path, "must be a string");
        }
        parsed
    }

    fn integer(&mut self, path: &str, value: &Value, range: RangeInclusive<i64>) -> Option<i64> {
        let Value::Number(number) = value else {
            self.fail(path, "must be an integer");
            return None;
        };
        match number.as_i64() {
            Some(n) if range.contains(&n) => Some(n),
            // A float such as 15.5; a whole number too large for i64 is just out of range.
            None if !number.is_u64() => {
                self.fail(path, "must be an integer");
                None
            }
            _ => {
                self.fail(
                    path,
                    format!("must be between {} and {}", range.start(), range.end()),
                );
                None
            }
        }
    }

    /// A string of `chars` characters after trimming; stored trimmed.
    fn text(&mut self, path: &str, value: &Value, chars: RangeInclusive<usize>) -> Option<String> {
        let trimmed = self.string(path, value)?.trim();
        if chars.contains(&trimmed.chars().count()) {
            Some(trimmed.to_owned())
        } else {
            self.fail(
                path,
                format!(
                    "must be {} to {} characters (after trimming spaces)",
                    chars.start(),
                    chars.end()
                ),
            );
            None
        }
    }

    /// Secrets are used byte for byte (to sign, to authenticate), so they are not trimmed.
    fn secret(&mut self, path: &str, value: &Value) -> Option<SealedSecret> {
        let plaintext = self.string(path, value)?;
        if SECRET_CHARS.contains(&plaintext.chars().count()) {
            Some(SealedSecret::seal(self.sealer, plaintext))
        } else {
            self.fail(
                path,
                format!(
                    "must be {} to {} characters",
                    SECRET_CHARS.start(),
                    SECRET_CHARS.end()
                ),
            );
            None
        }
    }

    fn policy(&mut self, path: &str, value: &Value) -> Option<DuplicateParticipantPolicy> {
        match self.string(path, value)? {
            "reject" => Some(DuplicateParticipantPolicy::Reject),
            "disconnect_existing" => Some(DuplicateParticipantPolicy::DisconnectExisting),
            _ => {
                self.fail(path, "must be one of: reject, disconnect_existing");
                None
            }
        }
    }

    fn language(&mut self, path: &str, value: &Value) -> Option<String> {
        let tag = self.string(path, value)?;
        let normalized = normalize_language_tag(tag);
        if normalized.is_none() {
            self.fail(
                path,
                "must be a BCP 47 language tag such as en, en-US, es-ES or zh-Hans-CN",
            );
        }
        normalized
    }

    /// The strings of an array, with their index; non-strings are reported and skipped
    /// so that the other entries are still checked.
    fn string_list<'v>(&mut self, path: &str, value: &'v Value) -> Vec<(usize, &'v str)> {
        let Some(items) = value.as_array() else {
            self.fail(path, "must be an array of strings");
            return Vec::new();
        };
        let mut strings = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(s) => strings.push((index, s)),
                None => self.fail(&format!("{path}[{index}]"), "must be a string"),
            }
        }
        strings
    }

    fn keywords(&mut self, path: &str, value: &Value) -> Option<Vec<String>> {
        self.checked(|p| {
            if value
                .as_array()
                .is_some_and(|items| items.len() > MAX_KEYWORDS)
            {
                p.fail(path, format!("must have at most {MAX_KEYWORDS} keywords"));
            }
            let mut keywords = Vec::new();
            for (index, raw) in p.string_list(path, value) {
                let item = Value::String(raw.to_owned());
                if let Some(keyword) = p.text(&format!("{path}[{index}]"), &item, KEYWORD_CHARS) {
                    keywords.push(keyword);
                }
            }
            keywords
        })
    }

    fn origins(&mut self, path: &str, value: &Value) -> Option<Vec<String>> {
        self.checked(|p| {
            let mut origins: Vec<String> = Vec::new();
            for (index, raw) in p.string_list(path, value) {
                match normalize_origin(raw) {
                    Ok(origin) if origins.contains(&origin) => {}
                    Ok(origin) => origins.push(origin),
                    Err(message) => p.fail(&format!("{path}[{index}]"), message),
                }
            }
            // Counted after removing duplicates: the limit is on distinct origins.
            if origins.len() > MAX_ORIGINS {
                p.fail(
                    path,
                    format!("must have at most {MAX_ORIGINS} distinct origins"),
                );
            }
            origins
        })
    }

    fn webhook_url(&mut self, path: &str, value: &Value) -> Option<String> {
        let url = self.string(path, value)?.trim();
        match check_webhook_url(url) {
            Ok(()) => Some(url.to_owned()),
            Err(message) => {
                self.fail(path, message);
                None
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Pure checks
// ---------------------------------------------------------------------------------------

/// The last `n` characters (not bytes) of `s`.
fn last_chars(s: &str, n: usize) -> String {
    let count = s.chars().count();
    s.chars().skip(count.saturating_sub(n)).collect()
}

/// Webhooks carry meeting data and a signature, so they go over TLS; plain http is only
/// for a receiver on the same machine during development.
fn check_webhook_url(raw: &str) -> Result<(), String> {
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(format!("must be at most {MAX_URL_CHARS} characters"));
    }
    let url = Url::parse(raw)
        .map_err(|_| "must be a URL like https://example.com/webhooks/chalk".to_owned())?;
    let Some(host) = url.host_str().filter(|host| !host.is_empty()) else {
        return Err(
            "must be a URL with a host, like https://example.com/webhooks/chalk".to_owned(),
        );
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if host == "localhost" || host == "127.0.0.1" => Ok(()),
        _ => Err(HTTPS_ONLY.to_owned()),
    }
}

/// An `http(s)://host[:port]` origin, normalized as browsers send it in `Origin`: scheme
/// and host lowercase, default port dropped, so that equal origins compare equal.
fn normalize_origin(raw: &str) -> Result<String, &'static str> {
    let origin = raw.trim();
    // A lone trailing slash is what copying from an address bar gives; same origin.
    let origin = origin.strip_suffix('/').unwrap_or(origin);
    if origin.contains('*') {
        return localhost_port_wildcard(origin).ok_or(ORIGIN_WILDCARD);
    }
    let (scheme, authority) = origin.split_once("://").ok_or(NOT_AN_ORIGIN)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(ORIGIN_SCHEME);
    }
    if authority.contains(['/', '?', '#', '\\']) {
        return Err(ORIGIN_PATH);
    }
    if authority.contains('@') {
        return Err(ORIGIN_USERINFO);
    }
    if authority.is_empty() || authority.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(NOT_AN_ORIGIN);
    }
    let url = Url::parse(&format!("{scheme}://{authority}")).map_err(|_| NOT_AN_ORIGIN)?;
    let host = url
        .host_str()
        .filter(|host| !host.is_empty())
        .ok_or(NOT_AN_ORIGIN)?;
    Ok(match url.port() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

/// Whether a request's `Origin` header value is one of `allowed` (a tenant's normalized
/// `allowed_origins`). An empty list allows every origin. `http://localhost:*` allows
/// `http://localhost` on any port (likewise for https). A value that is not an origin
/// (`null`, garbage, a wildcard) is allowed only by an empty list.
pub fn origin_allowed(allowed: &[String], origin: &str) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Ok(origin) = normalize_origin(origin) else {
        return false;
    };
    if origin.contains('*') {
        return false;
    }
    allowed.iter().any(|entry| match entry.strip_suffix(":*") {
        Some(base) => {
            origin == base
                || origin
                    .strip_prefix(base)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .is_some_and(|port| {
                        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
                    })
        }
        None => *entry == origin,
    })
}

#[cfg(test)]
mod origin_tests {
    use super::origin_allowed;

    #[test]
    fn origins_match_exactly_or_by_the_localhost_port_wildcard() {
        let allowed = vec![
            "https://app.acme.edu".to_owned(),
            "http://localhost:*".to_owned(),
        ];
        assert!(origin_allowed(&[], "https://anything.example"));
        assert!(origin_allowed(&allowed, "https://app.acme.edu"));
        assert!(origin_allowed(&allowed, "HTTPS://App.Acme.edu"));
        assert!(origin_allowed(&allowed, "https://app.acme.edu:443"));
        assert!(origin_allowed(&allowed, "http://localhost:3000"));
        assert!(origin_allowed(&allowed, "http://localhost"));
        assert!(!origin_allowed(&allowed, "https://localhost:3000"));
        assert!(!origin_allowed(
            &allowed,
            "http://localhost.evil.example:3000"
        ));
        assert!(!origin_allowed(&allowed, "https://evil.example"));
        assert!(!origin_allowed(
            &allowed,
            "https://app.acme.edu.evil.example"
        ));
        assert!(!origin_allowed(&allowed, "null"));
        assert!(!origin_allowed(&allowed, "http://localhost:*"));
    }
}

/// `http://localhost:*` (or https): the one wildcard, for local development servers
/// whose port changes from run to run.
fn localhost_port_wildcard(origin: &str) -> Option<String> {
    let lower = origin.to_ascii_lowercase();
    matches!(lower.as_str(), "http://localhost:*" | "https://localhost:*").then_some(lower)
}

/// A BCP 47 tag in canonical case (`zh-hans-cn` → `zh-Hans-CN`), or `None`.
///
/// Grammar: language, then optional script (4 letters), region (2 letters or 3 digits)
/// and variants (5–8 alphanumerics, or a digit and 3 alphanumerics). The language subtag
/// must be 2–3 letters: RFC 5646 reserves 4-letter ones and no 5–8 letter one has ever
/// been registered, and accepting them would let `english` through.
fn normalize_language_tag(tag: &str) -> Option<String> {
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

fn is_alpha(s: &str, len: RangeInclusive<usize>) -> bool {
    len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
}

fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_variant(s: &str) -> bool {
    let alphanumeric = s.bytes().all(|b| b.is_ascii_alphanumeric());
    match s.len() {
        5..=8 => alphanumeric,
        4 => alphanumeric && s.as_bytes()[0].is_ascii_digit(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sealer() -> Sealer {
        Sealer::from_base64(&Sealer::generate_key_base64()).unwrap()
    }

    fn patch(current: &StoredConfig, body: Value) -> Result<StoredConfig, Vec<FieldError>> {
        apply_patch(current, &body, "", &sealer())
    }

    fn ok(body: Value) -> StoredConfig {
        patch(&StoredConfig::default(), body).expect("patch should be accepted")
    }

    fn errors(body: Value) -> Vec<FieldError> {
        patch(&StoredConfig::default(), body).expect_err("patch should be rejected")
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        fields.sort_unstable();
        fields
    }

    /// The single error of a rejected patch, asserting it names `field`.
    fn only_error(body: Value, field: &str) -> FieldError {
        let errors = errors(body);
        assert_eq!(fields(&errors), [field], "{errors:?}");
        errors.into_iter().next().unwrap()
    }

    /// The full example of the seed's "Update Tenant Config" section.
    fn seed_patch() -> Value {
        json!({
            "force_recording": true,
            "auto_start_recording": true,
            "allow_early_join": false,
            "empty_room_timeout_minutes": 15,
            "recording_retention_days": 90,
            "duplicate_participant_policy": "disconnect_existing",
            "transcription_enabled": true,
            "transcription_language": "es-ES",
            "transcription_profanity_filter": true,
            "transcription_keywords": ["chemistry", "equation", "formula"],
            "allowed_origins": ["https://app.acme.edu", "https://learn.acme.edu"],
            "post_meeting_webhook": {
                "enabled": true,
                "url": "https://api.acme.edu/webhooks/chalk",
                "secret": "whsec_xxxxxxxxx",
                "include_recording": true,
                "include_transcript": true,
                "include_summary": true,
                "include_action_items": true,
                "transcription": {"provider": "deepgram", "api_key": "dg_xxxxxxxxx"},
                "ai": {"provider": "openai", "api_key": "sk-xxxxxxxxx", "model": "gpt-4o"}
            }
        })
    }

    const SEED_SECRETS: [&str; 3] = ["whsec_xxxxxxxxx", "dg_xxxxxxxxx", "sk-xxxxxxxxx"];

    #[test]
    fn defaults_are_the_contract_defaults() {
        let stored = StoredConfig::default();
        assert_eq!(stored.to_wire(), TenantConfig::default());
        assert!(stored.allow_early_join && stored.transcription_enabled);
        assert_eq!(stored.empty_room_timeout_minutes, 30);
        assert_eq!(stored.transcription_language, "en-US");
        // An empty stored row (or an old one missing fields) loads as the defaults.
        assert_eq!(serde_json::from_str::<StoredConfig>("{}").unwrap(), stored);
    }

    #[test]
    fn seed_example_is_accepted_masked_and_round_trips() {
        let sealer = sealer();
        let stored = apply_patch(&StoredConfig::default(), &seed_patch(), "", &sealer).unwrap();
        let wire = serde_json::to_value(stored.to_wire()).unwrap();
        let mut expected = seed_patch();
        let hook = &mut expected["post_meeting_webhook"];
        hook["secret"] = json!("****xxxx");
        hook["transcription"]["api_key"] = json!("****xxxx");
        hook["ai"]["api_key"] = json!("****xxxx");
        assert_eq!(wire, expected);

        // Through the database's JSON text and back, nothing changes and secrets open.
        let text = serde_json::to_string(&stored).unwrap();
        let loaded: StoredConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(loaded, stored);
        let hook = loaded.post_meeting_webhook.clone().unwrap();
        assert_eq!(
            hook.secret.unwrap().open(&sealer).unwrap(),
            "whsec_xxxxxxxxx"
        );
        let transcription_key = hook.transcription.unwrap().api_key.unwrap();
        assert_eq!(transcription_key.open(&sealer).unwrap(), "dg_xxxxxxxxx");
        assert_eq!(
            hook.ai.unwrap().api_key.unwrap().open(&sealer).unwrap(),
            "sk-xxxxxxxxx"
        );

        // Applying the same patch again gives the same visible config.
        let again = apply_patch(&loaded, &seed_patch(), "", &sealer).unwrap();
        assert_eq!(again.to_wire(), stored.to_wire());
    }

    #[test]
    fn secrets_never_leave_in_plaintext() {
        let stored = ok(seed_patch());
        let outputs = [
            serde_json::to_string(&stored.to_wire()).unwrap(),
            serde_json::to_string(&stored).unwrap(),
            format!("{stored:?}"),
            format!("{:?}", stored.to_wire()),
        ];
        for output in &outputs {
            for secret in SEED_SECRETS {
                assert!(!output.contains(secret), "{secret} leaked in {output}");
            }
        }
    }

    #[test]
    fn masking_is_four_stars_and_the_last_four_characters() {
        let stored = ok(json!({"post_meeting_webhook": {
            "secret": "abcdefgh1234",
            "transcription": {"api_key": "ключ-ключ-ёжик"},
            "ai": {"api_key": "12345678"}
        }}));
        let hook = stored.to_wire().post_meeting_webhook.unwrap();
        assert_eq!(hook.secret.as_deref(), Some("****1234"));
        assert_eq!(
            hook.transcription.unwrap().api_key.as_deref(),
            Some("****ёжик")
        );
        assert_eq!(hook.ai.unwrap().api_key.as_deref(), Some("****5678"));
    }

    #[test]
    fn the_patch_must_be_an_object() {
        let sealer = sealer();
        let current = StoredConfig::default();
        for bad in [json!([]), json!("x"), json!(1), json!(null)] {
            let body = apply_patch(&current, &bad, "", &sealer).unwrap_err();
            assert_eq!(body, [FieldError::new("body", "must be a JSON object")]);
            let embedded = apply_patch(&current, &bad, "config.", &sealer).unwrap_err();
            assert_eq!(fields(&embedded), ["config"]);
        }
    }

    #[test]
    fn the_empty_patch_changes_nothing() {
        let current = ok(seed_patch());
        assert_eq!(patch(&current, json!({})).unwrap(), current);
    }

    #[test]
    fn unknown_fields_are_named_at_every_level() {
        let errors = errors(json!({
            "force_recordings": true,
            "post_meeting_webhook": {
                "foo": 1,
                "transcription": {"model": "x"},
                "ai": {"temperature": 0.2}
            }
        }));
        assert_eq!(
            fields(&errors),
            [
                "force_recordings",
                "post_meeting_webhook.ai.temperature",
                "post_meeting_webhook.foo",
                "post_meeting_webhook.transcription.model",
            ]
        );
        assert!(
            errors
                .iter()
                .all(|e| e.message.starts_with("unknown field"))
        );
    }

    #[test]
    fn every_wrong_type_is_reported_at_once() {
        let errors = errors(json!({
            "force_recording": "yes",
            "auto_start_recording": 1,
            "allow_early_join": "true",
            "empty_room_timeout_minutes": "30",
            "recording_retention_days": 30.5,
            "duplicate_participant_policy": 1,
            "transcription_enabled": [],
            "transcription_language": 5,
            "transcription_profanity_filter": {},
            "transcription_keywords": "chemistry",
            "allowed_origins": "https://app.acme.edu",
            "post_meeting_webhook": {
                "enabled": "on",
                "url": 42,
                "secret": 12345678,
                "include_recording": 0,
                "include_transcript": "no",
                "include_summary": [],
                "include_action_items": {},
                "transcription": {"provider": 1, "api_key": true},
                "ai": {"provider": [], "api_key": {}, "model": 4}
            }
        }));
        let mut expected = vec![
            "force_recording",
            "auto_start_recording",
            "allow_early_join",
            "empty_room_timeout_minutes",
            "recording_retention_days",
            "duplicate_participant_policy",
            "transcription_enabled",
            "transcription_language",
            "transcription_profanity_filter",
            "transcription_keywords",
            "allowed_origins",
            "post_meeting_webhook.enabled",
            "post_meeting_webhook.url",
            "post_meeting_webhook.secret",
            "post_meeting_webhook.include_recording",
            "post_meeting_webhook.include_transcript",
            "post_meeting_webhook.include_summary",
            "post_meeting_webhook.include_action_items",
            "post_meeting_webhook.transcription.provider",
            "post_meeting_webhook.transcription.api_key",
            "post_meeting_webhook.ai.provider",
            "post_meeting_webhook.ai.api_key",
            "post_meeting_webhook.ai.model",
        ];
        expected.sort_unstable();
        assert_eq!(fields(&errors), expected);
    }

    #[test]
    fn nested_objects_must_be_objects_or_null() {
        for field in ["transcription", "ai"] {
            let error = only_error(
                json!({"post_meeting_webhook": {field: "deepgram"}}),
                &format!("post_meeting_webhook.{field}"),
            );
            assert_eq!(error.message, "must be an object or null");
        }
        only_error(
            json!({"post_meeting_webhook": true}),
            "post_meeting_webhook",
        );
    }

    #[test]
    fn integers_are_range_checked() {
        let cases = [
            ("empty_room_timeout_minutes", 1, 1440),
            ("recording_retention_days", 1, 3650),
        ];
        for (field, lo, hi) in cases {
            let at_lo = ok(json!({field: lo}));
            let at_hi = ok(json!({field: hi}));
            let read = |c: &StoredConfig| match field {
                "empty_room_timeout_minutes" => c.empty_room_timeout_minutes,
                _ => c.recording_retention_days,
            };
            assert_eq!((read(&at_lo), read(&at_hi)), (lo, hi));
            for bad in [json!(lo - 1), json!(hi + 1), json!(-5), json!(u64::MAX)] {
                let error = only_error(json!({field: bad}), field);
                assert_eq!(error.message, format!("must be between {lo} and {hi}"));
            }
            let error = only_error(json!({field: 15.5}), field);
            assert_eq!(error.message, "must be an integer");
        }
    }

    #[test]
    fn duplicate_participant_policy_values() {
        assert_eq!(
            ok(json!({"duplicate_participant_policy": "disconnect_existing"}))
                .duplicate_participant_policy,
            DuplicateParticipantPolicy::DisconnectExisting
        );
        assert_eq!(
            ok(json!({"duplicate_participant_policy": "reject"})).duplicate_participant_policy,
            DuplicateParticipantPolicy::Reject
        );
        for bad in ["Reject", "kick", ""] {
            only_error(
                json!({"duplicate_participant_policy": bad}),
                "duplicate_participant_policy",
            );
        }
    }

    #[test]
    fn language_tags() {
        let accepted = [
            ("en", "en"),
            ("en-US", "en-US"),
            ("es-ES", "es-ES"),
            ("zh-Hans-CN", "zh-Hans-CN"),
            ("ZH-hans-cn", "zh-Hans-CN"),
            ("en-us", "en-US"),
            ("es-419", "es-419"),
            ("sl-rozaj", "sl-rozaj"),
            ("de-CH-1901", "de-CH-1901"),
            ("fil", "fil"),
        ];
        for (input, canonical) in accepted {
            assert_eq!(
                ok(json!({"transcription_language": input})).transcription_language,
                canonical
            );
        }
        let rejected = [
            "english", "en_US", "e", "", "en-", "-US", "en--US", "en-U", "en-USA1", "e1",
            "en-US-x", " en",
        ];
        for input in rejected {
            only_error(
                json!({"transcription_language": input}),
                "transcription_language",
            );
        }
    }

    #[test]
    fn keywords_are_limited_and_trimmed() {
        assert_eq!(
            ok(json!({"transcription_keywords": [" chemistry ", "x"]})).transcription_keywords,
            ["chemistry", "x"]
        );
        let hundred: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
        assert_eq!(
            ok(json!({"transcription_keywords": hundred}))
                .transcription_keywords
                .len(),
            100
        );

        let too_many: Vec<String> = (0..101).map(|i| format!("k{i}")).collect();
        only_error(
            json!({"transcription_keywords": too_many}),
            "transcription_keywords",
        );

        let errors = errors(json!({"transcription_keywords": [
            "fine", "", "   ", "x".repeat(101), 7, "y".repeat(100)
        ]}));
        assert_eq!(
            fields(&errors),
            [
                "transcription_keywords[1]",
                "transcription_keywords[2]",
                "transcription_keywords[3]",
                "transcription_keywords[4]",
            ]
        );
    }

    #[test]
    fn origins_are_normalized_and_deduplicated() {
        let stored = ok(json!({"allowed_origins": [
            "https://App.Acme.EDU",
            "HTTPS://app.acme.edu/",
            "https://app.acme.edu:443",
            "http://localhost:3000",
            "https://learn.acme.edu:8443",
            "http://LOCALHOST:3000",
            "http://[::1]:8080",
        ]}));
        assert_eq!(
            stored.allowed_origins,
            [
                "https://app.acme.edu",
                "http://localhost:3000",
                "https://learn.acme.edu:8443",
                "http://[::1]:8080",
            ]
        );
    }

    #[test]
    fn the_localhost_port_wildcard_is_the_only_wildcard() {
        let stored = ok(json!({"allowed_origins": [
            "http://localhost:*", "https://LOCALHOST:*/", "http://localhost:*"
        ]}));
        assert_eq!(
            stored.allowed_origins,
            ["http://localhost:*", "https://localhost:*"]
        );

        for bad in [
            "https://*.acme.edu",
            "*",
            "http://*",
            "http://*:3000",
            "https://app.acme.edu:*",
            "http://127.0.0.1:*",
        ] {
            let error = only_error(json!({"allowed_origins": [bad]}), "allowed_origins[0]");
            assert_eq!(error.message, ORIGIN_WILDCARD, "{bad}");
        }
    }

    #[test]
    fn origins_reject_anything_but_scheme_host_port() {
        let bad = [
            ("https://app.acme.edu/path", ORIGIN_PATH),
            ("https://app.acme.edu//", ORIGIN_PATH),
            ("https://app.acme.edu?x=1", ORIGIN_PATH),
            ("https://app.acme.edu#top", ORIGIN_PATH),
            ("https://user:pw@app.acme.edu", ORIGIN_USERINFO),
            ("ftp://app.acme.edu", ORIGIN_SCHEME),
            ("app.acme.edu", NOT_AN_ORIGIN),
            ("https://", NOT_AN_ORIGIN),
            ("https://app acme.edu", NOT_AN_ORIGIN),
            ("https://app.acme.edu:99999", NOT_AN_ORIGIN),
            ("", NOT_AN_ORIGIN),
        ];
        let list: Vec<&str> = bad.iter().map(|(origin, _)| *origin).collect();
        let errors = errors(json!({"allowed_origins": list}));
        assert_eq!(errors.len(), bad.len(), "{errors:?}");
        for (index, (origin, message)) in bad.iter().enumerate() {
            let error = &errors[index];
            assert_eq!(error.field, format!("allowed_origins[{index}]"), "{origin}");
            assert_eq!(error.message, *message, "{origin}");
        }
    }

    #[test]
    fn at_most_twenty_distinct_origins() {
        let twenty: Vec<String> = (0..20).map(|i| format!("https://a{i}.acme.edu")).collect();
        let mut with_duplicates = twenty.clone();
        with_duplicates.extend(twenty.iter().map(|o| o.to_uppercase()));
        assert_eq!(
            ok(json!({"allowed_origins": with_duplicates})).allowed_origins,
            twenty
        );

        let mut twenty_one = twenty;
        twenty_one.push("https://one-more.acme.edu".to_owned());
        only_error(json!({"allowed_origins": twenty_one}), "allowed_origins");
    }

    #[test]
    fn webhook_url_rules() {
        for url in [
            "https://api.acme.edu/webhooks/chalk",
            "https://api.acme.edu:8443/hook?team=1",
            "http://localhost:9000/hook",
            "http://127.0.0.1/hook",
        ] {
            let stored = ok(json!({"post_meeting_webhook": {"url": url}}));
            assert_eq!(
                stored.post_meeting_webhook.unwrap().url.as_deref(),
                Some(url)
            );
        }
        for url in [
            "http://api.acme.edu/hook",
            "http://10.0.0.1/hook",
            "ftp://api.acme.edu/hook",
        ] {
            let error = only_error(
                json!({"post_meeting_webhook": {"url": url}}),
                "post_meeting_webhook.url",
            );
            assert_eq!(error.message, HTTPS_ONLY, "{url}");
        }
        for url in [
            "api.acme.edu/hook",
            "not a url",
            "",
            "https://",
            "mailto:ops@acme.edu",
        ] {
            only_error(
                json!({"post_meeting_webhook": {"url": url}}),
                "post_meeting_webhook.url",
            );
        }
        let long = format!("https://acme.edu/{}", "a".repeat(MAX_URL_CHARS));
        only_error(
            json!({"post_meeting_webhook": {"url": long}}),
            "post_meeting_webhook.url",
        );
    }

    #[test]
    fn enabled_requires_a_url() {
        let error = only_error(
            json!({"post_meeting_webhook": {"enabled": true}}),
            "post_meeting_webhook.url",
        );
        assert_eq!(error.message, "required when enabled is true");

        // A bad url is reported once, for being bad.
        let error = only_error(
            json!({"post_meeting_webhook": {"enabled": true, "url": "http://acme.edu"}}),
            "post_meeting_webhook.url",
        );
        assert_eq!(error.message, HTTPS_ONLY);

        // A url already stored satisfies it; removing the url of an enabled hook does not.
        let current = ok(json!({"post_meeting_webhook": {"url": "https://acme.edu/hook"}}));
        let enabled = patch(&current, json!({"post_meeting_webhook": {"enabled": true}})).unwrap();
        assert!(enabled.post_meeting_webhook.as_ref().unwrap().enabled);
        let errors = patch(&enabled, json!({"post_meeting_webhook": {"url": null}})).unwrap_err();
        assert_eq!(fields(&errors), ["post_meeting_webhook.url"]);
    }

    #[test]
    fn secret_and_provider_lengths() {
        let hook = |body: Value| json!({"post_meeting_webhook": body});
        ok(hook(json!({
            "secret": "x".repeat(8),
            "transcription": {"provider": "p", "api_key": "k".repeat(512)},
            "ai": {"provider": "p".repeat(64), "api_key": "12345678", "model": "m".repeat(128)}
        })));
        let errors = errors(hook(json!({
            "secret": "1234567",
            "transcription": {"provider": " ", "api_key": "k".repeat(513)},
            "ai": {"provider": "p".repeat(65), "api_key": "", "model": "m".repeat(129)}
        })));
        assert_eq!(
            fields(&errors),
            [
                "post_meeting_webhook.ai.api_key",
                "post_meeting_webhook.ai.model",
                "post_meeting_webhook.ai.provider",
                "post_meeting_webhook.secret",
                "post_meeting_webhook.transcription.api_key",
                "post_meeting_webhook.transcription.provider",
            ]
        );
        // Providers and models are stored trimmed.
        let stored = ok(hook(
            json!({"ai": {"provider": " openai ", "model": " gpt-4o "}}),
        ));
        let ai = stored.post_meeting_webhook.unwrap().ai.unwrap();
        assert_eq!(
            (ai.provider.as_deref(), ai.model.as_deref()),
            (Some("openai"), Some("gpt-4o"))
        );
    }

    #[test]
    fn several_bad_fields_are_all_reported_and_nothing_is_applied() {
        let current = ok(seed_patch());
        let errors = patch(
            &current,
            json!({
                "force_recording": false,
                "empty_room_timeout_minutes": 0,
                "transcription_language": "english",
                "allowed_origins": ["https://ok.acme.edu", "https://*.acme.edu"],
                "post_meeting_webhook": {"url": "http://acme.edu", "bogus": true}
            }),
        )
        .unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                "allowed_origins[1]",
                "empty_room_timeout_minutes",
                "post_meeting_webhook.bogus",
                "post_meeting_webhook.url",
                "transcription_language",
            ]
        );
    }

    #[test]
    fn field_prefix_is_applied_to_every_path() {
        let sealer = sealer();
        let body = json!({
            "allowed_origins": ["https://ok.acme.edu", "https://ok.acme.edu/x"],
            "post_meeting_webhook": {"ai": {"model": ""}}
        });
        let errors = apply_patch(&StoredConfig::default(), &body, "config.", &sealer).unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                "config.allowed_origins[1]",
                "config.post_meeting_webhook.ai.model"
            ]
        );
    }

    #[test]
    fn a_partial_patch_keeps_everything_else() {
        let current = ok(seed_patch());
        let next = patch(&current, json!({"empty_room_timeout_minutes": 10})).unwrap();
        let mut expected = current.clone();
        expected.empty_room_timeout_minutes = 10;
        assert_eq!(next, expected);
    }

    #[test]
    fn nested_objects_merge_and_keep_their_siblings() {
        let current = ok(seed_patch());
        let next = patch(
            &current,
            json!({"post_meeting_webhook": {"enabled": false, "ai": {"model": "gpt-4.1"}}}),
        )
        .unwrap();
        let before = current.post_meeting_webhook.unwrap();
        let after = next.post_meeting_webhook.unwrap();
        assert!(!after.enabled);
        assert_eq!(after.url, before.url);
        // Secrets left out keep their sealed value exactly.
        assert_eq!(after.secret, before.secret);
        assert_eq!(after.transcription, before.transcription);
        let (ai_before, ai_after) = (before.ai.unwrap(), after.ai.unwrap());
        assert_eq!(ai_after.model.as_deref(), Some("gpt-4.1"));
        assert_eq!(ai_after.provider, ai_before.provider);
        assert_eq!(ai_after.api_key, ai_before.api_key);
        assert!(after.include_recording && after.include_action_items);
    }

    #[test]
    fn a_new_secret_replaces_the_old_one() {
        let sealer = sealer();
        let current = apply_patch(&StoredConfig::default(), &seed_patch(), "", &sealer).unwrap();
        let body = json!({"post_meeting_webhook": {"secret": "brand-new-secret-9876"}});
        let next = apply_patch(&current, &body, "", &sealer).unwrap();
        let secret = next.post_meeting_webhook.unwrap().secret.unwrap();
        assert_eq!(secret.last4, "9876");
        assert_eq!(secret.open(&sealer).unwrap(), "brand-new-secret-9876");
    }

    #[test]
    fn null_resets_to_the_default() {
        let current = ok(seed_patch());
        let all_null: Map<String, Value> = CONFIG_FIELDS
            .iter()
            .map(|field| ((*field).to_owned(), Value::Null))
            .collect();
        assert_eq!(
            patch(&current, Value::Object(all_null)).unwrap(),
            StoredConfig::default()
        );
    }

    #[test]
    fn null_inside_the_webhook_removes_or_resets() {
        let current = ok(seed_patch());
        let next = patch(
            &current,
            json!({"post_meeting_webhook": {
                "enabled": null,
                "secret": null,
                "include_recording": null,
                "transcription": null,
                "ai": {"api_key": null}
            }}),
        )
        .unwrap();
        let hook = next.post_meeting_webhook.unwrap();
        assert!(!hook.enabled && !hook.include_recording);
        assert_eq!(hook.secret, None);
        assert_eq!(hook.transcription, None);
        let ai = hook.ai.unwrap();
        assert_eq!(ai.api_key, None);
        assert_eq!(ai.model.as_deref(), Some("gpt-4o"));
        assert_eq!(
            hook.url.as_deref(),
            Some("https://api.acme.edu/webhooks/chalk")
        );
        assert!(hook.include_transcript);
    }

    #[test]
    fn a_webhook_object_starts_from_the_defaults() {
        let stored = ok(json!({"post_meeting_webhook": {"transcription": {}}}));
        let hook = stored.to_wire().post_meeting_webhook.unwrap();
        assert_eq!(
            hook,
            WebhookConfig {
                transcription: Some(ProviderConfig::default()),
                ..WebhookConfig::default()
            }
        );
    }

    #[test]
    fn sealed_secret_debug_shows_only_the_mask() {
        let secret = SealedSecret::seal(&sealer(), "super-secret-value");
        let debug = format!("{secret:?}");
        assert_eq!(debug, "SealedSecret(\"****alue\")");
        assert!(!debug.contains(&secret.sealed));
    }
}
