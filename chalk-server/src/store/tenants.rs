//! Tenants: changes, usage counters and their queries (the row: `rows.rs`).

use std::sync::Arc;

use chalk_sdk::model::{TenantStatus, TenantUsage, UsageMetrics};
use sqlx::any::AnyRow;

use crate::store::stored_config::StoredConfig;

use super::cache::Invalidation;
use super::rows::{TenantRow, TenantSnapshot, Timestamp, hour_floor};
use super::{Db, Store, StoreError, StoreResult, col, parse_tenant_status, store_error};

// The meter of usage metering is kept on the tenant's row (migration 0009): its levels and
// the instant up to which their time is written. `store/usage.rs` writes and reads periods
// from it; this file owns the row.

/// The levels a tenant's time metrics ran at over `[from, to)`: what a change found when it
/// advanced the meter to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterSpan {
    pub from: Timestamp,
    pub to: Timestamp,
    /// Participants present.
    pub participants: i64,
    /// Rooms started (first join) and not ended.
    pub rooms: i64,
}

impl MeterSpan {
    /// No time: a change that only counts (a room created) at `at`.
    pub fn at(at: Timestamp) -> Self {
        Self {
            from: at,
            to: at,
            participants: 0,
            rooms: 0,
        }
    }
}

/// A tenant's running levels: since `at`, `participants` present and `rooms` started, and
/// none of that time written into its hours yet; and its open hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Meter {
    pub at: Timestamp,
    pub participants: i64,
    pub rooms: i64,
    pub open: OpenHour,
}

/// What the tenant's changes used in the hour holding its meter's instant, kept on its row
/// rather than in its periods (migration 0012): a change within that hour adds to it in
/// the lock's own statement, and the first change in a later hour writes it to its hour,
/// day and month (`usage::advance`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenHour {
    pub start: Timestamp,
    pub participant_seconds: i64,
    pub room_seconds: i64,
    /// The largest level that held in the hour before the last change (the level after it
    /// is the meter's `participants`: see [`Meter::open_use`]).
    pub peak: i64,
    pub participants_joined: i64,
}

impl Meter {
    /// What the open hour holds that its stored rows do not: its sums, and a peak of at
    /// least the level its last change left.
    pub fn open_use(&self) -> UsageMetrics {
        UsageMetrics {
            participant_seconds: self.open.participant_seconds,
            room_seconds: self.open.room_seconds,
            peak_participants: self.open.peak.max(self.participants),
            participants_joined: self.open.participants_joined,
            ..UsageMetrics::default()
        }
    }
}

/// The columns [`meter_from_row`] reads.
pub(super) const METER_COLUMNS: &str = "metered_at, active_participants, started_rooms, \
    open_hour, open_participant_seconds, open_room_seconds, open_peak, open_participants_joined";

pub(super) fn meter_from_row(row: &AnyRow) -> StoreResult<Meter> {
    Ok(Meter {
        at: col(row, "metered_at")?,
        participants: col(row, "active_participants")?,
        rooms: col(row, "started_rooms")?,
        open: OpenHour {
            start: col(row, "open_hour")?,
            participant_seconds: col(row, "open_participant_seconds")?,
            room_seconds: col(row, "open_room_seconds")?,
            peak: col(row, "open_peak")?,
            participants_joined: col(row, "open_participants_joined")?,
        },
    })
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
    pub config: Option<StoredConfig>,
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

/// Which tenants [`list`] returns; `None` filters nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantFilter {
    pub status: Option<TenantStatus>,
    /// At most one tenant matches: external ids are unique.
    pub external_id: Option<String>,
}

/// The unique index that keeps emails unique regardless of case (`lower(email)`).
const EMAIL_INDEX: &str = "tenants_email_unique";
/// PostgreSQL names the index `tenants_external_id_unique`; SQLite names the column
/// (`tenants.external_id`): both contain this.
const EXTERNAL_ID: &str = "external_id";

/// The config column, read in one place for every query that returns it.
pub(crate) fn config_from_json(json: &str) -> StoreResult<StoredConfig> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Internal(format!("unreadable tenant config: {e}")))
}

fn config_to_json(config: &StoredConfig) -> StoreResult<String> {
    serde_json::to_string(config).map_err(|e| StoreError::Internal(format!("tenant config: {e}")))
}

