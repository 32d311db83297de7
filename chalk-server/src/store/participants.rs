//! Participants: joining a room, their tokens' generations, leaving; outcomes and their
//! queries (the rows: `rows.rs`; the rooms they join: `rooms.rs`).
//!
//! Vocabulary shared by every backend:
//! - A participant is *present* while `left_at` is null (it leaves when removed, replaced
//!   under `disconnect_existing`, when its room ends, or when its tokens expire: see
//!   [`end_expired`]). Present participants count against
//!   `min(room.max_participants, tenant.max_participants_per_room)`.
//! - `token_generation` is part of every participant token; the store bumps it whenever the
//!   participant's tokens must stop working (refresh, removal, replacement), so a token is
//!   live only while its generation is the participant's current one, the participant is
//!   present and the room is open.

use chalk_sdk::model::{DuplicateParticipantPolicy, ParticipantRole, RoomStatus};

use sqlx::any::AnyRow;

use super::cache::Invalidation;
use super::rooms::{
    NewRoom, ROOM_SELECT, insert_room, open_rooms, parse_room_status, room_from_row,
};
use super::rows::{ParticipantAuth, ParticipantRow, RoomRow, Timestamp};
use super::tenants::{UsageDelta, adjust_usage};
use super::usage::{self, Metered};
use super::{Db, StoreError, StoreResult, col, parse_tenant_status, store_error};

/// A participant to insert: what a join admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewParticipant {
    pub id: String,
    pub tenant_id: String,
    pub room_id: String,
    pub user_id: Option<String>,
    pub display_name: String,
    pub role: ParticipantRole,
    pub joined_at: Timestamp,
    /// The `exp` of the refresh token minted for the join (see `tokens_expire_at` in
    /// `ParticipantRow`).
    pub tokens_expire_at: Timestamp,
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
        /// Whether this is the room's first participant ever (the room starts).
        first_join: bool,
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
pub enum RotateParticipantOutcome {
    /// The generation was bumped; mint tokens with the returned row's `token_generation`.
    Rotated(Box<ParticipantRow>),
    /// No present participant with this id in this open room of this tenant.
    NotFound,
    /// `expected_generation` was given and is no longer current (a stale refresh token).
    Stale,
}

fn parse_role(text: &str) -> StoreResult<ParticipantRole> {
    match text {
        "host" => Ok(ParticipantRole::Host),
        "participant" => Ok(ParticipantRole::Participant),
        other => Err(StoreError::Internal(format!(
            "unknown participant role {other:?}"
        ))),
    }
}

fn participant_from_row(row: &AnyRow) -> StoreResult<ParticipantRow> {
    Ok(ParticipantRow {
        seq: col(row, "seq")?,
        id: col(row, "id")?,
        tenant_id: col(row, "tenant_id")?,
        room_id: col(row, "room_id")?,
        user_id: col(row, "user_id")?,
        display_name: col(row, "display_name")?,
        role: parse_role(col(row, "role")?)?,
        joined_at: col(row, "joined_at")?,
        left_at: col(row, "left_at")?,
        token_generation: col(row, "token_generation")?,
        tokens_expire_at: col(row, "tokens_expire_at")?,
    })
}

/// Every participant a room has had, present or gone, in the order they joined (the
/// attendance of `meeting.ended`).
pub async fn participants_of(
    db: &mut Db,
    tenant_id: &str,
    room_id: &str,
) -> StoreResult<Vec<ParticipantRow>> {
    let rows = sqlx::query(
        "SELECT * FROM participants WHERE tenant_id = $1 AND room_id = $2 ORDER BY seq",
    )
    .bind(tenant_id)
    .bind(room_id)
    .fetch_all(db.conn()?)
    .await
    .map_err(store_error)?;
    rows.iter().map(participant_from_row).collect()
}

/// A participant by id, present or gone.
pub async fn participant(db: &mut Db, participant_id: &str) -> StoreResult<Option<ParticipantRow>> {
    sqlx::query("SELECT * FROM participants WHERE id = $1")
        .bind(participant_id)
        .fetch_optional(db.conn()?)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(participant_from_row)
        .transpose()
}

/// A present participant leaves and its tokens die; returns 1, or 0 when it had already
/// left. The caller holds the tenant's lock.
async fn disconnect(
    db: &mut Db,
    tenant_id: &str,
    participant_id: &str,
    now: Timestamp,
) -> StoreResult<i64> {
    let left = sqlx::query(
        "UPDATE participants SET left_at = $2, token_generation = token_generation + 1 \
         WHERE id = $1 AND left_at IS NULL",
    )
    .bind(participant_id)
    .bind(now)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    let left = left.rows_affected() as i64;
    if left > 0 {
        // The participant may be cached: its tokens must be refused from the commit on.
        db.invalidate(Invalidation::Tenant(tenant_id.to_owned()))
            .await?;
    }
    adjust_usage(db, tenant_id, present_delta(-left)).await?;
    Ok(left)
}

