//! The store: one trait, one implementation per database.
//!
//! Handlers speak only to [`Store`]. Every invariant that concurrent requests could break
//! (one primary key, single-use refresh tokens, idempotency reservations, revision checks)
//! is enforced inside one store call — a transaction or a single conditional statement —
//! never by a read in the handler followed by a write.

use async_trait::async_trait;
use chalk_sdk::model::{Scope, TenantStatus, TenantUsage};

pub mod postgres;
mod room_queries;
pub mod rooms;
pub mod sqlite;

pub use rooms::*;

/// Unix seconds.
pub type Timestamp = i64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (503).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else unexpected (500).
    #[error("store error: {0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A column that cannot be read as the type the code expects: the schema and the code
/// disagree, which no retry mends (500). Every backend's row mapping uses this one.
pub(crate) fn column_error(error: sqlx::Error) -> StoreError {
    StoreError::Internal(error.to_string())
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
    /// `StoredConfig` as JSON (secrets sealed).
    pub config: String,
    /// Bumped by every change; the ETag.
    pub revision: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A key to insert. `key_hash` is the SHA-256 of the secret; the secret itself never
/// reaches the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApiKey {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub scopes: Vec<Scope>,
    pub primary: bool,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
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

/// Fields of a tenant to change; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantChange {
    pub name: Option<String>,
    /// `Some(None)` clears the email.
    pub email: Option<Option<String>>,
    /// `Some(None)` clears the external id.
    pub external_id: Option<Option<String>>,
    pub max_concurrent_rooms: Option<i64>,
    pub max_participants_per_room: Option<i64>,
    pub max_recording_duration_minutes: Option<i64>,
    pub rate_limit_per_minute: Option<i64>,
    pub status: Option<TenantStatus>,
    pub config: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOutcome {
    Updated(Box<TenantRow>),
    NotFound,
    /// The expected revision is no longer current.
    Stale,
    EmailTaken,
    ExternalIdTaken,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CreateTenantOutcome {
    Created(Box<TenantRow>),
    EmailTaken,
    ExternalIdTaken,
}

/// Which tenants `list_tenants` returns; `None` filters nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantFilter {
    pub status: Option<TenantStatus>,
    /// At most one tenant matches: external ids are unique.
    pub external_id: Option<String>,
}

/// Which unique rule of `tenants` a unique violation broke. PostgreSQL names the index;
/// SQLite names only the column, in its message ("UNIQUE constraint failed:
/// tenants.external_id"). Anything else is the email index (the only other unique rule a
/// caller can break; ids are random).
pub(crate) fn tenant_conflict_is_external_id(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            db.constraint() == Some("tenants_external_id_unique")
                || db.message().contains("tenants.external_id")
        }
        _ => false,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeKeyOutcome {
    Revoked,
    NotFound,
    /// The primary key is replaced only by rotate-key.
    IsPrimary,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshToken {
    pub token_hash: String,
    pub family_id: String,
    pub tenant_id: String,
    pub key_id: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The presented token was live and is now used; the successor is stored.
    Rotated { tenant_id: String, key_id: String },
    /// The token had been used before: its whole family is now revoked.
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// No earlier request: this one holds the reservation and must complete or abort it.
    Reserved,
    /// The same request completed before: here is its sealed response.
    Replay { status: u16, sealed_body: String },
    /// The same key was used with another request.
    Mismatch,
    /// The first request with this key is still being served.
    InProgress,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyReservation {
    pub scope: String,
    pub key: String,
    pub request_hash: String,
    pub tenant_id: Option<String>,
    pub now: Timestamp,
    /// Records older than this are expired (24 h) and may be replaced.
    pub expired_before: Timestamp,
    /// A reservation left pending since before this is from a crashed request and may be taken over.
    pub stale_before: Timestamp,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Succeeds when the database answers.
    async fn ping(&self) -> StoreResult<()>;

    // --- tenants ---
    async fn create_tenant(
        &self,
        tenant: TenantRow,
        primary_key: NewApiKey,
    ) -> StoreResult<CreateTenantOutcome>;
    async fn get_tenant(&self, id: &str) -> StoreResult<Option<TenantRow>>;
    /// Tenants matching `filter` with `seq > after_seq`, oldest first.
    async fn list_tenants(
        &self,
        filter: &TenantFilter,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<TenantRow>>;
    /// Applies `change` if the tenant exists and, when given, its revision is `expected_revision`.
    async fn update_tenant(
        &self,
        id: &str,
        expected_revision: Option<i64>,
        change: TenantChange,
        now: Timestamp,
    ) -> StoreResult<UpdateOutcome>;
    /// Deletes the tenant and everything it owns; false when there was none.
    async fn delete_tenant(&self, id: &str) -> StoreResult<bool>;
    async fn tenant_usage(&self, id: &str, now: Timestamp) -> StoreResult<TenantUsage>;

    // --- API keys ---
    async fn key_by_hash(&self, key_hash: &str) -> StoreResult<Option<KeyAuth>>;
    async fn key_by_id(&self, key_id: &str) -> StoreResult<Option<KeyAuth>>;
    /// Records use, at most once a minute per key, to spare the database a write per request.
    async fn touch_key(&self, key_id: &str, now: Timestamp) -> StoreResult<()>;
    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKeyRow>;
    /// Keys that still work at `now`, with `seq > after_seq`, oldest first.
    async fn list_api_keys(
        &self,
        tenant_id: &str,
        now: Timestamp,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<ApiKeyRow>>;
    async fn revoke_api_key(
        &self,
        tenant_id: &str,
        key_id: &str,
        now: Timestamp,
    ) -> StoreResult<RevokeKeyOutcome>;
    /// Makes `new_key` the primary key. The previous primary stops being primary and
    /// works until `previous_expires_at` (revoked at once when `None`). Returns false
    /// when the tenant does not exist.
    async fn rotate_primary_key(
        &self,
        new_key: NewApiKey,
        previous_expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<bool>;

    // --- refresh tokens ---
    async fn insert_refresh_token(&self, token: NewRefreshToken) -> StoreResult<()>;
    /// Uses `token_hash` once and stores its successor in the same family, for the same
    /// key — atomically, so that of many concurrent presentations exactly one succeeds.
    async fn use_refresh_token(
        &self,
        token_hash: &str,
        successor_hash: &str,
        successor_expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<RefreshOutcome>;
    /// Revokes the token's whole family. Unknown tokens are ignored.
    async fn revoke_refresh_family(&self, token_hash: &str, now: Timestamp) -> StoreResult<()>;

    // --- idempotency ---
    async fn idempotency_begin(
        &self,
        reservation: IdempotencyReservation,
    ) -> StoreResult<IdempotencyBegin>;
    async fn idempotency_complete(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        sealed_body: &str,
    ) -> StoreResult<()>;
    /// Drops a reservation whose request failed, so that a retry can run.
    async fn idempotency_abort(&self, scope: &str, key: &str) -> StoreResult<()>;

    // --- rooms and participants (vocabulary and invariants: see `store::rooms`) ---

    /// Inserts `room` unless the tenant already has a room with that id (`IdTaken`) or
    /// already has `max_concurrent_rooms` open rooms (`QuotaExceeded`). The count and the
    /// insert happen in one transaction that first locks the tenant row (a no-op
    /// `UPDATE tenants … WHERE id = $1`, which also reads the quota), so concurrent creates
    /// for one tenant serialize and never exceed the quota.
    async fn create_room(&self, room: NewRoom) -> StoreResult<CreateRoomOutcome>;
    /// The tenant's room with this id, open or ended, with its present participant count.
    async fn get_room(&self, tenant_id: &str, room_id: &str) -> StoreResult<Option<RoomRow>>;
    /// The tenant's rooms with `seq > after_seq`, oldest first; `status` filters by the
    /// status shown at `now` (see [`RoomRow::status_at`]).
    async fn list_rooms(
        &self,
        tenant_id: &str,
        status: Option<chalk_sdk::model::RoomStatus>,
        now: Timestamp,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<RoomRow>>;
    /// Ends an open room: sets `ended_at` and status `ended`, clears `empty_since`, and
    /// marks its present participants as left (bumping their token generation), in one
    /// transaction. An ended room is returned unchanged (`AlreadyEnded`).
    async fn end_room(
        &self,
        tenant_id: &str,
        room_id: &str,
        now: Timestamp,
    ) -> StoreResult<EndRoomOutcome>;
    /// Adds a participant, in one transaction that locks the tenant row first:
    /// 1. the room is read; when unknown it is created from `rules.create_if_missing` if
    ///    `rules.allow_early_join` (subject to `max_concurrent_rooms`), else `RoomNotFound`;
    /// 2. an ended room is `RoomEnded`; before `scheduled_start` without
    ///    `allow_early_join` is `NotStarted`;
    /// 3. a present participant with the same non-null `user_id` is `DuplicateUser` under
    ///    policy `reject`; under `disconnect_existing` it leaves (its generation bumps);
    /// 4. present participants (counted after step 3) ≥
    ///    `min(room.max_participants, tenant.max_participants_per_room)` is `RoomFull`, and
    ///    the transaction rolls back: nothing changes, not even step 3's replacement;
    /// 5. the participant is inserted (generation 0); the room's `empty_since` is cleared
    ///    and a `scheduled` room becomes `active`.
    async fn add_participant(
        &self,
        participant: NewParticipant,
        rules: JoinRules,
    ) -> StoreResult<JoinOutcome>;
    /// The participant with this id (present or not) with what token checks need: whether
    /// its room has ended and its tenant's status and rate limit.
    async fn participant_auth(&self, participant_id: &str) -> StoreResult<Option<ParticipantAuth>>;
    /// Bumps the token generation of a present participant of an open room, so that every
    /// token minted before stops working. With `expected_generation`, only if it is still
    /// current (compare-and-set: of concurrent refreshes with one refresh token, exactly one
    /// wins; the others are `Stale`).
    async fn rotate_participant_tokens(
        &self,
        tenant_id: &str,
        room_id: &str,
        participant_id: &str,
        expected_generation: Option<i64>,
    ) -> StoreResult<RotateParticipantOutcome>;
    /// Marks a present participant of an open room as left and bumps its generation; when
    /// the room is left empty, sets its `empty_since` (to `max(now, scheduled_start)`).
    /// False when there was no such present participant.
    async fn remove_participant(
        &self,
        tenant_id: &str,
        room_id: &str,
        participant_id: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Open rooms with `empty_since <= empty_before` and `seq > after_seq`, in `seq` order,
    /// at most `limit`, with their tenant's config, for the empty-room sweeper to apply each
    /// tenant's timeout.
    async fn empty_rooms(
        &self,
        empty_before: Timestamp,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<EmptyRoom>>;
    /// Ends the room only if it is still open and still empty since `empty_since` (a join
    /// in between clears or changes it). True when it ended.
    async fn end_room_if_empty_since(
        &self,
        tenant_id: &str,
        room_id: &str,
        empty_since: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;
}
