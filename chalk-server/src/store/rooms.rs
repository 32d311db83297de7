//! Rooms: outcomes and their queries (the row: `rows.rs`; joining and the participants:
//! `participants.rs`).
//!
//! Vocabulary shared by every backend:
//! - A room is *ended* when `ended_at` is set; otherwise it is *open* and counts against the
//!   tenant's `max_concurrent_rooms`. Ending a room lets its present participants go.
//! - `empty_since` is set while an open room has no present participant: its creation time
//!   (or its `scheduled_start`, when later), then the time the last participant left (or
//!   the `scheduled_start`, when later). Joining clears it. The empty-room sweeper ends rooms
//!   whose `empty_since` is older than their tenant's `empty_room_timeout_minutes`.

use chalk_sdk::model::RoomStatus;

use sqlx::any::AnyRow;

use super::cache::Invalidation;
use super::rows::{RoomRow, Timestamp};
use super::tenants::{UsageDelta, adjust_usage};
use super::usage::{self, MeterSpan, Metered};
use super::{Db, StoreError, StoreResult, col, store_error};

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
pub enum EndRoomOutcome {
    Ended(Box<RoomRow>),
    /// It had ended before; nothing changed.
    AlreadyEnded(Box<RoomRow>),
    NotFound,
}

/// An open, empty room, with its tenant's timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmptyRoom {
    pub seq: i64,
    pub tenant_id: String,
    pub room_id: String,
    pub empty_since: Timestamp,
    pub empty_room_timeout_minutes: i64,
}

pub(super) const ROOM_SELECT: &str = "SELECT r.seq, r.id, r.tenant_id, r.name, r.status, r.scheduled_start, \
     r.max_participants, r.created_at, r.ended_at, r.empty_since, \
     (SELECT COUNT(*) FROM participants p WHERE p.tenant_id = r.tenant_id AND p.room_id = r.id \
        AND p.left_at IS NULL) AS participant_count \
     FROM rooms r";

pub(super) fn parse_room_status(text: &str) -> StoreResult<RoomStatus> {
    match text {
        "scheduled" => Ok(RoomStatus::Scheduled),
        "active" => Ok(RoomStatus::Active),
        "ended" => Ok(RoomStatus::Ended),
        other => Err(StoreError::Internal(format!(
            "unknown room status {other:?}"
        ))),
    }
}

pub(super) fn room_from_row(row: &AnyRow) -> StoreResult<RoomRow> {
    Ok(RoomRow {
        seq: col(row, "seq")?,
        id: col(row, "id")?,
        tenant_id: col(row, "tenant_id")?,
        name: col(row, "name")?,
        status: parse_room_status(col(row, "status")?)?,
        scheduled_start: col(row, "scheduled_start")?,
        max_participants: col(row, "max_participants")?,
        created_at: col(row, "created_at")?,
        ended_at: col(row, "ended_at")?,
        empty_since: col(row, "empty_since")?,
        participant_count: col(row, "participant_count")?,
    })
}

async fn room_in(db: &mut Db, tenant_id: &str, room_id: &str) -> StoreResult<Option<RoomRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{ROOM_SELECT} WHERE r.tenant_id = $1 AND r.id = $2"
    ));
    sqlx::query(sql)
        .bind(tenant_id)
        .bind(room_id)
        .fetch_optional(db.conn()?)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(room_from_row)
        .transpose()
}

pub(super) async fn open_rooms(db: &mut Db, tenant_id: &str) -> StoreResult<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM rooms WHERE tenant_id = $1 AND ended_at IS NULL")
        .bind(tenant_id)
        .fetch_one(db.conn()?)
        .await
        .map_err(store_error)
}