fn present_delta(participants: i64) -> UsageDelta {
    UsageDelta {
        active_participants: participants,
        ..UsageDelta::default()
    }
}

/// A room as a join reads it: its row, and whether anyone ever joined it.
async fn room_for_join(
    db: &mut Db,
    tenant_id: &str,
    room_id: &str,
) -> StoreResult<Option<(RoomRow, bool)>> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let columns = ROOM_SELECT
            .strip_suffix(" FROM rooms r")
            .expect("ROOM_SELECT ends with its FROM");
        format!(
            "{columns}, EXISTS (SELECT 1 FROM participants p WHERE p.tenant_id = r.tenant_id \
             AND p.room_id = r.id) AS joined_before FROM rooms r \
             WHERE r.tenant_id = $1 AND r.id = $2"
        )
    });
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()))
        .bind(tenant_id)
        .bind(room_id)
        .fetch_optional(db.conn()?)
        .await
        .map_err(store_error)?
    else {
        return Ok(None);
    };
    Ok(Some((
        room_from_row(&row)?,
        super::flag(&row, "joined_before")?,
    )))
}

/// Admits `new` to its room, within the room's and the tenant's quotas, as one change.
///
/// Its statements are few on purpose (issue 24's budget, `tests/api/statement_budget.rs`):
/// the tenant's lock is also the participant's count in its usage, the room is read once
/// (with its present count and whether anyone ever joined), the participant's row comes
/// back from its `INSERT`, and the room is written only when the join starts or wakes
/// it (a scheduled room, a first join, a room waiting empty). The lock makes the read
/// count exact: no other join of this tenant runs until this one commits or rolls back,
/// and a refusal rolls back the count with everything else.
pub async fn join(db: &mut Db, new: &NewParticipant, rules: JoinRules) -> StoreResult<JoinOutcome> {
    let Some((limits, span, _)) =
        usage::advance(db, &new.tenant_id, present_delta(1), new.joined_at, 1).await?
    else {
        return Ok(JoinOutcome::RoomNotFound);
    };
    // The time the join is metered at (see `tenants::lock_at`), which its row records too.
    let now = span.to;
    let mut created_room = false;
    let (mut room, joined_before) = match room_for_join(db, &new.tenant_id, &new.room_id).await? {
        Some(found) => found,
        None => {
            let Some(to_create) = rules.create_if_missing.filter(|_| rules.allow_early_join) else {
                return Ok(JoinOutcome::RoomNotFound);
            };
            if open_rooms(db, &new.tenant_id).await? >= limits.max_concurrent_rooms {
                return Ok(JoinOutcome::RoomQuotaExceeded {
                    limit: limits.max_concurrent_rooms,
                });
            }
            let room = insert_room(db, &to_create, true).await?;
            created_room = true;
            (room, false)
        }
    };
    if room.ended_at.is_some() {
        return Ok(JoinOutcome::RoomEnded);
    }
    if let Some(start) = room.scheduled_start
        && start > now
        && !rules.allow_early_join
    {
        return Ok(JoinOutcome::NotStarted {
            scheduled_start: start,
        });
    }
    let mut present = room.participant_count;
    let mut replaced = None;
    if let Some(user_id) = &new.user_id {
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT id FROM participants WHERE tenant_id = $1 AND room_id = $2 \
                 AND user_id = $3 AND left_at IS NULL",
        )
        .bind(&new.tenant_id)
        .bind(&new.room_id)
        .bind(user_id)
        .fetch_optional(db.conn()?)
        .await
        .map_err(store_error)?;
        if let Some(existing) = existing {
            match rules.duplicate_policy {
                DuplicateParticipantPolicy::Reject => {
                    return Ok(JoinOutcome::DuplicateUser { existing });
                }
                DuplicateParticipantPolicy::DisconnectExisting => {
                    // Leaves at the join's instant: the hour's peak is the level this
                    // change leaves (`tenants::Meter::open_use`), the replaced one gone.
                    present -= disconnect(db, &new.tenant_id, &existing, now).await?;
                    replaced = Some(existing);
                }
            }
        }
    }
    let limit = room
        .max_participants
        .map_or(limits.max_participants_per_room, |m| {
            m.min(limits.max_participants_per_room)
        });
    if present >= limit {
        // Dropping the transaction rolls back the count and the replacement above.
        return Ok(JoinOutcome::RoomFull { limit });
    }
    let participant = sqlx::query(
        "INSERT INTO participants (id, tenant_id, room_id, user_id, display_name, role, \
             joined_at, token_generation, tokens_expire_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8) RETURNING *",
    )
    .bind(&new.id)
    .bind(&new.tenant_id)
    .bind(&new.room_id)
    .bind(&new.user_id)
    .bind(&new.display_name)
    .bind(new.role.as_str())
    .bind(now)
    .bind(new.tokens_expire_at)
    .fetch_one(db.conn()?)
    .await
    .map_err(store_error)?;
    let participant = participant_from_row(&participant)?;
    // A room already running (joined before, active, not waiting empty) stays as it is,
    // and the statement that starts or wakes a room is not run: most joins are into a
    // running room. What the room was read as is exact: every writer of a room's row holds
    // its tenant's lock, as this join does.
    let running = joined_before && room.status == RoomStatus::Active && room.empty_since.is_none();
    if !running {
        let status: String = sqlx::query_scalar(
            "UPDATE rooms SET empty_since = NULL, started_at = COALESCE(started_at, $3), \
                 status = CASE WHEN status = 'scheduled' THEN 'active' ELSE status END \
                 WHERE tenant_id = $1 AND id = $2 RETURNING status",
        )
        .bind(&new.tenant_id)
        .bind(&new.room_id)
        .bind(now)
        .fetch_one(db.conn()?)
        .await
        .map_err(store_error)?;
        room.status = parse_room_status(&status)?;
    }
    if !joined_before && !created_room {
        // The room starts: its time counts in `room_seconds` from the meter's next change.
        adjust_usage(
            db,
            &new.tenant_id,
            UsageDelta {
                started_rooms: 1,
                ..UsageDelta::default()
            },
        )
        .await?;
    }
    if created_room {
        usage::record(
            db,
            &new.tenant_id,
            &Metered {
                span: usage::MeterSpan::at(now),
                rooms_created: 1,
            },
        )
        .await?;
    }
    // The room as the join leaves it, with the participant just admitted counted.
    room.empty_since = None;
    room.participant_count = present + 1;
    Ok(JoinOutcome::Joined {
        participant: Box::new(participant),
        room: Box::new(room),
        replaced,
        created_room,
        first_join: !joined_before,
    })
}

