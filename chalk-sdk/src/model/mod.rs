//! The wire types of the Chalk API: one definition, used by the server and the client.

mod api_key;
mod audit;
mod auth;
mod config;
mod envelope;
pub mod fingerprint;
mod operator_key;
mod ops;
mod patch;
mod room;
mod signing_key;
mod tenant;
mod usage;
mod webhook;

pub use api_key::{ApiKey, CreateApiKeyRequest, CreatedApiKey, ListQuery, Scope};
pub use audit::{Actor, ActorType, AuditEvent, AuditOutcome, AuditTarget, ListAuditEventsQuery};
pub use auth::{RefreshRequest, RevokeRequest, Revoked, TokenPair, TokenRequest};
pub use config::{
    AiProviderConfig, AiProviderPatch, ConfigPatch, DuplicateParticipantPolicy, ProviderConfig,
    ProviderPatch, TenantConfig, TenantConfigResponse, WebhookConfig, WebhookPatch,
};
pub use envelope::{Data, ErrorBody, ErrorCode, ErrorEnvelope, FieldError, Page};
pub use operator_key::{CreateOperatorKeyRequest, CreatedOperatorKey, OperatorKey};
pub use ops::Health;
pub use patch::Patch;
pub use room::{
    AddParticipantRequest, CreateRoomRequest, JoinResponse, JoinedParticipant, ListRoomsQuery,
    Participant, ParticipantRole, ParticipantTokenRequest, ParticipantTokens,
    ParticipantTokensResponse, Room, RoomStatus,
};
pub use signing_key::{Jwk, Jwks, SigningKey, SigningKeyStatus};
pub use tenant::{
    CreateTenantRequest, CreatedTenant, Deleted, ListTenantsQuery, RotateKeyRequest, RotatedKey,
    Tenant, TenantStatus, TenantUsage, UpdateTenantRequest,
};
pub use usage::{
    AlertPeriod, ExportUsageQuery, Granularity, TenantUsagePeriod, Usage, UsageAlert, UsageMetric,
    UsageMetrics, UsagePeriod, UsageQuery, UsageThresholdReachedData,
};
pub use webhook::{
    ApiKeyExpiringData, ApiKeyRotatedData, Attendee, CreateWebhookEndpointRequest,
    CreatedWebhookEndpoint, DeliveryAttempt, DeliveryStatus, EventRecord, EventType,
    ListDeliveriesQuery, ListEventsQuery, MeetingEndedData, ParticipantEventData,
    RotateWebhookSecretRequest, RotatedWebhookSecret, UpdateWebhookEndpointRequest,
    WebhookDelivery, WebhookEndpoint, WebhookTestData, WebhookTestResult,
};
