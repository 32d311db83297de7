//! A tenant's events (docs/api.md "Webhooks"): what happened, written with the change.
//!
//! [`record`] is the one way to emit an event. It takes the change's own [`Db`], so the
//! event and its deliveries commit with the change or not at all: an acknowledged change
//! always has its event, a rolled-back one never does, and a delivery written here
//! survives any crash (the worker in `webhook_delivery.rs` sends it). It writes one
//! delivery per enabled endpoint subscribed to the type; [`record_meeting_ended`] adds the
//! config's `post_meeting_webhook`.

use chalk_sdk::model::{
    Attendee, EventRecord, EventType, MeetingEndedData, ParticipantEventData, Room,
};
use serde::Serialize;

use crate::clock::{now, to_datetime};
use crate::crypto::new_id;
use crate::error::{ApiError, ApiResult};
use crate::store::deliveries::{self, NewDelivery};
use crate::store::events::{self, EventRow};
use crate::store::{Db, ParticipantRow, RoomRow, participants, webhooks};

/// How long events (and their deliveries) are kept.
pub const RETENTION_SECONDS: i64 = 30 * 86_400;

/// The wire form of a stored event (the webhook body and the list item).
pub fn view(row: &EventRow) -> ApiResult<EventRecord> {
    Ok(EventRecord {
        id: row.id.clone(),
        event_type: row.event_type.clone(),
        created_at: to_datetime(row.created_at),
        tenant_id: row.tenant_id.clone(),
        data: serde_json::from_str(&row.data)
            .map_err(|e| ApiError::internal(format!("event {} data: {e}", row.id)))?,
    })
}

/// Writes an event of `kind` about `data` for `tenant_id`, and a delivery to each of the
/// tenant's enabled endpoints subscribed to it, in the caller's transaction. Returns the
/// event's id.
pub async fn record(
    db: &mut Db,
    tenant_id: &str,
    kind: EventType,
    data: impl Serialize,
) -> ApiResult<String> {
    Ok(record_row(db, tenant_id, kind, data).await?.id)
}

async fn record_row(
    db: &mut Db,
    tenant_id: &str,
    kind: EventType,
    data: impl Serialize,
) -> ApiResult<EventRow> {
    let (event, has_endpoints) = insert(db, tenant_id, kind, data).await?;
    if has_endpoints {
        for endpoint in webhooks::enabled(db, tenant_id).await? {
            if endpoint.subscribes_to(kind.as_str()) {
                enqueue(db, &event, Some(&endpoint.id), None, None).await?;
            }
        }
    }
    Ok(event)
}

/// Writes a `webhook.test` event and a delivery to that one endpoint, whatever it
/// subscribes to. Returns (event id, delivery id).
pub async fn record_test(
    db: &mut Db,
    tenant_id: &str,
    endpoint_id: &str,
    data: impl Serialize,
) -> ApiResult<(String, String)> {
    let (event, _) = insert(db, tenant_id, EventType::WebhookTest, data).await?;
    let delivery = enqueue(db, &event, Some(endpoint_id), None, None).await?;
    Ok((event.id, delivery))
}

/// `room.ended` and `meeting.ended` for a room that has just ended, in the transaction
/// that ended it; `meeting.ended` also goes to the config's `post_meeting_webhook` when
/// it is enabled.
pub async fn record_room_ended(db: &mut Db, room: &RoomRow) -> ApiResult<()> {
    let at = now();
    let view = super::views::room(room, at);
    record(db, &room.tenant_id, EventType::RoomEnded, &view).await?;
    record_meeting_ended(db, room, view).await
}

async fn record_meeting_ended(db: &mut Db, room: &RoomRow, view: Room) -> ApiResult<()> {
    let tenant = super::views::tenant_row(db, &room.tenant_id).await?;
    let hook = tenant.config.post_meeting_webhook.as_ref();
    let include = |flag: fn(&crate::store::stored_config::StoredWebhook) -> bool| {
        hook.is_some_and(flag).then_some(serde_json::Value::Null)
    };
    let attendance = participants::participants_of(db, &room.tenant_id, &room.id)
        .await?
        .iter()
        .map(attendee)
        .collect();
    let data = MeetingEndedData {
        room: view,
        attendance,
        recording: include(|h| h.include_recording),
        transcript: include(|h| h.include_transcript),
        summary: include(|h| h.include_summary),
        action_items: include(|h| h.include_action_items),
    };
    let event = record_row(db, &room.tenant_id, EventType::MeetingEnded, &data).await?;
    if let Some(hook) = hook.filter(|h| h.enabled)
        && let (Some(url), Some(secret)) = (&hook.url, &hook.secret)
    {
        enqueue(db, &event, None, Some(url), Some(&secret.sealed)).await?;
    }
    Ok(())
}

