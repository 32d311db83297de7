//! The rows the cache holds, shared by the queries that read them (`tenants`, `keys`,
//! `rooms`, `participants`) and the cache (`cache.rs`) that keeps them: plain data, which
//! imports nothing else of the store.

use chalk_sdk::model::{ParticipantRole, RoomStatus, Scope, TenantStatus, TenantUsage};

use crate::store::stored_config::StoredConfig;

/// Unix seconds.
pub type Timestamp = i64;

pub const HOUR: Timestamp = 3600;

/// The start of the UTC hour holding `at` (usage is metered by UTC hour).
pub fn hour_floor(at: Timestamp) -> Timestamp {
    at.div_euclid(HOUR) * HOUR
}

#[derive(Debug, Clone, PartialEq)]
pub struct TenantRow {
    pub seq: i64,
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    /// The operator's stable name for the tenant; unique when set.
    pub external_id: Option<String>,
    pub status: TenantStatus,
    pub max_concurrent_rooms: i64,
    pub max_participants_per_room: i64,
    pub max_recording_duration_minutes: i64,
    pub rate_limit_per_minute: i64,
    /// Secrets sealed; stored as JSON.
    pub config: StoredConfig,
    /// Bumped by every change; the ETag.
    pub revision: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A tenant as `GET /tenants/{id}` shows it, and until when the usage holds.
#[derive(Debug, Clone)]
pub struct TenantSnapshot {
    pub row: TenantRow,
    pub usage: TenantUsage,
    /// The tenant's next key expiry: `usage.api_keys` changes then without a write.
    pub valid_until: Option<Timestamp>,
    /// The body `GET /tenants/{id}` answers for this snapshot, rendered by the first read
    /// that serves it: every later read of the same snapshot sends the same bytes.
    pub body: std::sync::OnceLock<axum::body::Bytes>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyRow {
    pub seq: i64,
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub primary: bool,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl ApiKeyRow {
    pub fn is_valid_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// A key found by its hash or id, with what authentication needs of its tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyAuth {
    pub key: ApiKeyRow,
    pub tenant_status: TenantStatus,
    pub rate_limit_per_minute: i64,
}

/// The status column as stored: `scheduled`, `active` or `ended`. A `scheduled` room whose
/// start has passed reads as `active` (see [`RoomRow::status_at`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRow {
    pub seq: i64,
    pub id: String,
    pub tenant_id: String,
    pub name: Option<String>,
    pub status: RoomStatus,
    pub scheduled_start: Option<Timestamp>,
    pub max_participants: Option<i64>,
    pub created_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub empty_since: Option<Timestamp>,
    /// Present participants, counted when the row is read.
    pub participant_count: i64,
}

impl RoomRow {
    /// The status the API shows at `now`.
    pub fn status_at(&self, now: Timestamp) -> RoomStatus {
        match self.status {
            RoomStatus::Ended => RoomStatus::Ended,
            _ if self.ended_at.is_some() => RoomStatus::Ended,
            RoomStatus::Scheduled if self.scheduled_start.is_some_and(|s| s > now) => {
                RoomStatus::Scheduled
            }
            _ => RoomStatus::Active,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantRow {
    pub seq: i64,
    pub id: String,
    pub tenant_id: String,
    pub room_id: String,
    pub user_id: Option<String>,
    pub display_name: String,
    pub role: ParticipantRole,
    pub joined_at: Timestamp,
    pub left_at: Option<Timestamp>,
    pub token_generation: i64,
    /// The `exp` of the last refresh token minted for the participant (migration 0011):
    /// once past, the room sweeper ends it at that instant. `None` only for a participant
    /// from before the migration not yet given a bound at start-up.
    pub tokens_expire_at: Option<Timestamp>,
}

/// What participant-token authentication needs, read in one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantAuth {
    pub participant: ParticipantRow,
    pub room_ended: bool,
    pub tenant_status: TenantStatus,
    pub rate_limit_per_minute: i64,
}

impl ParticipantAuth {
    /// Whether a token of `generation` for `tenant_id`/`room_id` may act now (suspension is
    /// reported separately, as 403).
    pub fn accepts(&self, tenant_id: &str, room_id: &str, generation: i64) -> bool {
        self.participant.tenant_id == tenant_id
            && self.participant.room_id == room_id
            && self.participant.left_at.is_none()
            && self.participant.token_generation == generation
            && !self.room_ended
    }
}