/// Inserts `room` and counts it in its tenant's usage; returns its row (no participants).
/// `joining`: a join creates it, so it starts at once (counted in `started_rooms` here, in
/// the same statement as the other counters).
pub(super) async fn insert_room(
    db: &mut Db,
    room: &NewRoom,
    joining: bool,
) -> StoreResult<RoomRow> {
    let row = sqlx::query(
        "INSERT INTO rooms (id, tenant_id, name, status, scheduled_start, max_participants, \
         created_at, empty_since) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         RETURNING *, 0 AS participant_count",
    )
    .bind(&room.id)
    .bind(&room.tenant_id)
    .bind(&room.name)
    .bind(room.initial_status().as_str())
    .bind(room.scheduled_start)
    .bind(room.max_participants)
    .bind(room.created_at)
    .bind(room.initial_empty_since())
    .fetch_one(db.conn()?)
    .await
    .map_err(store_error)?;
    let row = room_from_row(&row)?;
    // The caller holds the tenant's lock (create and join take it first).
    adjust_usage(
        db,
        &room.tenant_id,
        UsageDelta {
            active_rooms: 1,
            total_rooms: 1,
            started_rooms: i64::from(joining),
            ..UsageDelta::default()
        },
    )
    .await?;
    Ok(row)
}

pub async fn create(db: &mut Db, room: &NewRoom) -> StoreResult<CreateRoomOutcome> {
    let Some(limits) = super::tenants::lock(db, &room.tenant_id).await? else {
        return Ok(CreateRoomOutcome::TenantNotFound);
    };
    if room_in(db, &room.tenant_id, &room.id).await?.is_some() {
        return Ok(CreateRoomOutcome::IdTaken);
    }
    if open_rooms(db, &room.tenant_id).await? >= limits.max_concurrent_rooms {
        return Ok(CreateRoomOutcome::QuotaExceeded {
            limit: limits.max_concurrent_rooms,
        });
    }
    let row = insert_room(db, room, false).await?;
    usage::record(
        db,
        &room.tenant_id,
        &Metered {
            span: MeterSpan::at(room.created_at),
            rooms_created: 1,
        },
    )
    .await?;
    Ok(CreateRoomOutcome::Created(Box::new(row)))
}

/// The tenant's room with this id, open or ended, with its present participant count.
pub async fn get(db: &mut Db, tenant_id: &str, room_id: &str) -> StoreResult<Option<RoomRow>> {
    room_in(db, tenant_id, room_id).await
}

