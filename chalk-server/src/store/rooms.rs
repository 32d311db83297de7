//! Rows and outcomes of the room and participant methods of [`Store`](super::Store).
//!
//! Vocabulary shared by every backend:
//! - A room is *ended* when `ended_at` is set; otherwise it is *open* and counts against the
//!   tenant's `max_concurrent_rooms`.
//! - A participant is *present* while `left_at` is null (it leaves when removed, replaced
//!   under `disconnect_existing`, or when its room ends). Present participants count against
//!   `min(room.max_participants, tenant.max_participants_per_room)`.
//! - `token_generation` is part of every participant token; the store bumps it whenever the
//!   participant's tokens must stop working (refresh, removal, replacement), so a token is
//!   live only while its generation is the participant's current one, the participant is
//!   present and the room is open.
//! - `empty_since` is set while an open room has no present participant: its creation time
//!   (or its `scheduled_start`, when later), then the time the last participant left (or
//!   the `scheduled_start`, when later). Joining clears it. The empty-room sweeper ends rooms
//!   whose `empty_since` is older than their tenant's `empty_room_timeout_minutes`.

use chalk_sdk::model::{DuplicateParticipantPolicy, ParticipantRole, RoomStatus, TenantStatus};

use super::Timestamp;

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

/// A room to insert. `status` is `scheduled` when `scheduled_start` is in the future, else
/// `active`; `empty_since` is `max(created_at, scheduled_start)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoom {
    pub id: String,
    pub tenant_id: String,
    pub name: Option<String>,
    pub scheduled_start: Option<Timestamp>,
    pub max_participants: Option<i64>,
    pub created_at: Timestamp,
}

impl NewRoom {
    pub fn initial_status(&self) -> RoomStatus {
        if self.scheduled_start.is_some_and(|s| s > self.created_at) {
            RoomStatus::Scheduled
        } else {
            RoomStatus::Active
        }
    }

    pub fn initial_empty_since(&self) -> Timestamp {
        self.scheduled_start
            .map_or(self.created_at, |s| s.max(self.created_at))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateRoomOutcome {
    Created(Box<RoomRow>),
    /// The tenant already has a room (open or ended) with this id.
    IdTaken,
    /// The tenant's open rooms already number `max_concurrent_rooms`.
    QuotaExceeded {
        limit: i64,
    },
    TenantNotFound,
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewParticipant {
    pub id: String,
    pub tenant_id: String,
    pub room_id: String,
    pub user_id: Option<String>,
    pub display_name: String,
    pub role: ParticipantRole,
    pub joined_at: Timestamp,
}

/// The tenant config that governs a join, read by the caller from the tenant's config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRules {
    /// Join before `scheduled_start`; and create the room when its id is unknown.
    pub allow_early_join: bool,
    pub duplicate_policy: DuplicateParticipantPolicy,
    /// The room to create when the id is unknown and `allow_early_join` holds; `None` when
    /// the id is not a valid room id (then an unknown room is simply not found).
    pub create_if_missing: Option<NewRoom>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    Joined {
        participant: Box<ParticipantRow>,
        room: Box<RoomRow>,
        /// The earlier participant with the same `user_id`, disconnected by this join.
        replaced: Option<String>,
        /// Whether this join created the room.
        created_room: bool,
    },
    RoomNotFound,
    RoomEnded,
    /// Before `scheduled_start`, without `allow_early_join`.
    NotStarted {
        scheduled_start: Timestamp,
    },
    /// The room holds `limit` present participants.
    RoomFull {
        limit: i64,
    },
    /// Creating the unknown room would exceed `max_concurrent_rooms`.
    RoomQuotaExceeded {
        limit: i64,
    },
    /// Policy `reject`, and a present participant has this `user_id`.
    DuplicateUser {
        existing: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndRoomOutcome {
    Ended(Box<RoomRow>),
    /// It had ended before; nothing changed.
    AlreadyEnded(Box<RoomRow>),
    NotFound,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateParticipantOutcome {
    /// The generation was bumped; mint tokens with the returned row's `token_generation`.
    Rotated(Box<ParticipantRow>),
    /// No present participant with this id in this open room of this tenant.
    NotFound,
    /// `expected_generation` was given and is no longer current (a stale refresh token).
    Stale,
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

/// An open, empty room, with its tenant's config (JSON) for the timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmptyRoom {
    pub seq: i64,
    pub tenant_id: String,
    pub room_id: String,
    pub empty_since: Timestamp,
    pub tenant_config: String,
}