pub async fn participant_auth(
    db: &mut Db,
    participant_id: &str,
) -> StoreResult<Option<ParticipantAuth>> {
    let row = sqlx::query(
        "SELECT p.*, r.ended_at AS room_ended_at, t.status AS tenant_status, \
             t.rate_limit_per_minute AS tenant_rate_limit \
             FROM participants p \
             JOIN rooms r ON r.tenant_id = p.tenant_id AND r.id = p.room_id \
             JOIN tenants t ON t.id = p.tenant_id \
             WHERE p.id = $1",
    )
    .bind(participant_id)
    .fetch_optional(db.conn()?)
    .await
    .map_err(store_error)?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(ParticipantAuth {
        participant: participant_from_row(&row)?,
        room_ended: col::<Option<i64>>(&row, "room_ended_at")?.is_some(),
        tenant_status: parse_tenant_status(col(&row, "tenant_status")?)?,
        rate_limit_per_minute: col(&row, "tenant_rate_limit")?,
    }))
}

/// Bumps a present participant's token generation (every earlier token dies) at `now`,
/// for tokens whose refresh token expires at `tokens_expire_at`, which the same statement
/// records. A participant whose tokens had all expired by `now` has left (the sweeper
/// writes it down, at that instant): it is not found, not brought back.
pub async fn rotate_participant(
    db: &mut Db,
    tenant_id: &str,
    room_id: &str,
    participant_id: &str,
    expected_generation: Option<i64>,
    now: Timestamp,
    tokens_expire_at: Timestamp,
) -> StoreResult<RotateParticipantOutcome> {
    db.invalidate(Invalidation::Tenant(tenant_id.to_owned()))
        .await?;
    let rotated = sqlx::query(
        "UPDATE participants SET token_generation = token_generation + 1, \
             tokens_expire_at = $5 \
             WHERE id = $1 AND tenant_id = $2 AND room_id = $3 AND left_at IS NULL \
             AND ($4 IS NULL OR token_generation = $4) \
             AND (tokens_expire_at IS NULL OR tokens_expire_at > $6) \
             AND EXISTS (SELECT 1 FROM rooms r WHERE r.tenant_id = $2 AND r.id = $3 \
                         AND r.ended_at IS NULL) \
             RETURNING *",
    )
    .bind(participant_id)
    .bind(tenant_id)
    .bind(room_id)
    .bind(expected_generation)
    .bind(tokens_expire_at)
    .bind(now)
    .fetch_optional(db.conn()?)
    .await
    .map_err(store_error)?;
    let outcome = match rotated {
        Some(row) => RotateParticipantOutcome::Rotated(Box::new(participant_from_row(&row)?)),
        None if expected_generation.is_some() => {
            let live = sqlx::query(
                "SELECT 1 FROM participants p JOIN rooms r \
                     ON r.tenant_id = p.tenant_id AND r.id = p.room_id \
                     WHERE p.id = $1 AND p.tenant_id = $2 AND p.room_id = $3 \
                     AND p.left_at IS NULL AND r.ended_at IS NULL \
                     AND (p.tokens_expire_at IS NULL OR p.tokens_expire_at > $4)",
            )
            .bind(participant_id)
            .bind(tenant_id)
            .bind(room_id)
            .bind(now)
            .fetch_optional(db.conn()?)
            .await
            .map_err(store_error)?;
            if live.is_some() {
                RotateParticipantOutcome::Stale
            } else {
                RotateParticipantOutcome::NotFound
            }
        }
        None => RotateParticipantOutcome::NotFound,
    };
    Ok(outcome)
}

