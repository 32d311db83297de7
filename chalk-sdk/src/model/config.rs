//! Tenant config: what a tenant's rooms do, and the merge patch that changes it.
//!
//! In responses, secrets (`post_meeting_webhook.secret` and both provider `api_key`s)
//! are masked as `"****"` followed by their last four characters.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::patch::Patch;
use super::usage::UsageAlert;

/// What happens when a `user_id` already in a room joins it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DuplicateParticipantPolicy {
    /// The second join is refused with 409 `CONFLICT`.
    #[default]
    Reject,
    /// The earlier participant's tokens stop working and the new one joins.
    DisconnectExisting,
}

/// A tenant's config, as the server returns it (secrets masked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantConfig {
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
    pub post_meeting_webhook: Option<WebhookConfig>,
    /// Usage thresholds that emit `usage.threshold_reached` (at most 10). Absent from
    /// servers that predate usage metering: read as none.
    #[serde(default)]
    pub usage_alerts: Vec<UsageAlert>,
}

impl Default for TenantConfig {
    /// The defaults of the contract's Config table.
    fn default() -> Self {
        Self {
            force_recording: false,
            auto_start_recording: false,
            allow_early_join: true,
            empty_room_timeout_minutes: 30,
            recording_retention_days: 30,
            duplicate_participant_policy: DuplicateParticipantPolicy::Reject,
            transcription_enabled: true,
            transcription_language: "en-US".to_owned(),
            transcription_profanity_filter: false,
            transcription_keywords: Vec::new(),
            allowed_origins: Vec::new(),
            post_meeting_webhook: None,
            usage_alerts: Vec::new(),
        }
    }
}

/// The post-meeting webhook (secrets masked in responses).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookConfig {
    pub enabled: bool,
    pub url: Option<String>,
    /// Masked: `"****abcd"`.
    pub secret: Option<String>,
    /// `hmac-sha256:<salt>:<mac>`: tells whether a secret you hold is the one set, without
    /// revealing it (`chalk_sdk::model::fingerprint::matches`; the argument is in the
    /// description of `GET /tenants/{id}/config`). `null` when no secret is set, or when it
    /// was set before the server kept fingerprints (set it again to get one).
    #[serde(default)]
    pub secret_fingerprint: Option<String>,
    pub include_recording: bool,
    pub include_transcript: bool,
    pub include_summary: bool,
    pub include_action_items: bool,
    pub transcription: Option<ProviderConfig>,
    pub ai: Option<AiProviderConfig>,
}

/// A transcription provider (api key masked in responses).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderConfig {
    pub provider: Option<String>,
    /// Masked: `"****abcd"`.
    pub api_key: Option<String>,
}

/// An AI provider for summaries (api key masked in responses).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AiProviderConfig {
    pub provider: Option<String>,
    /// Masked: `"****abcd"`.
    pub api_key: Option<String>,
    pub model: Option<String>,
}

/// `GET`/`PATCH /tenants/{id}/config` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantConfigResponse {
    pub id: String,
    pub config: TenantConfig,
    pub updated_at: DateTime<Utc>,
}

/// `PATCH /tenants/{id}/config`: a JSON merge patch (RFC 7396). Each field can be left
/// out ([`Patch::Absent`]), set, or reset to its default ([`Patch::Reset`], `null`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConfigPatch {
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<bool>))]
    pub force_recording: Patch<bool>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<bool>))]
    pub auto_start_recording: Patch<bool>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<bool>))]
    pub allow_early_join: Patch<bool>,
    /// 1..=1440.
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>, minimum = 1, maximum = 1440))]
    pub empty_room_timeout_minutes: Patch<i64>,
    /// 1..=3650.
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>, minimum = 1, maximum = 3650))]
    pub recording_retention_days: Patch<i64>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DuplicateParticipantPolicy>))]
    pub duplicate_participant_policy: Patch<DuplicateParticipantPolicy>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<bool>))]
    pub transcription_enabled: Patch<bool>,
    /// A BCP 47 tag: `en`, `en-US`, `zh-Hans-CN`.
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub transcription_language: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<bool>))]
    pub transcription_profanity_filter: Patch<bool>,
    /// At most 100, each 1..=100 characters.
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>))]
    pub transcription_keywords: Patch<Vec<String>>,
    /// At most 20 `http(s)://host[:port]` origins; `http://localhost:*` is the one wildcard.
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>))]
    pub allowed_origins: Patch<Vec<String>>,
    /// Nested objects merge: fields left out keep their value.
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<WebhookPatch>))]
    pub post_meeting_webhook: Patch<WebhookPatch>,
    /// Replaces the whole list (`null`: none). At most 10 distinct alerts; `threshold`
    /// 1..=1000000000000.
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<UsageAlert>>))]
    pub usage_alerts: Patch<Vec<UsageAlert>>,
}

/// A merge patch of the post-meeting webhook. Secrets are sent in plain text here and
/// never returned unmasked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<bool>))]
    pub enabled: Patch<bool>,
    /// `https://…` to a public address; private addresses (and `http://` to them) only
    /// when the server sets `CHALK_WEBHOOK_ALLOW_PRIVATE`.
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub url: Patch<String>,
    /// `whsec_` + base64 of 24 to 64 bytes, as Standard Webhooks secrets are.
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub secret: Patch<crate::secret::SecretString>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<bool>))]
    pub include_recording: Patch<bool>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<bool>))]
    pub include_transcript: Patch<bool>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<bool>))]
    pub include_summary: Patch<bool>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<bool>))]
    pub include_action_items: Patch<bool>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<ProviderPatch>))]
    pub transcription: Patch<ProviderPatch>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<AiProviderPatch>))]
    pub ai: Patch<AiProviderPatch>,
}

/// A merge patch of a transcription provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProviderPatch {
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub provider: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub api_key: Patch<crate::secret::SecretString>,
}

/// A merge patch of an AI provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AiProviderPatch {
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub provider: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub api_key: Patch<crate::secret::SecretString>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub model: Patch<String>,
}
