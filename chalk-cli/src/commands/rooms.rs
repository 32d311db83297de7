//! `chalk rooms create|list|get|end` and `chalk participants add|token|remove`: a tenant's
//! rooms, with a tenant credential that has the rooms scopes.

use chalk_sdk::SecretString;
use chalk_sdk::model::{
    AddParticipantRequest, CreateRoomRequest, ListRoomsQuery, ParticipantRole, Room, RoomStatus,
};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use futures_util::{StreamExt, TryStreamExt};
use serde_json::json;

use crate::context::{Context, read_stdin_secret};
use crate::error::CliResult;
use crate::output::{Block, View, flatten, time};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoomStatusArg {
    Scheduled,
    Active,
    Ended,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    Host,
    Participant,
}

#[derive(Debug, Subcommand)]
pub enum RoomsCmd {
    /// Create a room (rooms:write); 409 when the tenant's room quota is full
    #[command(after_help = "Examples:
  chalk rooms create --id cs101 --name \"CS101 Lecture\" --max-participants 30
  chalk rooms create --name Standup --scheduled-start 2027-01-06T10:00:00Z -o json | jq -r .id")]
    Create {
        /// Your own id (`[a-z0-9_-]{3,64}`; `room_` is prefixed when absent)
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// When the room opens (RFC 3339)
        #[arg(long, value_name = "TIME")]
        scheduled_start: Option<DateTime<Utc>>,
        #[arg(long, value_name = "N")]
        max_participants: Option<i64>,
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<String>,
    },
    /// List the tenant's rooms (rooms:read), every page
    #[command(after_help = "Examples:
  chalk rooms list --status active
  chalk rooms list -o json | jq -r '.[] | select(.participant_count > 0) | .id'")]
    List {
        #[arg(long, value_enum)]
        status: Option<RoomStatusArg>,
        /// Stop after this many rooms
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// Show a room
    #[command(after_help = "Example:\n  chalk rooms get room_cs101")]
    Get { id: Option<String> },
    /// End a room: every participant's tokens stop working (asks first; `--yes` without a terminal)
    #[command(after_help = "Example:\n  chalk rooms end room_cs101 --yes")]
    End {
        id: Option<String>,
        #[arg(short, long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ParticipantsCmd {
    /// Add a participant to a room; its tokens are printed this once
    #[command(after_help = "Examples:
  chalk participants add room_cs101 --name Alice --user-id u_42
  chalk participants add room_cs101 --name \"Prof. Oak\" --role host -o json | jq -r .access_token")]
    Add {
        room: Option<String>,
        /// Display name
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_enum, default_value = "participant")]
        role: RoleArg,
        /// Your user's id; a second join of the same id follows the duplicate policy
        #[arg(long)]
        user_id: Option<String>,
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<String>,
    },
    /// New tokens for a participant (rooms:write), or with --refresh-token-stdin, in
    /// exchange for its single-use refresh token and no other credential
    #[command(after_help = "Examples:
  chalk participants token room_cs101 part_abc
  jq -r .refresh_token alice.json | chalk participants token room_cs101 part_abc --refresh-token-stdin")]
    Token {
        room: Option<String>,
        participant: Option<String>,
        /// Read the participant's refresh token from stdin
        #[arg(long)]
        refresh_token_stdin: bool,
    },
    /// Remove (kick) a participant; its tokens stop working (asks first)
    #[command(after_help = "Example:\n  chalk participants remove room_cs101 part_abc --yes")]
    Remove {
        room: Option<String>,
        participant: Option<String>,
        #[arg(short, long)]
        yes: bool,
    },
}

const ROOM_HOW: &str = "pass the room id (room_...) as an argument";
const PART_HOW: &str = "pass the participant id (part_...) after the room id";

pub async fn rooms(ctx: &Context, cmd: RoomsCmd) -> CliResult<View> {
    match cmd {
        RoomsCmd::Create {
            id,
            name,
            scheduled_start,
            max_participants,
            idempotency_key,
        } => {
            let request = CreateRoomRequest {
                id,
                name,
                scheduled_start,
                max_participants,
            };
            let client = ctx.client()?;
            let room = match idempotency_key {
                Some(key) => {
                    client
                        .rooms()
                        .create_with_idempotency_key(&request, key)
                        .await?
                }
                None => client.rooms().create(&request).await?,
            };
            View::fields(&room)
        }
        RoomsCmd::List { status, limit } => {
            let query = ListRoomsQuery {
                status: status.map(|s| match s {
                    RoomStatusArg::Scheduled => RoomStatus::Scheduled,
                    RoomStatusArg::Active => RoomStatus::Active,
                    RoomStatusArg::Ended => RoomStatus::Ended,
                }),
                limit: limit.map(|l| l.clamp(1, 200) as u32),
                ..Default::default()
            };
            let client = ctx.client()?;
            let stream = client.rooms().list_all(query);
            let rooms: Vec<Room> = match limit {
                Some(limit) => stream.take(limit).try_collect().await?,
                None => stream.try_collect().await?,
            };
            let optional = |t: Option<DateTime<Utc>>| t.map_or_else(|| "-".to_owned(), time);
            let rows = rooms
                .iter()
                .map(|r| {
                    vec![
                        r.id.clone(),
                        r.name.clone().unwrap_or_else(|| "-".into()),
                        r.status.as_str().to_owned(),
                        match r.max_participants {
                            Some(max) => format!("{}/{max}", r.participant_count),
                            None => r.participant_count.to_string(),
                        },
                        optional(r.scheduled_start),
                        time(r.created_at),
                    ]
                })
                .collect();
            View::new(
                &rooms,
                vec![Block::Grid(
                    vec![
                        "id",
                        "name",
                        "status",
                        "participants",
                        "scheduled",
                        "created",
                    ],
                    rows,
                )],
            )
        }
        RoomsCmd::Get { id } => {
            let id = ctx.require(id, "room id", ROOM_HOW)?;
            View::fields(&ctx.client()?.rooms().get(&id).await?)
        }
        RoomsCmd::End { id, yes } => {
            let id = ctx.require(id, "room id", ROOM_HOW)?;
            ctx.confirm(
                yes,
                &format!("End room {id}? Every participant's tokens stop working."),
            )?;
            View::fields(&ctx.client()?.rooms().end(&id).await?)
        }
    }
}

