//! Rooms and their participants (Chalk authentication guide).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::secret::SecretString;

/// Where a room is in its life.
///
/// `scheduled`: it has a `scheduled_start` in the future and nobody has joined yet.
/// `active`: open for participants. `ended`: closed for good; its participant tokens no
/// longer work and its id cannot be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoomStatus {
    Scheduled,
    Active,
    Ended,
}

impl RoomStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomStatus::Scheduled => "scheduled",
            RoomStatus::Active => "active",
            RoomStatus::Ended => "ended",
        }
    }
}

/// A room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Room {
    /// `room_…`, chosen by the server or by the client.
    pub id: String,
    pub name: Option<String>,
    pub status: RoomStatus,
    pub scheduled_start: Option<DateTime<Utc>>,
    /// The room's own cap; the tenant's `max_participants_per_room` applies as well.
    pub max_participants: Option<i64>,
    /// Participants in the room now.
    pub participant_count: i64,
    pub created_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// `POST /rooms`. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRoomRequest {
    /// Your own id, so that your URLs map to rooms: `[a-z0-9_-]{3,64}`, with `room_` added in
    /// front when absent (`cs101` becomes `room_cs101`). The server picks one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^(room_)?[a-z0-9_-]{3,64}$"))]
    pub id: Option<String>,
    /// 1..=200 characters after trimming.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: Option<String>,
    /// Before this instant, joining needs the tenant's `allow_early_join`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_start: Option<DateTime<Utc>>,
    /// 1..=10000; the tenant's `max_participants_per_room` still applies (the smaller wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10000))]
    pub max_participants: Option<i64>,
}

impl CreateRoomRequest {
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }
}

/// Query of `GET /rooms`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ListRoomsQuery {
    /// 1..=200, default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RoomStatus>,
}

/// What a participant may do: a host may also end the room and remove participants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ParticipantRole {
    Host,
    #[default]
    Participant,
}

impl ParticipantRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantRole::Host => "host",
            ParticipantRole::Participant => "participant",
        }
    }
}

/// A participant of a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Participant {
    /// `part_…`.
    pub id: String,
    pub room_id: String,
    pub display_name: String,
    pub role: ParticipantRole,
    /// Your own user id, when you gave one: the key of `duplicate_participant_policy`.
    pub user_id: Option<String>,
    pub joined_at: DateTime<Utc>,
}

/// `POST /rooms/{id}/participants`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddParticipantRequest {
    /// 1..=100 characters after trimming.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub display_name: String,
    /// Default `participant`.
    #[serde(default)]
    pub role: ParticipantRole,
    /// Your own user id (1..=200 characters): the same user twice in one room is refused or
    /// replaces the earlier one, per the tenant's `duplicate_participant_policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub user_id: Option<String>,
}

impl AddParticipantRequest {
    pub fn new(display_name: impl Into<String>, role: ParticipantRole) -> Self {
        Self {
            display_name: display_name.into(),
            role,
            user_id: None,
        }
    }
}

/// A participant just added, with the tokens to hand to its browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JoinedParticipant {
    pub participant: Participant,
    pub room: Room,
    /// Bearer token valid only for this room.
    pub access_token: SecretString,
    /// Single-use: renews the pair at `POST /rooms/{id}/participants/{pid}/token`.
    pub refresh_token: SecretString,
    /// Always `"Bearer"`.
    pub token_type: String,
    /// Seconds until `access_token` expires.
    pub expires_in: i64,
}

/// New tokens for a participant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParticipantTokens {
    pub participant_id: String,
    pub room_id: String,
    pub access_token: SecretString,
    pub refresh_token: SecretString,
    /// Always `"Bearer"`.
    pub token_type: String,
    pub expires_in: i64,
}

/// `POST /rooms/{id}/participants/{pid}/token`. With a `rooms:write` credential the body
/// may be absent; without a credential (a browser renewing its own tokens) it carries the
/// participant's refresh token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ParticipantTokenRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<SecretString>,
}

/// `POST /rooms/{id}/participants` answer: the contract's `{"data": …}` envelope, with the
/// same fields repeated at the top level so that the authentication guide's code
/// (`data.access_token`, `data.participant.id`, `data.room.id`) works verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JoinResponse {
    pub data: JoinedParticipant,
    #[serde(flatten)]
    pub mirrored: JoinedParticipant,
}

/// `POST /rooms/{id}/participants/{pid}/token` answer: `{"data": …}` with the fields
/// repeated at the top level, as the authentication guide reads them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParticipantTokensResponse {
    pub data: ParticipantTokens,
    #[serde(flatten)]
    pub mirrored: ParticipantTokens,
}
