//! Webhooks: endpoints, events and their deliveries (docs/api.md "Webhooks").

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

use crate::secret::SecretString;

/// What happened: the `type` of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    #[serde(rename = "room.created")]
    RoomCreated,
    #[serde(rename = "room.started")]
    RoomStarted,
    #[serde(rename = "room.ended")]
    RoomEnded,
    #[serde(rename = "participant.joined")]
    ParticipantJoined,
    #[serde(rename = "participant.left")]
    ParticipantLeft,
    #[serde(rename = "tenant.updated")]
    TenantUpdated,
    #[serde(rename = "tenant.config_updated")]
    TenantConfigUpdated,
    #[serde(rename = "tenant.suspended")]
    TenantSuspended,
    #[serde(rename = "tenant.resumed")]
    TenantResumed,
    #[serde(rename = "api_key.created")]
    ApiKeyCreated,
    #[serde(rename = "api_key.revoked")]
    ApiKeyRevoked,
    #[serde(rename = "api_key.rotated")]
    ApiKeyRotated,
    #[serde(rename = "api_key.expiring")]
    ApiKeyExpiring,
    #[serde(rename = "meeting.ended")]
    MeetingEnded,
    /// A usage alert of the tenant's config reached its threshold (once per alert and period).
    #[serde(rename = "usage.threshold_reached")]
    UsageThresholdReached,
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

impl EventType {
    pub const ALL: [EventType; 16] = [
        EventType::RoomCreated,
        EventType::RoomStarted,
        EventType::RoomEnded,
        EventType::ParticipantJoined,
        EventType::ParticipantLeft,
        EventType::TenantUpdated,
        EventType::TenantConfigUpdated,
        EventType::TenantSuspended,
        EventType::TenantResumed,
        EventType::ApiKeyCreated,
        EventType::ApiKeyRevoked,
        EventType::ApiKeyRotated,
        EventType::ApiKeyExpiring,
        EventType::MeetingEnded,
        EventType::UsageThresholdReached,
        EventType::WebhookTest,
    ];

    /// The type as written on the wire.
    ///
    /// ```
    /// use chalk_sdk::model::EventType;
    /// assert_eq!(EventType::RoomEnded.as_str(), "room.ended");
    /// assert_eq!("api_key.expiring".parse::<EventType>(), Ok(EventType::ApiKeyExpiring));
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::RoomCreated => "room.created",
            EventType::RoomStarted => "room.started",
            EventType::RoomEnded => "room.ended",
            EventType::ParticipantJoined => "participant.joined",
            EventType::ParticipantLeft => "participant.left",
            EventType::TenantUpdated => "tenant.updated",
            EventType::TenantConfigUpdated => "tenant.config_updated",
            EventType::TenantSuspended => "tenant.suspended",
            EventType::TenantResumed => "tenant.resumed",
            EventType::ApiKeyCreated => "api_key.created",
            EventType::ApiKeyRevoked => "api_key.revoked",
            EventType::ApiKeyRotated => "api_key.rotated",
            EventType::ApiKeyExpiring => "api_key.expiring",
            EventType::MeetingEnded => "meeting.ended",
            EventType::UsageThresholdReached => "usage.threshold_reached",
            EventType::WebhookTest => "webhook.test",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown event type `{s}`"))
    }
}

/// One event as listed by `GET /tenants/{id}/events` and as sent in a webhook body.
/// `type` stays a string so that a client older than the server still reads new types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventRecord {
    /// `evt_…`; the `webhook-id` of every delivery of it.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    pub tenant_id: String,
    /// The object the event is about (never a secret).
    pub data: Value,
}

/// Query of `GET /tenants/{id}/events`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ListEventsQuery {
    /// 1..=200, default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Only events of this type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub event_type: Option<EventType>,
}

/// `POST /tenants/{id}/webhook-endpoints`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookEndpointRequest {
    /// `https://…` (plain `http://` only to a private target the server allows).
    pub url: String,
    /// Event types, or `["*"]` for every type.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub events: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `PATCH /tenants/{id}/webhook-endpoints/{eid}`: absent fields are unchanged;
/// `description: null` removes the description.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookEndpointRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "crate::model::Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub description: crate::model::Patch<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// An endpoint as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpoint {
    /// `we_…`
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    /// While a rotated-away secret still signs: until when.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// `hmac-sha256:<salt>:<mac>` of the current secret, salted with the endpoint's id: tells
    /// whether a secret you hold is the current one without revealing it
    /// (`chalk_sdk::model::fingerprint::matches`; the argument is in the description of
    /// `GET /tenants/{id}/config`, and holds here too: endpoint secrets are 32 random bytes).
    #[serde(default)]
    pub secret_fingerprint: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An endpoint just created: its secret is shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedWebhookEndpoint {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_` + base64 of 32 random bytes.
    pub secret: SecretString,
}

/// `POST /tenants/{id}/webhook-endpoints/{eid}/rotate-secret` (the body is optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateWebhookSecretRequest {
    /// How long the previous secret keeps signing, 0..=604800 seconds (default 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 604800))]
    pub expire_previous_in_seconds: Option<i64>,
}

/// The new secret, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RotatedWebhookSecret {
    pub id: String,
    pub secret: SecretString,
    /// Until when the previous secret also signs; `null` when it stopped at once.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

/// `POST …/test`: the `webhook.test` event enqueued for the endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookTestResult {
    pub event_id: String,
    pub delivery_id: String,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not attempted yet (or being attempted).
    Pending,
    Succeeded,
    /// The last attempt failed; another follows at `next_attempt_at`.
    Failed,
    /// Every attempt of the schedule failed; only a manual retry sends it again.
    Exhausted,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Exhausted => "exhausted",
        }
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "succeeded" => Ok(DeliveryStatus::Succeeded),
            "failed" => Ok(DeliveryStatus::Failed),
            "exhausted" => Ok(DeliveryStatus::Exhausted),
            other => Err(format!(
                "unknown delivery status `{other}`; expected pending, succeeded, failed or exhausted"
            )),
        }
    }
}

/// One attempt to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Why the attempt failed without an answer (timeout, refused target, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// One (event, target) delivery and every attempt at it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    /// `whd_…`
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    /// The endpoint; `null` for the config's `post_meeting_webhook`.
    pub endpoint_id: Option<String>,
    pub status: DeliveryStatus,
    pub attempts: Vec<DeliveryAttempt>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Query of `GET /tenants/{id}/webhook-deliveries`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ListDeliveriesQuery {
    /// 1..=200, default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeliveryStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

/// `data` of `participant.joined` and `participant.left`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParticipantEventData {
    pub participant: crate::model::Participant,
    pub room_id: String,
}

/// One participant's presence in an ended meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attendee {
    pub participant_id: String,
    pub display_name: String,
    pub user_id: Option<String>,
    pub role: crate::model::ParticipantRole,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
}

/// `data` of `meeting.ended` (the post-meeting webhook). `recording`, `transcript`,
/// `summary` and `action_items` are present only when their `include_*` flag is on, and
/// `null` until a media service reports them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeetingEndedData {
    pub room: crate::model::Room,
    pub attendance: Vec<Attendee>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_items: Option<Value>,
}

/// `data` of `api_key.expiring`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyExpiringData {
    pub api_key: crate::model::ApiKey,
    /// `7d` or `1d`: which notice this is.
    pub expires_in: String,
}

/// `data` of `api_key.rotated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyRotatedData {
    /// The new primary key.
    pub api_key: crate::model::ApiKey,
    pub previous_key_expires_at: Option<DateTime<Utc>>,
}

/// `data` of `webhook.test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookTestData {
    pub endpoint_id: String,
}
