//! What every resource module shares and `events.rs` needs too: rows as the API shows
//! them, and the tenant lookup a tenant-scoped change starts from. It sits below the
//! resource modules (which call `events::record`), so `events.rs` takes these from here
//! instead of importing the modules that call it.

use chalk_sdk::model::{ApiKey, Participant, Room};

use crate::clock::to_datetime;
use crate::error::{ApiError, ApiResult};
use crate::store::{ApiKeyRow, Db, ParticipantRow, RoomRow, TenantRow, tenants};

pub fn room(row: &RoomRow, at: i64) -> Room {
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

pub fn participant(row: &ParticipantRow) -> Participant {
    Participant {
        id: row.id.clone(),
        room_id: row.room_id.clone(),
        display_name: row.display_name.clone(),
        role: row.role,
        user_id: row.user_id.clone(),
        joined_at: to_datetime(row.joined_at),
    }
}

pub fn api_key(row: &ApiKeyRow) -> ApiKey {
    ApiKey {
        id: row.id.clone(),
        name: row.name.clone(),
        prefix: row.prefix.clone(),
        scopes: row.scopes.clone(),
        primary: row.primary,
        created_at: to_datetime(row.created_at),
        last_used_at: row.last_used_at.map(to_datetime),
        expires_at: row.expires_at.map(to_datetime),
    }
}

pub async fn tenant_row(db: &mut Db, id: &str) -> ApiResult<TenantRow> {
    tenants::get(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Tenant"))
}