pub async fn participants(ctx: &Context, cmd: ParticipantsCmd) -> CliResult<View> {
    match cmd {
        ParticipantsCmd::Add {
            room,
            name,
            role,
            user_id,
            idempotency_key,
        } => {
            let room = ctx.require(room, "room id", ROOM_HOW)?;
            let name = ctx.require(name, "display name", "pass --name NAME")?;
            let role = match role {
                RoleArg::Host => ParticipantRole::Host,
                RoleArg::Participant => ParticipantRole::Participant,
            };
            let request = AddParticipantRequest {
                user_id,
                ..AddParticipantRequest::new(name, role)
            };
            let client = ctx.client()?;
            let participants = client.rooms().participants(&room);
            let joined = match idempotency_key {
                Some(key) => participants.add_with_idempotency_key(&request, key).await?,
                None => participants.add(&request).await?,
            };
            let json = json!({
                "participant": joined.participant,
                "room": joined.room,
                "access_token": joined.access_token.expose(),
                "refresh_token": joined.refresh_token.expose(),
                "token_type": joined.token_type,
                "expires_in": joined.expires_in,
            });
            let rows = flatten(&json!({
                "participant": joined.participant,
                "room": {"id": joined.room.id, "status": joined.room.status,
                         "participant_count": joined.room.participant_count},
                "expires_in": joined.expires_in,
            }));
            View::new(
                json,
                token_blocks(
                    rows,
                    &joined.access_token,
                    &joined.refresh_token,
                    &joined.participant.id,
                ),
            )
        }
        ParticipantsCmd::Token {
            room,
            participant,
            refresh_token_stdin,
        } => {
            let room = ctx.require(room, "room id", ROOM_HOW)?;
            let participant = ctx.require(participant, "participant id", PART_HOW)?;
            let client = if refresh_token_stdin {
                ctx.client_with(None, None)?
            } else {
                ctx.client()?
            };
            let participants = client.rooms().participants(&room);
            let tokens = if refresh_token_stdin {
                let refresh = SecretString::new(read_stdin_secret("refresh token")?);
                participants.refresh(&participant, &refresh).await?
            } else {
                participants.token(&participant).await?
            };
            let json = json!({
                "participant_id": tokens.participant_id,
                "room_id": tokens.room_id,
                "access_token": tokens.access_token.expose(),
                "refresh_token": tokens.refresh_token.expose(),
                "token_type": tokens.token_type,
                "expires_in": tokens.expires_in,
            });
            let rows = vec![
                ("participant_id".into(), tokens.participant_id.clone()),
                ("room_id".into(), tokens.room_id.clone()),
                ("expires_in".into(), format!("{} s", tokens.expires_in)),
            ];
            View::new(
                json,
                token_blocks(
                    rows,
                    &tokens.access_token,
                    &tokens.refresh_token,
                    &tokens.participant_id,
                ),
            )
        }
        ParticipantsCmd::Remove {
            room,
            participant,
            yes,
        } => {
            let room = ctx.require(room, "room id", ROOM_HOW)?;
            let participant = ctx.require(participant, "participant id", PART_HOW)?;
            ctx.confirm(
                yes,
                &format!("Remove {participant} from {room}? Its tokens stop working."),
            )?;
            let removed = ctx
                .client()?
                .rooms()
                .participants(&room)
                .remove(&participant)
                .await?;
            View::fields(&removed)
        }
    }
}

fn token_blocks(
    rows: Vec<(String, String)>,
    access: &SecretString,
    refresh: &SecretString,
    participant: &str,
) -> Vec<Block> {
    vec![
        Block::Fields(rows),
        Block::Secret {
            label: format!("access token of {participant}"),
            value: access.expose().to_owned(),
        },
        Block::Secret {
            label: format!("refresh token of {participant} (works once)"),
            value: refresh.expose().to_owned(),
        },
    ]
}
