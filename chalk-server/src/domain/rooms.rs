//! Rooms and participants (Chalk authentication guide).
//!
//! Rooms belong to the calling tenant: another tenant's room is 404, like one that does not
//! exist. Quotas and the duplicate-user policy are decided inside the store's transaction
//! (see `store::rooms`); this module validates input and translates outcomes.

use chalk_sdk::model::{
    AddParticipantRequest, CreateRoomRequest, ErrorCode, EventType, JoinedParticipant,
    ParticipantRole, Room, RoomStatus, Scope, TenantStatus,
};
use serde_json::{Value, json};

use super::audit::{self, AuditContext};

use crate::clock::{now, to_datetime};
use crate::crypto::new_id;
use crate::domain::caller::{Caller, TenantCaller, participant_token_refused};
use crate::domain::core::Core;
use crate::domain::signing::{ISSUER, PARTICIPANT_ACCESS, PARTICIPANT_REFRESH, ParticipantClaims};
use crate::domain::validate::Problems;
use crate::domain::validate::parse;
use crate::error::{ApiError, ApiResult};
use crate::store::{
    CreateRoomOutcome, Db, EndRoomOutcome, JoinOutcome, JoinRules, NewParticipant, NewRoom,
    ParticipantRow, RoomRow, RotateParticipantOutcome, participants, rooms,
};

use super::{events, views};

const ROOM_PREFIX: &str = "room_";

/// The id a path names: `cs101` and `room_cs101` are the same room.
pub fn room_path_id(raw: &str) -> String {
    if raw.starts_with(ROOM_PREFIX) {
        raw.to_owned()
    } else {
        format!("{ROOM_PREFIX}{raw}")
    }
}

/// A client-chosen id: `[a-z0-9_-]{3,64}` after the `room_` prefix, which is added when absent.
pub fn client_room_id(raw: &str) -> Option<String> {
    let rest = raw.strip_prefix(ROOM_PREFIX).unwrap_or(raw);
    let valid = (3..=64).contains(&rest.len())
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    valid.then(|| format!("{ROOM_PREFIX}{rest}"))
}

/// A tenant credential holding `scope`. The master key manages tenants, not their rooms;
/// a participant token is limited to its own room.
pub fn room_tenant(caller: &Caller, scope: Scope) -> ApiResult<&TenantCaller> {
    match caller {
        Caller::Tenant(t) if t.has(scope) => Ok(t),
        Caller::Tenant(_) => Err(ApiError::forbidden(format!(
            "This credential lacks the {scope} scope"
        ))),
        Caller::Master | Caller::Operator(_) => Err(ApiError::forbidden(
            "Rooms belong to a tenant: use the tenant's API key or access token, not the master key",
        )),
        Caller::Participant(_) => Err(participant_token_refused()),
        Caller::Anonymous => Err(ApiError::unauthorized(
            "Missing credentials: send X-API-Key or Authorization: Bearer <token>",
        )),
    }
}

/// Who may act on one room: a tenant credential with `scope`, or a participant token of
/// that room (a host's, when `host_only`). Returns the tenant id. A participant token of
/// another room gets 404, as if the room did not exist.
pub fn room_actor(
    caller: &Caller,
    room_id: &str,
    scope: Scope,
    host_only: bool,
) -> ApiResult<String> {
    match caller {
        Caller::Participant(p) if p.room_id != room_id => Err(ApiError::not_found("Room")),
        Caller::Participant(p) if host_only && p.role != ParticipantRole::Host => Err(
            ApiError::forbidden("Only a host's participant token may do this"),
        ),
        Caller::Participant(p) => Ok(p.tenant_id.clone()),
        other => room_tenant(other, scope).map(|t| t.tenant_id.clone()),
    }
}

fn quota_exceeded(message: String) -> ApiError {
    ApiError::new(ErrorCode::QuotaExceeded, message)
}

/// When a participant refresh token minted at `issued_at` expires: the store records it
/// as the participant's `tokens_expire_at` in the statement that admits the participant or
/// renews its tokens, and the participant is ended at that instant unless renewed.
pub fn refresh_expiry(core: &Core, issued_at: i64) -> i64 {
    issued_at + core.policy.refresh_token_ttl
}