pub async fn remove_participant(
    db: &mut Db,
    tenant_id: &str,
    room_id: &str,
    participant_id: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    // The tenant's lock first, as every counter change takes it (see `adjust_usage`), and
    // the time the leave is metered at.
    let Some((_, now)) = super::tenants::lock_at(db, tenant_id, now).await? else {
        return Ok(false);
    };
    let removed = sqlx::query(
        "UPDATE participants SET left_at = $4, token_generation = token_generation + 1 \
             WHERE id = $1 AND tenant_id = $2 AND room_id = $3 AND left_at IS NULL \
             AND EXISTS (SELECT 1 FROM rooms r WHERE r.tenant_id = $2 AND r.id = $3 \
                         AND r.ended_at IS NULL)",
    )
    .bind(participant_id)
    .bind(tenant_id)
    .bind(room_id)
    .bind(now)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    if removed.rows_affected() == 0 {
        return Ok(false);
    }
    // The participant may be cached: its tokens must be refused from the commit on.
    db.invalidate(Invalidation::Tenant(tenant_id.to_owned()))
        .await?;
    usage::lower_levels(db, tenant_id, present_delta(-1), now).await?;
    sqlx::query(
        "UPDATE rooms SET empty_since = \
               CASE WHEN scheduled_start > $3 THEN scheduled_start ELSE $3 END \
             WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL AND NOT EXISTS \
               (SELECT 1 FROM participants p WHERE p.tenant_id = $1 AND p.room_id = $2 \
                AND p.left_at IS NULL)",
    )
    .bind(tenant_id)
    .bind(room_id)
    .bind(now)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    Ok(true)
}

/// Tenants that have present participants whose tokens had all expired by `$1`, after
/// `$2` in id order: the room sweeper's work list, every 30 s. It reads only present
/// participants, through `participants_present_expiry` (migration 0015), not every
/// participant who ever joined.
const TENANTS_WITH_EXPIRED: &str = "SELECT DISTINCT tenant_id FROM participants \
     WHERE left_at IS NULL AND tokens_expire_at <= $1 AND tenant_id > $2 \
     ORDER BY tenant_id LIMIT $3";

/// See [`TENANTS_WITH_EXPIRED`].
pub async fn tenants_with_expired(
    db: &mut Db,
    now: Timestamp,
    after: &str,
    limit: i64,
) -> StoreResult<Vec<String>> {
    sqlx::query_scalar(TENANTS_WITH_EXPIRED)
        .bind(now)
        .bind(after)
        .bind(limit)
        .fetch_all(db.conn()?)
        .await
        .map_err(store_error)
}

