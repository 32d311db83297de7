//! `/rooms` and `/rooms/{id}/participants` (Chalk authentication guide).
//!
//! Rooms belong to the calling tenant: another tenant's room is 404, like one that does not
//! exist. Quotas and the duplicate-user policy are decided inside the store's transaction
//! (see `store::rooms`); handlers only validate input and translate outcomes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chalk_sdk::model::{
    AddParticipantRequest, CreateRoomRequest, Data, Deleted, ErrorCode, ErrorEnvelope,
    JoinResponse, JoinedParticipant, ListRoomsQuery, Page, Participant, ParticipantRole,
    ParticipantTokenRequest, ParticipantTokens, ParticipantTokensResponse, Room, Scope,
    TenantStatus,
};

use crate::auth::{
    Caller, OriginRefused, TenantCaller, check_origin_for, participant_token_refused,
};
use crate::crypto::new_id;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, JsonBody, OptionalJsonBody, parse};
use crate::idempotency::{self, Produced};
use crate::pagination::{next_cursor, page_request};
use crate::state::{AppState, now, to_datetime};
use crate::store::{
    CreateRoomOutcome, EndRoomOutcome, JoinOutcome, JoinRules, NewParticipant, NewRoom,
    ParticipantRow, RoomRow, RotateParticipantOutcome,
};
use crate::tokens::{ISSUER, PARTICIPANT_ACCESS, PARTICIPANT_REFRESH, ParticipantClaims};
use crate::validate::Problems;

pub const TAG: &str = "rooms";

const ROOM_PREFIX: &str = "room_";

/// The id a path names: `cs101` and `room_cs101` are the same room.
fn room_path_id(raw: &str) -> String {
    if raw.starts_with(ROOM_PREFIX) {
        raw.to_owned()
    } else {
        format!("{ROOM_PREFIX}{raw}")
    }
}

/// A client-chosen id: `[a-z0-9_-]{3,64}` after the `room_` prefix, which is added when absent.
fn client_room_id(raw: &str) -> Option<String> {
    let rest = raw.strip_prefix(ROOM_PREFIX).unwrap_or(raw);
    let valid = (3..=64).contains(&rest.len())
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    valid.then(|| format!("{ROOM_PREFIX}{rest}"))
}

pub fn room_view(row: &RoomRow, at: i64) -> Room {
    Room {
        id: row.id.clone(),
        name: row.name.clone(),
        status: row.status_at(at),
        scheduled_start: row.scheduled_start.map(to_datetime),
        max_participants: row.max_participants,
        participant_count: row.participant_count,
        created_at: to_datetime(row.created_at),
        ended_at: row.ended_at.map(to_datetime),
    }
}

fn participant_view(row: &ParticipantRow) -> Participant {
    Participant {
        id: row.id.clone(),
        room_id: row.room_id.clone(),
        display_name: row.display_name.clone(),
        role: row.role,
        user_id: row.user_id.clone(),
        joined_at: to_datetime(row.joined_at),
    }
}

