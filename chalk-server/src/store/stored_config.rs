//! A tenant's config as the store keeps it (JSON text in the tenant's row), secrets sealed
//! with the server's [`Sealer`] so the database never holds plaintext while webhook
//! delivery can still open them, and its wire form ([`TenantConfig`]) with secrets masked.

use std::fmt;

use chalk_sdk::model::fingerprint;
use chalk_sdk::model::{
    AiProviderConfig, DuplicateParticipantPolicy, ProviderConfig, TenantConfig, UsageAlert,
    WebhookConfig,
};
use serde::{Deserialize, Serialize};

use crate::crypto::{CryptoError, Sealer};

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
    /// [`fingerprint`] of the plaintext, for secrets of at least 24 random bytes only (see
    /// [`SealedSecret::seal_fingerprinted`]); absent in rows written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl SealedSecret {
    /// Encrypts `plaintext` and remembers its last four characters.
    pub fn seal(sealer: &Sealer, plaintext: &str) -> Self {
        Self {
            sealed: sealer.seal_str(plaintext),
            last4: last_chars(plaintext, 4),
            fingerprint: None,
        }
    }

    /// [`seal`](Self::seal), plus a salted HMAC [`fingerprint`] a client can check its own
    /// copy against. Only for secrets that are at least 24 random bytes (`whsec_`): for those
    /// the fingerprint is as hard to invert as the secret is to guess (the argument is in
    /// `chalk_sdk::model::fingerprint`).
    pub fn seal_fingerprinted(sealer: &Sealer, plaintext: &str) -> Self {
        let salt: [u8; 16] = rand::random();
        Self {
            fingerprint: Some(fingerprint::compute(&salt, plaintext)),
            ..Self::seal(sealer, plaintext)
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
    /// Left out of the stored JSON while empty, so rows keep the shape they had before
    /// usage metering.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub usage_alerts: Vec<UsageAlert>,
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
            usage_alerts: wire.usage_alerts,
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
            usage_alerts: self.usage_alerts.clone(),
        }
    }
}

impl StoredWebhook {
    fn to_wire(&self) -> WebhookConfig {
        WebhookConfig {
            enabled: self.enabled,
            url: self.url.clone(),
            secret: self.secret.as_ref().map(SealedSecret::masked),
            secret_fingerprint: self.secret.as_ref().and_then(|s| s.fingerprint.clone()),
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

/// The last `n` characters (not bytes) of `s`.
pub fn last_chars(s: &str, n: usize) -> String {
    let count = s.chars().count();
    s.chars().skip(count.saturating_sub(n)).collect()
}