pub async fn list(
    db: &mut Db,
    tenant_id: &str,
    status: Option<RoomStatus>,
    now: Timestamp,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<RoomRow>> {
    // Mirrors `RoomRow::status_at`: a `scheduled` room whose start passed is active.
    let filter = match status {
        None => "",
        Some(RoomStatus::Ended) => "AND r.ended_at IS NOT NULL",
        Some(RoomStatus::Scheduled) => {
            "AND r.ended_at IS NULL AND r.status = 'scheduled' \
                 AND COALESCE(r.scheduled_start, 0) > $4"
        }
        Some(RoomStatus::Active) => {
            "AND r.ended_at IS NULL AND NOT (r.status = 'scheduled' \
                 AND COALESCE(r.scheduled_start, 0) > $4)"
        }
    };
    let sql = sqlx::AssertSqlSafe(format!(
        "{ROOM_SELECT} WHERE r.tenant_id = $1 AND r.seq > $2 {filter} ORDER BY r.seq LIMIT $3"
    ));
    let mut query = sqlx::query(sql).bind(tenant_id).bind(after_seq).bind(limit);
    if matches!(status, Some(RoomStatus::Scheduled | RoomStatus::Active)) {
        query = query.bind(now);
    }
    let rows = query.fetch_all(db.conn()?).await.map_err(store_error)?;
    rows.iter().map(room_from_row).collect()
}

pub async fn end(
    db: &mut Db,
    tenant_id: &str,
    room_id: &str,
    now: Timestamp,
) -> StoreResult<EndRoomOutcome> {
    let Some(room) = room_in(db, tenant_id, room_id).await? else {
        return Ok(EndRoomOutcome::NotFound);
    };
    if room.ended_at.is_some() {
        return Ok(EndRoomOutcome::AlreadyEnded(Box::new(room)));
    }
    end_open_room(db, tenant_id, room_id, now).await?;
    let room = room_in(db, tenant_id, room_id)
        .await?
        .ok_or_else(|| StoreError::Internal("ended room vanished".into()))?;
    Ok(EndRoomOutcome::Ended(Box::new(room)))
}

/// Open rooms empty since `$1` or before, after `seq` `$2`, in `seq` order: the sweeper's
/// scan, every 30 s. It reads only open rooms waiting empty, through `rooms_waiting_empty`
/// (migration 0015), not every room ever created.
const EMPTY_ROOMS: &str = "SELECT r.seq, r.tenant_id, r.id, r.empty_since, t.config FROM rooms r \
     JOIN tenants t ON t.id = r.tenant_id \
     WHERE r.ended_at IS NULL AND r.empty_since IS NOT NULL AND r.empty_since <= $1 \
     AND r.seq > $2 ORDER BY r.seq LIMIT $3";

/// See [`EMPTY_ROOMS`].
pub async fn empty(
    db: &mut Db,
    empty_before: Timestamp,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<EmptyRoom>> {
    let rows = sqlx::query(EMPTY_ROOMS)
        .bind(empty_before)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(db.conn()?)
        .await
        .map_err(store_error)?;
    rows.iter()
        .map(|row| {
            Ok(EmptyRoom {
                seq: col(row, "seq")?,
                tenant_id: col(row, "tenant_id")?,
                room_id: col(row, "id")?,
                empty_since: col(row, "empty_since")?,
                empty_room_timeout_minutes: super::tenants::config_from_json(col(row, "config")?)?
                    .empty_room_timeout_minutes,
            })
        })
        .collect()
}

pub async fn end_if_empty_since(
    db: &mut Db,
    tenant_id: &str,
    room_id: &str,
    empty_since: Timestamp,
    now: Timestamp,
) -> StoreResult<bool> {
    // Under the tenant's lock, so a join (which takes it too) cannot slip in between the
    // check and the end.
    super::tenants::lock(db, tenant_id).await?;
    let still_empty = sqlx::query(
        "SELECT 1 FROM rooms WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL \
             AND empty_since = $3",
    )
    .bind(tenant_id)
    .bind(room_id)
    .bind(empty_since)
    .fetch_optional(db.conn()?)
    .await
    .map_err(store_error)?;
    if still_empty.is_none() {
        return Ok(false);
    }
    end_open_room(db, tenant_id, room_id, now).await?;
    Ok(true)
}

/// Ends an open room and lets its participants go (their tokens die).
async fn end_open_room(
    db: &mut Db,
    tenant_id: &str,
    room_id: &str,
    now: Timestamp,
) -> StoreResult<()> {
    // The tenant's lock first, as every counter change takes it (see `adjust_usage`), and
    // the time the end is metered at.
    let now = super::tenants::lock_at(db, tenant_id, now)
        .await?
        .map_or(now, |(_, at)| at);
    let ended = sqlx::query(
        "UPDATE rooms SET status = 'ended', ended_at = $3, empty_since = NULL \
         WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL RETURNING started_at",
    )
    .bind(tenant_id)
    .bind(room_id)
    .bind(now)
    .fetch_optional(db.conn()?)
    .await
    .map_err(store_error)?;
    let started = match &ended {
        Some(row) => col::<Option<i64>>(row, "started_at")?.is_some(),
        None => false,
    };
    let left = sqlx::query(
        "UPDATE participants SET left_at = $3, token_generation = token_generation + 1 \
         WHERE tenant_id = $1 AND room_id = $2 AND left_at IS NULL",
    )
    .bind(tenant_id)
    .bind(room_id)
    .bind(now)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    let left = left.rows_affected() as i64;
    if ended.is_some() || left > 0 {
        // The room and its participants may be cached: their tokens must be refused from
        // the commit on.
        db.invalidate(Invalidation::Tenant(tenant_id.to_owned()))
            .await?;
    }
    let delta = UsageDelta {
        active_rooms: -i64::from(ended.is_some()),
        active_participants: -left,
        started_rooms: -i64::from(started),
        ..UsageDelta::default()
    };
    if delta == UsageDelta::default() {
        return Ok(());
    }
    // A room that never started moves no level: counting it needs no metering.
    if left == 0 && !started {
        return adjust_usage(db, tenant_id, delta).await;
    }
    usage::lower_levels(db, tenant_id, delta, now)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    /// The sweeper's scan for empty rooms reads open rooms waiting empty only, on SQLite.
    #[tokio::test]
    async fn the_empty_room_sweep_reads_only_rooms_waiting_empty() {
        let plan = crate::store::sqlite_query_plan(super::EMPTY_ROOMS).await;
        assert!(
            plan.iter()
                .any(|step| step == "SEARCH r USING INDEX rooms_waiting_empty (seq>?)"),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|step| step.starts_with("SCAN")),
            "{plan:?}"
        );
    }
}