/// The `alerting` column (migration 0014): 1 when the config holds usage alerts. Written
/// with the config by every statement that writes it.
fn alerting(config: &StoredConfig) -> i64 {
    i64::from(!config.usage_alerts.is_empty())
}

fn from_row(row: &AnyRow) -> StoreResult<TenantRow> {
    Ok(TenantRow {
        seq: col(row, "seq")?,
        id: col(row, "id")?,
        name: col(row, "name")?,
        email: col(row, "email")?,
        external_id: col(row, "external_id")?,
        status: parse_tenant_status(col(row, "status")?)?,
        max_concurrent_rooms: col(row, "max_concurrent_rooms")?,
        max_participants_per_room: col(row, "max_participants_per_room")?,
        max_recording_duration_minutes: col(row, "max_recording_duration_minutes")?,
        rate_limit_per_minute: col(row, "rate_limit_per_minute")?,
        config: config_from_json(col(row, "config")?)?,
        revision: col(row, "revision")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
    })
}

/// Inserts the tenant with its primary key `primary`, which its row counts from the start
/// (`live_keys` is 1): two statements, and no invalidation — nothing of a tenant that did
/// not exist can be cached, here or on another instance.
pub async fn create(
    db: &mut Db,
    tenant: &TenantRow,
    primary: &super::keys::NewApiKey,
) -> StoreResult<CreateTenantOutcome> {
    let inserted = sqlx::query(
        "INSERT INTO tenants (id, name, email, status, max_concurrent_rooms, max_participants_per_room, \
         max_recording_duration_minutes, rate_limit_per_minute, config, revision, created_at, updated_at, \
         external_id, metered_at, metered_from, open_hour, live_keys, alerting) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $11, $11, $14, 1, $15) \
         RETURNING *",
    )
    .bind(&tenant.id)
    .bind(&tenant.name)
    .bind(&tenant.email)
    .bind(tenant.status.as_str())
    .bind(tenant.max_concurrent_rooms)
    .bind(tenant.max_participants_per_room)
    .bind(tenant.max_recording_duration_minutes)
    .bind(tenant.rate_limit_per_minute)
    .bind(config_to_json(&tenant.config)?)
    .bind(tenant.revision)
    .bind(tenant.created_at)
    .bind(tenant.updated_at)
    .bind(&tenant.external_id)
    // The meter starts with the tenant, its hour open.
    .bind(hour_floor(tenant.created_at))
    .bind(alerting(&tenant.config))
    .fetch_one(db.conn()?)
    .await
    .map_err(store_error);
    let row = match inserted {
        Ok(row) => from_row(&row)?,
        Err(e) if e.is_conflict_on(EXTERNAL_ID) => {
            return Ok(CreateTenantOutcome::ExternalIdTaken);
        }
        Err(e) if e.is_conflict_on(EMAIL_INDEX) => return Ok(CreateTenantOutcome::EmailTaken),
        Err(e) => return Err(e),
    };
    super::keys::insert_row(db, primary).await?;
    Ok(CreateTenantOutcome::Created(Box::new(row)))
}