/// Ends the tenant's present participants whose tokens had all expired by `now`, as a
/// kick ends one (their tokens die, their rooms may be left empty), except that each
/// leaves at its `tokens_expire_at` — the instant its last refresh token expired — and
/// its time counts exactly up to there. Returns them as they are now (gone).
///
/// Under the tenant's lock, like every change of the levels: two sweepers (on two
/// instances) queue there, and the second finds nobody left to end, so each participant
/// is ended, and its time taken back, once.
///
/// The meter is advanced to `now` with the participants still counted (as any change
/// does), then the time each was counted for after its expiry, `[tokens_expire_at, now)`,
/// is taken back from the hours it fell in (see [`take_back`]). Peaks are maxima and stay
/// as written: an hour between an expiry and the sweep that ended it (at most one sweep
/// interval, unless the sweeper was down) may show a peak that counted the expired
/// participant.
pub async fn end_expired(
    db: &mut Db,
    tenant_id: &str,
    now: Timestamp,
) -> StoreResult<Vec<ParticipantRow>> {
    let Some((_, now)) = super::tenants::lock_at(db, tenant_id, now).await? else {
        return Ok(Vec::new());
    };
    // A participant is counted from its `joined_at` (the join's time on the meter), so it
    // never leaves before it: a refresh token minted before the meter's time of the join
    // (an instance whose clock lags, by more than the token's lifetime) ends it there.
    let rows = sqlx::query(
        "UPDATE participants SET token_generation = token_generation + 1, left_at = \
           CASE WHEN tokens_expire_at > joined_at THEN tokens_expire_at ELSE joined_at END \
         WHERE tenant_id = $1 AND left_at IS NULL AND tokens_expire_at <= $2 RETURNING *",
    )
    .bind(tenant_id)
    .bind(now)
    .fetch_all(db.conn()?)
    .await
    .map_err(store_error)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut ended = rows
        .iter()
        .map(participant_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    ended.sort_by_key(|p| p.seq);
    // The participants may be cached: their tokens must be refused from the commit on.
    db.invalidate(Invalidation::Tenant(tenant_id.to_owned()))
        .await?;
    let gone = ended.len() as i64;
    let span = usage::lower_levels(db, tenant_id, present_delta(-gone), now).await?;
    // The time counted after each expiry, grouped by instant.
    let mut since = std::collections::BTreeMap::<Timestamp, i64>::new();
    for p in &ended {
        *since.entry(p.left_at.unwrap_or(now)).or_default() += 1;
    }
    for (from, participants) in since {
        take_back(db, tenant_id, from, span.to, participants).await?;
    }
    // A room left empty waits for the empty-room sweeper from its last leave (which may be
    // another participant's, after the expiry), as after a kick.
    let rooms: std::collections::BTreeSet<&str> =
        ended.iter().map(|p| p.room_id.as_str()).collect();
    for room_id in rooms {
        sqlx::query(
            "UPDATE rooms SET empty_since = (SELECT CASE \
                   WHEN rooms.scheduled_start > MAX(p.left_at) THEN rooms.scheduled_start \
                   ELSE MAX(p.left_at) END \
                 FROM participants p WHERE p.tenant_id = $1 AND p.room_id = $2) \
             WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL AND NOT EXISTS \
               (SELECT 1 FROM participants p WHERE p.tenant_id = $1 AND p.room_id = $2 \
                AND p.left_at IS NULL)",
        )
        .bind(tenant_id)
        .bind(room_id)
        .execute(db.conn()?)
        .await
        .map_err(store_error)?;
    }
    Ok(ended)
}

/// Takes back `[from, to)` at `participants` fewer present (and no room fewer) from the
/// tenant's hours: time the meter counted for participants that had left at `from`. Every
/// hour of the range was written with them present, so each holds the seconds taken back;
/// a negative level offers no peak (`usage::record`), so no maximum changes.
async fn take_back(
    db: &mut Db,
    tenant_id: &str,
    from: Timestamp,
    to: Timestamp,
    participants: i64,
) -> StoreResult<()> {
    if from >= to {
        return Ok(());
    }
    usage::record(
        db,
        tenant_id,
        &Metered {
            span: usage::MeterSpan {
                from,
                to,
                participants: -participants,
                rooms: 0,
            },
            rooms_created: 0,
        },
    )
    .await
}

/// Gives present participants from before migration 0011 (no `tokens_expire_at`) the bound
/// `until`: start-up passes now plus the refresh-token lifetime, which no refresh token
/// minted before the start outlives (with an unchanged lifetime). Returns how many.
pub async fn bound_unknown_expiry(db: &mut Db, until: Timestamp) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE participants SET tokens_expire_at = $1 \
         WHERE left_at IS NULL AND tokens_expire_at IS NULL",
    )
    .bind(until)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    /// The sweeper's list of tenants with expired participants reads present participants
    /// only, on SQLite.
    #[tokio::test]
    async fn the_expiry_sweep_reads_only_present_participants() {
        let plan = crate::store::sqlite_query_plan(super::TENANTS_WITH_EXPIRED).await;
        assert_eq!(
            plan,
            ["SEARCH participants USING INDEX participants_present_expiry (tenant_id>?)"]
        );
    }
}
