//! The background task that ends rooms left empty for their tenant's
//! `empty_room_timeout_minutes`.
//!
//! "Empty since" is defined in `store::rooms`: from the room's creation (or its
//! `scheduled_start`, when later) until the first join, and from the moment the last
//! participant leaves (or the `scheduled_start`, when later) after that. A join in between
//! resets it; the store ends a room only if it is still empty since the same instant, so
//! the sweep never races a join.

use std::time::Duration;

use crate::clock::now;
use crate::domain::core::Core;
use crate::store::{StoreResult, rooms};

/// How often `serve` sweeps: a room ends at most this long after its timeout.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const BATCH: i64 = 500;
/// The smallest timeout the config allows (1 minute): nothing emptier than this is due.
const MIN_TIMEOUT_SECONDS: i64 = 60;

/// Ends every room that, at `at` (Unix seconds), has been empty for at least its tenant's
/// timeout. Returns how many ended.
pub async fn sweep(core: &Core, at: i64) -> StoreResult<usize> {
    let mut after_seq = 0;
    let mut ended = 0;
    loop {
        let batch = {
            let mut db = core.store.read().await?;
            rooms::empty(&mut db, at - MIN_TIMEOUT_SECONDS, after_seq, BATCH).await?
        };
        for room in &batch {
            after_seq = room.seq;
            let timeout_minutes = room.empty_room_timeout_minutes;
            if room.empty_since > at - timeout_minutes * 60 {
                continue;
            }
            let mut db = core.store.begin().await?;
            let ended_now = rooms::end_if_empty_since(
                &mut db,
                &room.tenant_id,
                &room.room_id,
                room.empty_since,
                at,
            )
            .await?;
            if ended_now {
                let ended = rooms::get(&mut db, &room.tenant_id, &room.room_id).await?;
                if let Some(ended) = ended
                    && let Err(e) = crate::domain::events::record_room_ended(&mut db, &ended).await
                {
                    // Not ended without its events: the next sweep tries again.
                    tracing::warn!(room = %room.room_id, error = ?e, "cannot record the end of a room");
                    continue;
                }
            }
            db.commit().await?;
            if ended_now {
                ended += 1;
                tracing::info!(tenant = %room.tenant_id, room = %room.room_id, timeout_minutes, "ended an empty room");
            }
        }
        if (batch.len() as i64) < BATCH {
            return Ok(ended);
        }
    }
}

/// Sweeps every `interval` until the returned handle is aborted.
pub fn spawn(core: Core, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = sweep(&core, now()).await {
                tracing::warn!(error = %e, "empty-room sweep failed; retrying at the next tick");
            }
        }
    })
}