/// Access and refresh tokens for a participant at its current token generation, issued
/// at `issued_at`: the refresh token's `exp` is [`refresh_expiry`] of it, the instant the
/// store recorded for the participant when it admitted it or renewed its tokens.
pub fn mint_tokens(core: &Core, row: &ParticipantRow, issued_at: i64) -> (String, String, i64) {
    let at = issued_at;
    debug_assert_eq!(
        row.tokens_expire_at,
        Some(refresh_expiry(core, at)),
        "the tokens expire when the store says"
    );
    let claims = |typ: &str, ttl: i64| ParticipantClaims {
        iss: ISSUER.to_owned(),
        sub: row.id.clone(),
        tid: row.tenant_id.clone(),
        rid: row.room_id.clone(),
        role: row.role.as_str().to_owned(),
        r#gen: row.token_generation,
        jti: crate::crypto::random_base62(22),
        iat: at,
        exp: at + ttl,
        typ: typ.to_owned(),
    };
    let access_ttl = core.policy.access_token_ttl;
    let access = core
        .signer
        .mint_participant(claims(PARTICIPANT_ACCESS, access_ttl));
    let refresh = core
        .signer
        .mint_participant(claims(PARTICIPANT_REFRESH, core.policy.refresh_token_ttl));
    (access, refresh, access_ttl)
}

pub async fn create(
    db: &mut Db,
    ctx: &AuditContext,
    tenant_id: &str,
    body: Value,
) -> ApiResult<Room> {
    let request: CreateRoomRequest = parse(body)?;
    let at = now();
    let mut problems = Problems::default();
    let id = match &request.id {
        None => new_id("room"),
        Some(raw) => client_room_id(raw).unwrap_or_else(|| {
            problems.push(
                "id",
                "must be 3 to 64 of a-z, 0-9, _ and - (after an optional room_ prefix)",
            );
            String::new()
        }),
    };
    let name = request
        .name
        .as_deref()
        .map(|name| problems.text("name", name, 1, 200));
    problems.range("max_participants", request.max_participants, 1, 10_000);
    problems.finish()?;
    let room = NewRoom {
        id: id.clone(),
        tenant_id: tenant_id.to_owned(),
        name,
        scheduled_start: request.scheduled_start.map(|t| t.timestamp()),
        max_participants: request.max_participants,
        created_at: at,
    };
    match rooms::create(db, &room).await? {
        CreateRoomOutcome::Created(row) => {
            let changes = audit::created(&json!({
                "name": row.name,
                "scheduled_start": row.scheduled_start.map(to_datetime),
                "max_participants": row.max_participants,
            }));
            audit::record(
                db,
                ctx,
                "room.create",
                ("room", &row.id),
                Some(tenant_id),
                Some(changes),
            )
            .await?;
            let view = views::room(&row, at);
            events::record(db, tenant_id, EventType::RoomCreated, &view).await?;
            Ok(view)
        }
        CreateRoomOutcome::IdTaken => Err(ApiError::conflict(format!(
            "A room with id {id} already exists"
        ))),
        CreateRoomOutcome::QuotaExceeded { limit } => Err(quota_exceeded(format!(
            "The tenant already has {limit} rooms that have not ended (max_concurrent_rooms); end one first"
        ))),
        CreateRoomOutcome::TenantNotFound => Err(ApiError::not_found("Tenant")),
    }
}

pub async fn list(
    db: &mut Db,
    tenant_id: &str,
    status: Option<RoomStatus>,
    after_seq: i64,
    limit: i64,
) -> ApiResult<Vec<RoomRow>> {
    Ok(rooms::list(db, tenant_id, status, now(), after_seq, limit).await?)
}

