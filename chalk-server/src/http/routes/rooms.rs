//! `/rooms` and `/rooms/{id}/participants` (Chalk authentication guide): HTTP only; the
//! rules live in `domain::rooms`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chalk_sdk::model::{
    Actor, ActorType, AddParticipantRequest, CreateRoomRequest, Data, Deleted, ErrorEnvelope,
    JoinResponse, ListRoomsQuery, Page, ParticipantTokenRequest, ParticipantTokens,
    ParticipantTokensResponse, Room, Scope,
};

use crate::clock::now;
use crate::domain::audit::AuditContext;
use crate::domain::caller::Caller;
use crate::domain::rooms::{self, room_actor, room_path_id, room_tenant};
use crate::domain::validate::parse;
use crate::domain::views;
use crate::error::{ApiError, ApiResult};
use crate::http::credentials::{RequestFacts, admit, stamp};
use crate::http::extract::{ApiQuery, JsonBody, OptionalJsonBody};
use crate::http::idempotency::{self, Produced};
use crate::http::pagination::{next_cursor, page_request};
use crate::http::rate_limit::Budget;
use crate::http::state::AppState;
use crate::store::Db;

pub const TAG: &str = "rooms";

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
    audit: AuditContext,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let tenant_id = room_tenant(&caller, Scope::RoomsWrite)?.tenant_id.clone();
    let fingerprint = idempotency::fingerprint("POST", "/api/v1/rooms", Some(&body));
    idempotency::run(
        &state,
        &caller,
        &headers,
        fingerprint,
        async |db: &mut Db| {
            let room = rooms::create(db, &audit, &tenant_id, body).await?;
            Ok(Produced::new(StatusCode::CREATED, Data { data: room }))
        },
    )
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
    let page = page_request(&state.sealer, query.limit, query.cursor.as_deref())?;
    let mut db = state.store.read().await?;
    let mut rows = rooms::list(
        &mut db,
        &tenant.tenant_id,
        query.status,
        page.after_seq,
        page.limit + 1,
    )
    .await?;
    let next_cursor = next_cursor(&state.sealer, &mut rows, page.limit, |r| r.seq);
    let at = now();
    Ok(Json(Page {
        data: rows.iter().map(|r| views::room(r, at)).collect(),
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
    let row = rooms::get_cached(&state, &tenant_id, &room_id).await?;
    Ok(Json(Data {
        data: views::room(&row, now()),
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
    audit: AuditContext,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<Room>>> {
    let room_id = room_path_id(&id);
    let tenant_id = room_actor(&caller, &room_id, Scope::RoomsWrite, true)?;
    let mut db = state.store.begin().await?;
    let row = rooms::end(&mut db, &audit, &tenant_id, &room_id).await?;
    db.commit().await?;
    Ok(Json(Data {
        data: views::room(&row, now()),
    }))
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
    audit: AuditContext,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let tenant_id = room_tenant(&caller, Scope::RoomsWrite)?.tenant_id.clone();
    let room_id = room_path_id(&id);
    let path = format!("/api/v1/rooms/{room_id}/participants");
    let fingerprint = idempotency::fingerprint("POST", &path, Some(&body));
    // Everything but the SQL before the transaction (see `rooms::prepare_join`).
    let prepared = rooms::prepare_join(&state, &tenant_id, &room_id, body).await?;
    idempotency::run(
        &state,
        &caller,
        &headers,
        fingerprint,
        async |db: &mut Db| {
            let joined = rooms::join(db, &audit, prepared).await?;
            Ok(Produced::new(
                StatusCode::CREATED,
                JoinResponse {
                    data: joined.clone(),
                    mirrored: joined,
                },
            ))
        },
    )
    .await
}

/// New tokens for a participant.
#[utoipa::path(post, path = "/api/v1/rooms/{id}/participants/{pid}/token", tag = TAG,
    description = "Two ways, both giving a new access and refresh token and killing every earlier token \
        of the participant: (1) your backend, with a `rooms:write` credential and no body (the \
        authentication guide's flow); (2) the participant's browser, with no credential and \
        `{\"refresh_token\": \"…\"}` — single use: of concurrent presentations exactly one succeeds, \
        and a used, expired or foreign refresh token is 401 `INVALID_REFRESH_TOKEN`; such a renewal counts \
        against the participant's own rate limit (`CHALK_PARTICIPANT_RATE_LIMIT`, 429 past it) and answers to \
        the tenant's `allowed_origins`. 404 when the \
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
    audit: AuditContext,
    facts: RequestFacts,
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
    let mut decision = None;
    // The tokens' issue time, and so their expiry, which the renewal records with the
    // generation it bumps (the participant ends there unless renewed again).
    let issued_at = now();
    let tokens = (issued_at, rooms::refresh_expiry(&state, issued_at));
    let participant = match request.refresh_token {
        Some(refresh) => {
            let claims =
                rooms::refresh_claims(&state, &caller, refresh.expose(), &room_id, &pid).await?;
            // No credential header: the refresh token names the participant acting.
            let actor = Actor {
                kind: ActorType::Participant,
                id: Some(claims.sub.clone()),
                name: None,
            };
            // The middleware saw no credential either, so the participant's own limit and
            // its tenant's allowed_origins are applied here, before the renewal writes.
            decision = match admit(
                &state,
                &facts,
                &headers,
                Some(Budget::participant(&claims.sub, &state.policy)),
                Some(&claims.tid),
                || actor.clone(),
            )
            .await
            {
                Ok(decision) => decision,
                Err(refused) => return Ok(refused),
            };
            let mut db = state.store.begin().await?;
            let audit = audit.acting_as(actor);
            let row = rooms::renew_with_refresh_token(&mut db, &audit, &claims, tokens).await?;
            db.commit().await?;
            row
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
            let mut db = state.store.begin().await?;
            let row =
                rooms::renew_for_tenant(&mut db, &audit, &tenant.tenant_id, &room_id, &pid, tokens)
                    .await?;
            db.commit().await?;
            row
        }
    };
    let (access, refresh, expires_in) = rooms::mint_tokens(&state, &participant, issued_at);
    let tokens = ParticipantTokens {
        participant_id: participant.id.clone(),
        room_id: participant.room_id.clone(),
        access_token: access.into(),
        refresh_token: refresh.into(),
        token_type: "Bearer".to_owned(),
        expires_in,
    };
    let mut response = Json(ParticipantTokensResponse {
        data: tokens.clone(),
        mirrored: tokens,
    })
    .into_response();
    if let Some(d) = decision {
        stamp(response.headers_mut(), d);
    }
    Ok(response)
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
    audit: AuditContext,
    Path((id, pid)): Path<(String, String)>,
) -> ApiResult<Json<Data<Deleted>>> {
    let room_id = room_path_id(&id);
    let tenant_id = room_actor(&caller, &room_id, Scope::RoomsWrite, true)?;
    let mut db = state.store.begin().await?;
    rooms::remove(&mut db, &audit, &tenant_id, &room_id, &pid).await?;
    db.commit().await?;
    Ok(Json(Data {
        data: Deleted {
            id: pid,
            deleted: true,
        },
    }))
}