pub async fn get(db: &mut Db, id: &str) -> StoreResult<Option<TenantRow>> {
    sqlx::query("SELECT * FROM tenants WHERE id = $1")
        .bind(id)
        .fetch_optional(db.conn()?)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// The tenant's row and usage as one read sees them, from the cache when it holds them
/// (filling it otherwise); `None` when there is no such tenant. Authentication and
/// `GET /tenants/{id}` read tenants through it.
///
/// The ticket is taken before the store is read, so a fill that raced a write's
/// invalidation is not kept (see `cache.rs`).
pub async fn snapshot(store: &Store, id: &str) -> StoreResult<Option<Arc<TenantSnapshot>>> {
    let cache = store.cache();
    let at = crate::clock::now();
    if let Some(snapshot) = cache.tenant(id, at) {
        return Ok(Some(snapshot));
    }
    let ticket = cache.ticket();
    let mut db = store.read().await?;
    let Some(row) = get(&mut db, id).await? else {
        return Ok(None);
    };
    let usage = usage(&mut db, id, at).await?;
    let valid_until = next_key_expiry(&mut db, id, at).await?;
    let snapshot = Arc::new(TenantSnapshot {
        row,
        usage,
        valid_until,
        body: std::sync::OnceLock::new(),
    });
    cache.put_tenant(ticket, &snapshot);
    Ok(Some(snapshot))
}

/// The tenant, read after taking its row's write lock: changes of one tenant that must
/// see each other (rotations, quota checks, config merges) queue here until the holder
/// commits. A no-op `UPDATE` is the one lock statement both databases share; on
/// PostgreSQL it is a `FOR NO KEY UPDATE` lock, which leaves foreign-key checks (token
/// inserts) unblocked.
pub async fn lock(db: &mut Db, id: &str) -> StoreResult<Option<TenantRow>> {
    Ok(lock_at(db, id, 0).await?.map(|(row, _)| row))
}

/// [`lock`], and when a change made under it happens: `at`, or the tenant's meter if a
/// change that took the lock first (on another instance, whose clock was read later)
/// already advanced it past `at`. A metered change writes this time wherever it writes one
/// (a participant's `joined_at` and `left_at`, a room's start and end) and meters at it, so
/// what the rows say and what usage counts agree to the second.
pub async fn lock_at(
    db: &mut Db,
    id: &str,
    at: Timestamp,
) -> StoreResult<Option<(TenantRow, Timestamp)>> {
    let Some(row) = sqlx::query("UPDATE tenants SET status = status WHERE id = $1 RETURNING *")
        .bind(id)
        .fetch_optional(db.conn()?)
        .await
        .map_err(store_error)?
    else {
        return Ok(None);
    };
    let metered_at: Timestamp = col(&row, "metered_at")?;
    Ok(Some((from_row(&row)?, at.max(metered_at))))
}

/// Tenants matching `filter` with `seq > after_seq`, oldest first.
pub async fn list(
    db: &mut Db,
    filter: &TenantFilter,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<TenantRow>> {
    let rows = sqlx::query(
        "SELECT * FROM tenants WHERE seq > $1 AND ($2 IS NULL OR status = $2) \
         AND ($4 IS NULL OR external_id = $4) ORDER BY seq LIMIT $3",
    )
    .bind(after_seq)
    .bind(filter.status.map(TenantStatus::as_str))
    .bind(limit)
    .bind(filter.external_id.as_deref())
    .fetch_all(db.conn()?)
    .await
    .map_err(store_error)?;
    rows.iter().map(from_row).collect()
}

/// Applies `change` if the tenant exists and, when given, its revision is `expected_revision`.
pub async fn update(
    db: &mut Db,
    id: &str,
    expected_revision: Option<i64>,
    change: TenantChange,
    now: Timestamp,
) -> StoreResult<UpdateOutcome> {
    db.invalidate(Invalidation::Tenant(id.to_owned())).await?;
    let (email_set, email) = match change.email {
        Some(email) => (1i64, email),
        None => (0, None),
    };
    let (external_id_set, external_id) = match change.external_id {
        Some(external_id) => (1i64, external_id),
        None => (0, None),
    };
    let updated = sqlx::query(
        "UPDATE tenants SET \
           name = COALESCE($3, name), \
           email = CASE WHEN $4 = 1 THEN $5 ELSE email END, \
           max_concurrent_rooms = COALESCE($6, max_concurrent_rooms), \
           max_participants_per_room = COALESCE($7, max_participants_per_room), \
           max_recording_duration_minutes = COALESCE($8, max_recording_duration_minutes), \
           rate_limit_per_minute = COALESCE($9, rate_limit_per_minute), \
           status = COALESCE($10, status), \
           config = COALESCE($11, config), \
           alerting = COALESCE($15, alerting), \
           revision = revision + 1, \
           updated_at = $12, \
           external_id = CASE WHEN $13 = 1 THEN $14 ELSE external_id END \
         WHERE id = $1 AND ($2 IS NULL OR revision = $2) RETURNING *",
    )
    .bind(id)
    .bind(expected_revision)
    .bind(change.name)
    .bind(email_set)
    .bind(email)
    .bind(change.max_concurrent_rooms)
    .bind(change.max_participants_per_room)
    .bind(change.max_recording_duration_minutes)
    .bind(change.rate_limit_per_minute)
    .bind(change.status.map(TenantStatus::as_str))
    .bind(change.config.as_ref().map(config_to_json).transpose()?)
    .bind(now)
    .bind(external_id_set)
    .bind(external_id)
    .bind(change.config.as_ref().map(alerting))
    .fetch_optional(db.conn()?)
    .await
    .map_err(store_error);
    match updated {
        Ok(Some(row)) => Ok(UpdateOutcome::Updated(Box::new(from_row(&row)?))),
        Ok(None) => {
            let exists = sqlx::query("SELECT 1 FROM tenants WHERE id = $1")
                .bind(id)
                .fetch_optional(db.conn()?)
                .await
                .map_err(store_error)?;
            Ok(if exists.is_some() {
                UpdateOutcome::Stale
            } else {
                UpdateOutcome::NotFound
            })
        }
        Err(e) if e.is_conflict_on(EXTERNAL_ID) => Ok(UpdateOutcome::ExternalIdTaken),
        Err(e) if e.is_conflict_on(EMAIL_INDEX) => Ok(UpdateOutcome::EmailTaken),
        Err(e) => Err(e),
    }
}

/// Deletes the tenant and everything it owns (foreign keys cascade to keys, refresh
/// tokens, rooms, participants and idempotency records); false when there was none.
pub async fn delete(db: &mut Db, id: &str) -> StoreResult<bool> {
    db.invalidate(Invalidation::Tenant(id.to_owned())).await?;
    let result = sqlx::query("DELETE FROM tenants WHERE id = $1")
        .bind(id)
        .execute(db.conn()?)
        .await
        .map_err(store_error)?;
    Ok(result.rows_affected() > 0)
}

/// The tenant's usage: kept counters (migration 0008), so this reads one row whatever the
/// tenant's size. Keys past their expiry stop counting without a write; they are
/// subtracted here through `api_keys_expiring`, which holds only unrevoked keys that carry
/// an expiry.
pub async fn usage(db: &mut Db, id: &str, now: Timestamp) -> StoreResult<TenantUsage> {
    let row = sqlx::query(
        "SELECT active_rooms, total_rooms, active_participants, live_keys - \
           (SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL \
              AND expires_at IS NOT NULL AND expires_at <= $2) AS api_keys \
         FROM tenants WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(db.conn()?)
    .await
    .map_err(store_error)?
    .ok_or(StoreError::NotFound("tenant"))?;
    Ok(TenantUsage {
        active_rooms: col(&row, "active_rooms")?,
        total_rooms: col(&row, "total_rooms")?,
        active_participants: col(&row, "active_participants")?,
        api_keys: col(&row, "api_keys")?,
    })
}

/// The first moment after `now` at which a live key of the tenant expires: the usage read
/// at `now` stays exact until then (or until a write changes it).
pub async fn next_key_expiry(
    db: &mut Db,
    id: &str,
    now: Timestamp,
) -> StoreResult<Option<Timestamp>> {
    sqlx::query_scalar(
        "SELECT MIN(expires_at) FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL \
         AND expires_at IS NOT NULL AND expires_at > $2",
    )
    .bind(id)
    .bind(now)
    .fetch_one(db.conn()?)
    .await
    .map_err(store_error)
}

/// A change to a tenant's usage counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageDelta {
    pub active_rooms: i64,
    pub total_rooms: i64,
    pub active_participants: i64,
    pub live_keys: i64,
    /// Rooms started (first join) and not ended: the level `room_seconds` count from.
    pub started_rooms: i64,
}

/// Applies `delta` to the tenant's counters. Call it in the transaction that made the
/// change, after taking the tenant's row lock ([`lock`], or [`lock_adjusting`]) before any
/// other row lock: on PostgreSQL every counter-changing transaction then takes its locks in
/// the same order (tenant first), so two of them never wait on each other in a cycle.
///
/// The counters are the usage of the tenant's cached snapshot, so a change to them
/// registers the tenant's invalidation; whatever else the change ends or alters in the
/// cache (a key, a participant, a room) its caller registers itself.
pub async fn adjust_usage(db: &mut Db, id: &str, delta: UsageDelta) -> StoreResult<()> {
    if delta == UsageDelta::default() {
        return Ok(());
    }
    lock_adjusting(db, id, delta).await.map(|_| ())
}

/// [`lock`] and [`adjust_usage`] in one statement, for a change that knows its delta
/// before it starts (a join counts its participant): if the change is refused later, the
/// transaction rolls the count back with the rest.
pub async fn lock_adjusting(
    db: &mut Db,
    id: &str,
    delta: UsageDelta,
) -> StoreResult<Option<TenantRow>> {
    Ok(adjusting(db, id, delta, None).await?.map(|(row, ..)| row))
}

/// [`lock_adjusting`] for a change of the levels time metrics count from (participants
/// present, rooms started) made at `at`, which admits `joined` participants: the same
/// statement advances the tenant's meter to `at` (never backwards: an instance whose clock
/// lags counts from the meter's time) and returns the span since the previous change, at
/// the levels before `delta`. When `at` falls in the open hour, the statement also adds
/// the span, the level it held and `joined` to that hour, and the change is metered; when
/// it falls in a later hour, the open hour is left as it was, to be written out by
/// `usage::advance` (the one caller), which then opens `at`'s hour with [`open`].
pub async fn lock_metering(
    db: &mut Db,
    id: &str,
    delta: UsageDelta,
    at: Timestamp,
    joined: i64,
) -> StoreResult<Option<(TenantRow, MeterSpan, Meter)>> {
    let Some((row, span, meter)) = adjusting(db, id, delta, Some((at, joined))).await? else {
        return Ok(None);
    };
    let span = span.expect("a metered change returns its span");
    Ok(Some((row, span, meter)))
}

/// Opens the tenant's hour `open.start` with what `open` holds (the previous open hour
/// having been written to its periods in the same transaction).
pub async fn open(db: &mut Db, id: &str, open: &OpenHour) -> StoreResult<()> {
    sqlx::query(
        "UPDATE tenants SET open_hour = $2, open_participant_seconds = $3, \
         open_room_seconds = $4, open_peak = $5, open_participants_joined = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(open.start)
    .bind(open.participant_seconds)
    .bind(open.room_seconds)
    .bind(open.peak)
    .bind(open.participants_joined)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    Ok(())
}

async fn adjusting(
    db: &mut Db,
    id: &str,
    delta: UsageDelta,
    metering: Option<(Timestamp, i64)>,
) -> StoreResult<Option<(TenantRow, Option<MeterSpan>, Meter)>> {
    db.invalidate(Invalidation::Tenant(id.to_owned())).await?;
    // $7: the change's time when it is metered (NULL: the meter stays). It is metered in
    // the open hour unless it is past that hour's end, or the meter already is (a change
    // from an instance whose clock ran ahead). Every SET reads the row as it was.
    let Some(row) = sqlx::query(
        "UPDATE tenants SET active_rooms = active_rooms + $2, total_rooms = total_rooms + $3, \
         active_participants = active_participants + $4, live_keys = live_keys + $5, \
         started_rooms = started_rooms + $6, \
         metered_from = CASE WHEN $7 IS NULL THEN metered_from ELSE metered_at END, \
         metered_at = CASE WHEN $7 IS NULL OR metered_at > $7 THEN metered_at ELSE $7 END, \
         open_participant_seconds = CASE WHEN $7 IS NULL OR $7 >= open_hour + 3600 \
             OR metered_at >= open_hour + 3600 OR metered_at >= $7 THEN open_participant_seconds \
           ELSE open_participant_seconds + active_participants * ($7 - metered_at) END, \
         open_room_seconds = CASE WHEN $7 IS NULL OR $7 >= open_hour + 3600 \
             OR metered_at >= open_hour + 3600 OR metered_at >= $7 THEN open_room_seconds \
           ELSE open_room_seconds + started_rooms * ($7 - metered_at) END, \
         open_peak = CASE WHEN $7 IS NULL OR $7 >= open_hour + 3600 \
             OR metered_at >= open_hour + 3600 OR open_peak >= active_participants THEN open_peak \
           ELSE active_participants END, \
         open_participants_joined = CASE WHEN $7 IS NULL OR $7 >= open_hour + 3600 \
             OR metered_at >= open_hour + 3600 THEN open_participants_joined \
           ELSE open_participants_joined + $8 END \
         WHERE id = $1 RETURNING *",
    )
    .bind(id)
    .bind(delta.active_rooms)
    .bind(delta.total_rooms)
    .bind(delta.active_participants)
    .bind(delta.live_keys)
    .bind(delta.started_rooms)
    .bind(metering.map(|(at, _)| at))
    .bind(metering.map_or(0, |(_, joined)| joined))
    .fetch_optional(db.conn()?)
    .await
    .map_err(store_error)?
    else {
        return Ok(None);
    };
    let meter = meter_from_row(&row)?;
    let span = match metering {
        None => None,
        Some(_) => Some(MeterSpan {
            from: col(&row, "metered_from")?,
            to: meter.at,
            participants: meter.participants - delta.active_participants,
            rooms: meter.rooms - delta.started_rooms,
        }),
    };
    Ok(Some((from_row(&row)?, span, meter)))
}