/// A room read on its own (`GET /rooms/{id}`): from the cache when it holds the room
/// (see `cache.rs`).
pub async fn get_cached(
    core: &Core,
    tenant_id: &str,
    room_id: &str,
) -> ApiResult<std::sync::Arc<RoomRow>> {
    let cache = core.store.cache();
    if let Some(row) = cache.room(tenant_id, room_id) {
        return Ok(row);
    }
    let ticket = cache.ticket();
    let mut db = core.store.read().await?;
    let row = std::sync::Arc::new(get(&mut db, tenant_id, room_id).await?);
    cache.put_room(ticket, &row);
    Ok(row)
}

pub async fn get(db: &mut Db, tenant_id: &str, room_id: &str) -> ApiResult<RoomRow> {
    rooms::get(db, tenant_id, room_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Room"))
}

/// Ends a room; an ended room is returned unchanged.
pub async fn end(
    db: &mut Db,
    ctx: &AuditContext,
    tenant_id: &str,
    room_id: &str,
) -> ApiResult<RoomRow> {
    match rooms::end(db, tenant_id, room_id, now()).await? {
        EndRoomOutcome::Ended(row) => {
            audit::record(
                db,
                ctx,
                "room.end",
                ("room", room_id),
                Some(tenant_id),
                None,
            )
            .await?;
            events::record_room_ended(db, &row).await?;
            Ok(*row)
        }
        EndRoomOutcome::AlreadyEnded(row) => Ok(*row),
        EndRoomOutcome::NotFound => Err(ApiError::not_found("Room")),
    }
}

/// A join made ready before its transaction begins: the request validated, the tenant's
/// join rules read (from the cache), ids chosen and the tokens signed — everything that
/// does not need the writer, so the writer holds only the join's SQL.
pub struct PreparedJoin {
    new: NewParticipant,
    rules: JoinRules,
    access_token: String,
    refresh_token: String,
    expires_in: i64,
}

/// Validates a join of `room_id` and prepares it (see [`PreparedJoin`]). Call it before
/// beginning the transaction: on PostgreSQL a read while holding a transaction's
/// connection could wait for a connection that only finishing transactions free.
pub async fn prepare_join(
    core: &Core,
    tenant_id: &str,
    room_id: &str,
    body: Value,
) -> ApiResult<PreparedJoin> {
    let request: AddParticipantRequest = parse(body)?;
    let mut problems = Problems::default();
    let display_name = problems.text("display_name", &request.display_name, 1, 100);
    let user_id = request
        .user_id
        .as_deref()
        .map(|u| problems.text("user_id", u, 1, 200));
    problems.finish()?;
    // The rules are the config as this request found it (the cache is exact).
    let tenant = crate::store::tenants::snapshot(&core.store, tenant_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Tenant"))?;
    let config = &tenant.row.config;
    let at = now();
    let rules = JoinRules {
        allow_early_join: config.allow_early_join,
        duplicate_policy: config.duplicate_participant_policy,
        create_if_missing: client_room_id(room_id).map(|id| NewRoom {
            id,
            tenant_id: tenant_id.to_owned(),
            name: None,
            scheduled_start: None,
            max_participants: None,
            created_at: at,
        }),
    };
    let new = NewParticipant {
        id: new_id("part"),
        tenant_id: tenant_id.to_owned(),
        room_id: room_id.to_owned(),
        user_id,
        display_name,
        role: request.role,
        joined_at: at,
        tokens_expire_at: refresh_expiry(core, at),
    };
    // The participant as the join will insert it (a new participant's token generation
    // is 0), so its tokens can be signed now.
    let draft = ParticipantRow {
        seq: 0,
        id: new.id.clone(),
        tenant_id: new.tenant_id.clone(),
        room_id: new.room_id.clone(),
        user_id: new.user_id.clone(),
        display_name: new.display_name.clone(),
        role: new.role,
        joined_at: at,
        left_at: None,
        token_generation: 0,
        tokens_expire_at: Some(new.tokens_expire_at),
    };
    let (access_token, refresh_token, expires_in) = mint_tokens(core, &draft, at);
    Ok(PreparedJoin {
        new,
        rules,
        access_token,
        refresh_token,
        expires_in,
    })
}

/// Adds the prepared participant under the tenant's join rules, with its events and audit
/// entry, in `db`'s transaction.
pub async fn join(
    db: &mut Db,
    ctx: &AuditContext,
    prepared: PreparedJoin,
) -> ApiResult<JoinedParticipant> {
    let PreparedJoin {
        new,
        rules,
        access_token,
        refresh_token,
        expires_in,
    } = prepared;
    let (tenant_id, room_id) = (new.tenant_id.as_str(), new.room_id.as_str());
    let at = new.joined_at;
    let (participant, room, replaced) = match participants::join(db, &new, rules).await? {
        JoinOutcome::Joined {
            participant,
            room,
            replaced,
            created_room,
            first_join,
        } => {
            if created_room {
                events::record(
                    db,
                    tenant_id,
                    EventType::RoomCreated,
                    views::room(&room, at),
                )
                .await?;
            }
            if let Some(old) = &replaced {
                tracing::info!(room = %room_id, replaced = %old, "duplicate user: earlier participant disconnected");
                if let Some(old) = participants::participant(db, old).await? {
                    events::record_participant(db, EventType::ParticipantLeft, &old).await?;
                }
            }
            // A room starts with its first participant.
            if first_join {
                events::record(
                    db,
                    tenant_id,
                    EventType::RoomStarted,
                    views::room(&room, at),
                )
                .await?;
            }
            events::record_participant(db, EventType::ParticipantJoined, &participant).await?;
            (participant, room, replaced)
        }
        JoinOutcome::RoomNotFound => return Err(ApiError::not_found("Room")),
        JoinOutcome::RoomEnded => {
            return Err(ApiError::conflict(format!("Room {room_id} has ended")));
        }
        JoinOutcome::NotStarted { scheduled_start } => {
            return Err(ApiError::conflict(format!(
                "Room {room_id} starts at {}; joining earlier needs allow_early_join",
                to_datetime(scheduled_start).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
        JoinOutcome::RoomFull { limit } => {
            return Err(quota_exceeded(format!(
                "Room {room_id} is full: it holds {limit} participants (max_participants_per_room)"
            )));
        }
        JoinOutcome::RoomQuotaExceeded { limit } => {
            return Err(quota_exceeded(format!(
                "Creating room {room_id} would exceed max_concurrent_rooms ({limit})"
            )));
        }
        JoinOutcome::DuplicateUser { .. } => {
            return Err(ApiError::conflict(format!(
                "user_id {:?} is already in room {room_id} (duplicate_participant_policy is reject)",
                new.user_id.as_deref().unwrap_or_default()
            )));
        }
    };
    let changes = audit::created(&json!({
        "room_id": participant.room_id,
        "display_name": participant.display_name,
        "role": participant.role,
        "user_id": participant.user_id,
        "replaced_participant_id": replaced,
    }));
    let target = ("participant", participant.id.as_str());
    audit::record(
        db,
        ctx,
        "participant.join",
        target,
        Some(tenant_id),
        Some(changes),
    )
    .await?;
    debug_assert_eq!(
        participant.token_generation, 0,
        "the tokens were signed for 0"
    );
    Ok(JoinedParticipant {
        participant: views::participant(&participant),
        room: views::room(&room, at),
        access_token: access_token.into(),
        refresh_token: refresh_token.into(),
        token_type: "Bearer".to_owned(),
        expires_in,
    })
}

/// The claims of a participant's refresh token for this room and participant, presented
/// by `caller` (no credential, or one of the same tenant).
pub async fn refresh_claims(
    core: &Core,
    caller: &Caller,
    refresh_token: &str,
    room_id: &str,
    pid: &str,
) -> ApiResult<ParticipantClaims> {
    let invalid = ApiError::invalid_refresh_token;
    let claims = core
        .signer
        .verify_participant(refresh_token, PARTICIPANT_REFRESH)
        .await
        .map_err(|_| invalid())?;
    if claims.rid != room_id
        || claims.sub != pid
        || caller.tenant_id().is_some_and(|t| t != claims.tid)
    {
        return Err(invalid());
    }
    Ok(claims)
}

/// New tokens with the participant's own refresh token: single use (compare-and-set on
/// the token generation). Refused while the tenant is suspended. `issued_at` and
/// `expires_at` are those of the tokens to mint (see [`refresh_expiry`]).
pub async fn renew_with_refresh_token(
    db: &mut Db,
    ctx: &AuditContext,
    claims: &ParticipantClaims,
    (issued_at, expires_at): (i64, i64),
) -> ApiResult<ParticipantRow> {
    let invalid = ApiError::invalid_refresh_token;
    let auth = participants::participant_auth(db, &claims.sub)
        .await?
        .ok_or_else(invalid)?;
    if auth.tenant_status == TenantStatus::Suspended {
        return Err(ApiError::tenant_suspended());
    }
    match participants::rotate_participant(
        db,
        &claims.tid,
        &claims.rid,
        &claims.sub,
        Some(claims.r#gen),
        issued_at,
        expires_at,
    )
    .await?
    {
        RotateParticipantOutcome::Rotated(row) => {
            renewed(db, ctx, &row).await?;
            Ok(*row)
        }
        RotateParticipantOutcome::Stale | RotateParticipantOutcome::NotFound => Err(invalid()),
    }
}

/// New tokens minted for the tenant's backend (`rooms:write`); every earlier token dies.
/// A participant's tokens were replaced (every earlier one died).
async fn renewed(db: &mut Db, ctx: &AuditContext, row: &ParticipantRow) -> ApiResult<()> {
    let target = ("participant", row.id.as_str());
    audit::record(
        db,
        ctx,
        "participant.renew_tokens",
        target,
        Some(&row.tenant_id),
        None,
    )
    .await?;
    Ok(())
}

pub async fn renew_for_tenant(
    db: &mut Db,
    ctx: &AuditContext,
    tenant_id: &str,
    room_id: &str,
    pid: &str,
    (issued_at, expires_at): (i64, i64),
) -> ApiResult<ParticipantRow> {
    match participants::rotate_participant(db, tenant_id, room_id, pid, None, issued_at, expires_at)
        .await?
    {
        RotateParticipantOutcome::Rotated(row) => {
            renewed(db, ctx, &row).await?;
            Ok(*row)
        }
        _ => Err(ApiError::not_found("Participant")),
    }
}

pub async fn remove(
    db: &mut Db,
    ctx: &AuditContext,
    tenant_id: &str,
    room_id: &str,
    pid: &str,
) -> ApiResult<()> {
    if participants::remove_participant(db, tenant_id, room_id, pid, now()).await? {
        let changes = audit::created(&json!({"room_id": room_id}));
        let target = ("participant", pid);
        audit::record(
            db,
            ctx,
            "participant.remove",
            target,
            Some(tenant_id),
            Some(changes),
        )
        .await?;
        if let Some(gone) = participants::participant(db, pid).await? {
            events::record_participant(db, EventType::ParticipantLeft, &gone).await?;
        }
        Ok(())
    } else {
        Err(ApiError::not_found("Participant"))
    }
}

/// Ends the tenant's participants whose tokens had all expired by `at`, each at its
/// expiry (see `store::participants::end_expired`), with a `participant.left` event for
/// each, as a kick has. Like the empty-room sweeper's room ends, no audit entry: nobody
/// acted. Returns how many ended.
pub async fn end_expired(db: &mut Db, tenant_id: &str, at: i64) -> ApiResult<usize> {
    let ended = participants::end_expired(db, tenant_id, at).await?;
    for gone in &ended {
        events::record_participant(db, EventType::ParticipantLeft, gone).await?;
    }
    Ok(ended.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_ids() {
        assert_eq!(room_path_id("cs101"), "room_cs101");
        assert_eq!(room_path_id("room_cs101"), "room_cs101");
        assert_eq!(client_room_id("cs101").as_deref(), Some("room_cs101"));
        assert_eq!(client_room_id("room_a-b_c").as_deref(), Some("room_a-b_c"));
        assert_eq!(client_room_id("ab"), None);
        assert_eq!(client_room_id("CS101"), None);
        assert_eq!(client_room_id("a/b/c"), None);
        assert_eq!(client_room_id(&"x".repeat(65)), None);
    }
}