/// A tenant credential holding `scope`. The master key manages tenants, not their rooms;
/// a participant token is limited to its own room.
fn room_tenant(caller: &Caller, scope: Scope) -> ApiResult<&TenantCaller> {
    match caller {
        Caller::Tenant(t) if t.has(scope) => Ok(t),
        Caller::Tenant(_) => Err(ApiError::forbidden(format!(
            "This credential lacks the {scope} scope"
        ))),
        Caller::Master => Err(ApiError::forbidden(
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
fn room_actor(caller: &Caller, room_id: &str, scope: Scope, host_only: bool) -> ApiResult<String> {
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

fn to_value(body: impl serde::Serialize) -> ApiResult<serde_json::Value> {
    serde_json::to_value(body).map_err(ApiError::internal)
}

/// Create a room.
#[utoipa::path(post, path = "/api/v1/rooms", tag = TAG,
    description = "Needs `rooms:write`. Honors `Idempotency-Key`. `id` is optional: give your own \
        (`[a-z0-9_-]{3,64}`, `room_` added when absent) so that your URLs map to rooms; 409 `CONFLICT` \
        when the tenant already has a room with that id (ended rooms keep their ids). 409 \
        `QUOTA_EXCEEDED` when the tenant already has `max_concurrent_rooms` rooms that have not ended — \
        checked inside the store transaction, so concurrent creates never exceed it. A room with a future \
        `scheduled_start` is `scheduled` until someone joins or the start passes.",
    params(("Idempotency-Key" = Option<String>, Header, description = "1..=255 printable ASCII", pattern = r"^[\x20-\x7E]{1,255}$")),
    request_body = CreateRoomRequest,
    responses((status = 201, body = Data<Room>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 409, description = "Id taken, Idempotency-Key reused, or QUOTA_EXCEEDED", body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope), (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let tenant_id = room_tenant(&caller, Scope::RoomsWrite)?.tenant_id.clone();
    let fingerprint = idempotency::fingerprint("POST", "/api/v1/rooms", Some(&body));
    idempotency::run(&state, &caller, &headers, fingerprint, || async {
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
        let outcome = state
            .store
            .create_room(NewRoom {
                id: id.clone(),
                tenant_id,
                name,
                scheduled_start: request.scheduled_start.map(|t| t.timestamp()),
                max_participants: request.max_participants,
                created_at: at,
            })
            .await?;
        match outcome {
            CreateRoomOutcome::Created(row) => Ok(Produced {
                status: StatusCode::CREATED,
                body: to_value(Data {
                    data: room_view(&row, at),
                })?,
            }),
            CreateRoomOutcome::IdTaken => Err(ApiError::conflict(format!(
                "A room with id {id} already exists"
            ))),
            CreateRoomOutcome::QuotaExceeded { limit } => Err(quota_exceeded(format!(
                "The tenant already has {limit} rooms that have not ended (max_concurrent_rooms); end one first"
            ))),
            CreateRoomOutcome::TenantNotFound => Err(ApiError::not_found("Tenant")),
        }
    })
    .await
}

/// List the tenant's rooms, oldest first.
#[utoipa::path(get, path = "/api/v1/rooms", tag = TAG,
    description = "Needs `rooms:read`. `?status=scheduled|active|ended` filters.",
    params(ListRoomsQuery),
    responses((status = 200, body = Page<Room>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListRoomsQuery>,
) -> ApiResult<Json<Page<Room>>> {
    let tenant = room_tenant(&caller, Scope::RoomsRead)?;
    let page = page_request(query.limit, query.cursor.as_deref())?;
    let at = now();
    let mut rows = state
        .store
        .list_rooms(
            &tenant.tenant_id,
            query.status,
            at,
            page.after_seq,
            page.limit + 1,
        )
        .await?;
    let next_cursor = next_cursor(&mut rows, page.limit, |r| r.seq);
    Ok(Json(Page {
        data: rows.iter().map(|r| room_view(r, at)).collect(),
        next_cursor,
    }))
}

/// Get a room.
#[utoipa::path(get, path = "/api/v1/rooms/{id}", tag = TAG,
    description = "Needs `rooms:read`, or a participant token of this room. `cs101` and `room_cs101` \
        name the same room.",
    params(("id" = String, Path, description = "Room id")),
    responses((status = 200, body = Data<Room>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<Room>>> {
    let room_id = room_path_id(&id);
    let tenant_id = room_actor(&caller, &room_id, Scope::RoomsRead, false)?;
    let row = state
        .store
        .get_room(&tenant_id, &room_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Room"))?;
    Ok(Json(Data {
        data: room_view(&row, now()),
    }))
}

/// End a room.
#[utoipa::path(post, path = "/api/v1/rooms/{id}/end", tag = TAG,
    description = "Needs `rooms:write`, or a host's participant token of this room. Every participant \
        token of the room stops working at once. Ending an ended room changes nothing and returns it.",
    params(("id" = String, Path, description = "Room id")),
    responses((status = 200, body = Data<Room>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn end(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<Room>>> {
    let room_id = room_path_id(&id);
    let tenant_id = room_actor(&caller, &room_id, Scope::RoomsWrite, true)?;
    let at = now();
    match state.store.end_room(&tenant_id, &room_id, at).await? {
        EndRoomOutcome::Ended(row) | EndRoomOutcome::AlreadyEnded(row) => Ok(Json(Data {
            data: room_view(&row, at),
        })),
        EndRoomOutcome::NotFound => Err(ApiError::not_found("Room")),
    }
}

/// Access and refresh tokens for a participant at its current token generation.
fn mint_tokens(state: &AppState, row: &ParticipantRow) -> (String, String, i64) {
    let at = now();
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
    let access_ttl = state.policy.access_token_ttl;
    let access = state
        .signer
        .mint_participant(claims(PARTICIPANT_ACCESS, access_ttl));
    let refresh = state
        .signer
        .mint_participant(claims(PARTICIPANT_REFRESH, state.policy.refresh_token_ttl));
    (access, refresh, access_ttl)
}

/// Add a participant and get the tokens for its browser.
#[utoipa::path(post, path = "/api/v1/rooms/{id}/participants", tag = TAG,
    description = "Needs `rooms:write`. Honors `Idempotency-Key`. Unknown room id: created (subject to \
        `max_concurrent_rooms`) when the tenant's `allow_early_join` is on and the id is a valid room id, \
        else 404. Before `scheduled_start`: allowed only with `allow_early_join` (409 `CONFLICT`). An ended \
        room: 409 `CONFLICT`. Full room (`min(room max_participants, tenant max_participants_per_room)`): 409 \
        `QUOTA_EXCEEDED`, decided inside the store transaction so concurrent joins never overfill it. Same \
        `user_id` present: policy `reject` → 409 `CONFLICT`; `disconnect_existing` → the earlier \
        participant's tokens stop working and the new one joins. \
        Deviation for compatibility: besides the contract's `data` envelope, the same fields are repeated at \
        the top level, because the Chalk authentication guide's backend code reads `access_token`, \
        `refresh_token`, `participant.id` and `room.id` from the top level of this response.",
    params(("id" = String, Path, description = "Room id (`cs101` and `room_cs101` are the same room)"),
        ("Idempotency-Key" = Option<String>, Header, description = "1..=255 printable ASCII", pattern = r"^[\x20-\x7E]{1,255}$")),
    request_body = AddParticipantRequest,
    responses((status = 201, body = JoinResponse), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "CONFLICT (duplicate user, ended room, not started) or QUOTA_EXCEEDED", body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope), (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn add_participant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let tenant_id = room_tenant(&caller, Scope::RoomsWrite)?.tenant_id.clone();
    let room_id = room_path_id(&id);
    let path = format!("/api/v1/rooms/{room_id}/participants");
    let fingerprint = idempotency::fingerprint("POST", &path, Some(&body));
    idempotency::run(&state, &caller, &headers, fingerprint, || async {
        let request: AddParticipantRequest = parse(body)?;
        let mut problems = Problems::default();
        let display_name = problems.text("display_name", &request.display_name, 1, 100);
        let user_id = request
            .user_id
            .as_deref()
            .map(|u| problems.text("user_id", u, 1, 200));
        problems.finish()?;
        let tenant = super::tenants::load(&state, &tenant_id).await?;
        let config = super::tenants::stored_config(&tenant)?;
        let at = now();
        let rules = JoinRules {
            allow_early_join: config.allow_early_join,
            duplicate_policy: config.duplicate_participant_policy,
            create_if_missing: client_room_id(&room_id).map(|id| NewRoom {
                id,
                tenant_id: tenant_id.clone(),
                name: None,
                scheduled_start: None,
                max_participants: None,
                created_at: at,
            }),
        };
        let outcome = state
            .store
            .add_participant(
                NewParticipant {
                    id: new_id("part"),
                    tenant_id: tenant_id.clone(),
                    room_id: room_id.clone(),
                    user_id: user_id.clone(),
                    display_name,
                    role: request.role,
                    joined_at: at,
                },
                rules,
            )
            .await?;
        let (participant, room) = match outcome {
            JoinOutcome::Joined {
                participant,
                room,
                replaced,
                ..
            } => {
                if let Some(old) = replaced {
                    tracing::info!(room = %room_id, replaced = %old, "duplicate user: earlier participant disconnected");
                }
                (participant, room)
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
                    user_id.unwrap_or_default()
                )));
            }
        };
        let (access, refresh, expires_in) = mint_tokens(&state, &participant);
        let joined = JoinedParticipant {
            participant: participant_view(&participant),
            room: room_view(&room, at),
            access_token: access.into(),
            refresh_token: refresh.into(),
            token_type: "Bearer".to_owned(),
            expires_in,
        };
        Ok(Produced {
            status: StatusCode::CREATED,
            body: to_value(JoinResponse {
                data: joined.clone(),
                mirrored: joined,
            })?,
        })
    })
    .await
}

/// New tokens for a participant.
#[utoipa::path(post, path = "/api/v1/rooms/{id}/participants/{pid}/token", tag = TAG,
    description = "Two ways, both giving a new access and refresh token and killing every earlier token \
        of the participant: (1) your backend, with a `rooms:write` credential and no body (the \
        authentication guide's flow); (2) the participant's browser, with no credential and \
        `{\"refresh_token\": \"…\"}` — single use: of concurrent presentations exactly one succeeds, \
        and a used, expired or foreign refresh token is 401 `INVALID_REFRESH_TOKEN`. 404 when the \
        participant has left or the room has ended. Like the join, the answer repeats `data`'s fields at \
        the top level for the guide's code.",
    params(("id" = String, Path, description = "Room id"), ("pid" = String, Path, description = "Participant id")),
    request_body(content = Option<ParticipantTokenRequest>, description = "Optional: the participant's refresh token"),
    responses((status = 200, body = ParticipantTokensResponse), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope)),
    security(("api_key" = []), ("bearer" = []), ()))]
pub async fn token(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, pid)): Path<(String, String)>,
    headers: HeaderMap,
    OptionalJsonBody(body): OptionalJsonBody,
) -> ApiResult<Response> {
    let room_id = room_path_id(&id);
    // The body is optional, and the document says so with a nullable schema: a JSON `null`
    // is the same as no body.
    let request: ParticipantTokenRequest = match body {
        Some(value) if !value.is_null() => parse(value)?,
        _ => ParticipantTokenRequest::default(),
    };
    let outcome = match request.refresh_token {
        Some(refresh) => {
            let invalid = ApiError::invalid_refresh_token;
            let claims = state
                .signer
                .verify_participant(refresh.expose(), PARTICIPANT_REFRESH)
                .map_err(|_| invalid())?;
            if claims.rid != room_id
                || claims.sub != pid
                || caller.tenant_id().is_some_and(|t| t != claims.tid)
            {
                return Err(invalid());
            }
            // No credential header: the middleware could not check the origin.
            if let Err(error) = check_origin_for(&state, &claims.tid, &headers).await {
                let mut response = error.into_response();
                response.extensions_mut().insert(OriginRefused);
                return Ok(response);
            }
            let auth = state
                .store
                .participant_auth(&pid)
                .await?
                .ok_or_else(invalid)?;
            if auth.tenant_status == TenantStatus::Suspended {
                return Err(ApiError::tenant_suspended());
            }
            match state
                .store
                .rotate_participant_tokens(&claims.tid, &room_id, &pid, Some(claims.r#gen))
                .await?
            {
                RotateParticipantOutcome::Rotated(row) => row,
                RotateParticipantOutcome::Stale | RotateParticipantOutcome::NotFound => {
                    return Err(invalid());
                }
            }
        }
        None => {
            if matches!(caller, Caller::Participant(_)) {
                return Err(ApiError::forbidden(
                    "A participant renews its tokens with its refresh_token in the body, not its access token",
                ));
            }
            if caller == Caller::Anonymous {
                return Err(ApiError::unauthorized(
                    "Send a rooms:write credential, or the participant's refresh_token in the body",
                ));
            }
            let tenant = room_tenant(&caller, Scope::RoomsWrite)?;
            match state
                .store
                .rotate_participant_tokens(&tenant.tenant_id, &room_id, &pid, None)
                .await?
            {
                RotateParticipantOutcome::Rotated(row) => row,
                _ => return Err(ApiError::not_found("Participant")),
            }
        }
    };
    let (access, refresh, expires_in) = mint_tokens(&state, &outcome);
    let tokens = ParticipantTokens {
        participant_id: outcome.id.clone(),
        room_id: outcome.room_id.clone(),
        access_token: access.into(),
        refresh_token: refresh.into(),
        token_type: "Bearer".to_owned(),
        expires_in,
    };
    Ok(Json(ParticipantTokensResponse {
        data: tokens.clone(),
        mirrored: tokens,
    })
    .into_response())
}

/// Remove (kick) a participant.
#[utoipa::path(delete, path = "/api/v1/rooms/{id}/participants/{pid}", tag = TAG,
    description = "Needs `rooms:write`, or a host's participant token of this room. The participant's \
        tokens stop working at once. When the room is left empty, its `empty_room_timeout_minutes` \
        starts counting.",
    params(("id" = String, Path, description = "Room id"), ("pid" = String, Path, description = "Participant id")),
    responses((status = 200, body = Data<Deleted>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorEnvelope)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn remove_participant(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, pid)): Path<(String, String)>,
) -> ApiResult<Json<Data<Deleted>>> {
    let room_id = room_path_id(&id);
    let tenant_id = room_actor(&caller, &room_id, Scope::RoomsWrite, true)?;
    if state
        .store
        .remove_participant(&tenant_id, &room_id, &pid, now())
        .await?
    {
        Ok(Json(Data {
            data: Deleted {
                id: pid,
                deleted: true,
            },
        }))
    } else {
        Err(ApiError::not_found("Participant"))
    }
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