fn attendee(row: &ParticipantRow) -> Attendee {
    Attendee {
        participant_id: row.id.clone(),
        display_name: row.display_name.clone(),
        user_id: row.user_id.clone(),
        role: row.role,
        joined_at: to_datetime(row.joined_at),
        left_at: row.left_at.map(to_datetime),
    }
}

/// `participant.joined` or `participant.left`.
pub async fn record_participant(
    db: &mut Db,
    kind: EventType,
    participant: &ParticipantRow,
) -> ApiResult<()> {
    let data = ParticipantEventData {
        participant: super::views::participant(participant),
        room_id: participant.room_id.clone(),
    };
    record(db, &participant.tenant_id, kind, data)
        .await
        .map(drop)
}

/// Writes an event; returns it, and whether its tenant has any enabled endpoint.
async fn insert(
    db: &mut Db,
    tenant_id: &str,
    kind: EventType,
    data: impl Serialize,
) -> ApiResult<(EventRow, bool)> {
    let data = serde_json::to_string(&data)
        .map_err(|e| ApiError::internal(format!("{kind} data: {e}")))?;
    let event = EventRow {
        seq: 0,
        id: new_id("evt"),
        tenant_id: tenant_id.to_owned(),
        event_type: kind.as_str().to_owned(),
        data,
        created_at: now(),
    };
    let has_endpoints = events::insert(db, &event).await?;
    Ok((event, has_endpoints))
}

async fn enqueue(
    db: &mut Db,
    event: &EventRow,
    endpoint_id: Option<&str>,
    url: Option<&str>,
    secret: Option<&str>,
) -> ApiResult<String> {
    let id = new_id("whd");
    deliveries::insert(
        db,
        &NewDelivery {
            id: id.clone(),
            tenant_id: &event.tenant_id,
            event_id: &event.id,
            endpoint_id,
            url,
            secret,
            now: now(),
        },
    )
    .await?;
    Ok(id)
}

/// A tenant's events with `seq < before_seq` (0: from the newest), newest first.
pub async fn list(
    db: &mut Db,
    tenant_id: &str,
    event_type: Option<EventType>,
    before_seq: i64,
    limit: i64,
) -> ApiResult<Vec<EventRow>> {
    super::views::tenant_row(db, tenant_id).await?;
    let before = if before_seq == 0 {
        i64::MAX
    } else {
        before_seq
    };
    Ok(events::list(
        db,
        tenant_id,
        event_type.map(EventType::as_str),
        before,
        limit,
    )
    .await?)
}

/// The notices of `api_key.expiring`: a key expiring within 7 days (but more than one)
/// gets the `7d` one, within a day the `1d` one; each once (a row in
/// `api_key_expiry_notices`, claimed in the transaction that writes the event, so
/// instances scanning at once write it once). Returns how many events it wrote.
pub async fn record_expiring_keys(store: &crate::store::Store, at: i64) -> ApiResult<usize> {
    const DAY: i64 = 86_400;
    const BATCH: i64 = 100;
    let mut written = 0;
    for (horizon, from, until) in [("7d", at + DAY, at + 7 * DAY), ("1d", at, at + DAY)] {
        loop {
            let mut db = store.begin().await?;
            let due = events::keys_expiring(&mut db, horizon, from, until, BATCH).await?;
            for key_id in &due {
                if !events::claim_expiry_notice(&mut db, key_id, horizon, at).await? {
                    continue;
                }
                let Some(key) = crate::store::keys::by_id(&mut db, key_id).await? else {
                    continue;
                };
                let data = chalk_sdk::model::ApiKeyExpiringData {
                    api_key: super::views::api_key(&key.key),
                    expires_in: horizon.to_owned(),
                };
                record(&mut db, &key.key.tenant_id, EventType::ApiKeyExpiring, data).await?;
                written += 1;
            }
            db.commit().await?;
            if (due.len() as i64) < BATCH {
                break;
            }
        }
    }
    Ok(written)
}
