//! The background task that ends participants whose tokens have all expired, and rooms
//! left empty for their tenant's `empty_room_timeout_minutes`.
//!
//! A participant's presence ends when the last refresh token minted for it expires
//! (`tokens_expire_at`): the sweep writes that down, at that instant, as a kick would
//! (`store::participants::end_expired`); a room it leaves empty then waits for its
//! timeout like any other.
//!
//! "Empty since" is defined in `store::rooms`: from the room's creation (or its
//! `scheduled_start`, when later) until the first join, and from the moment the last
//! participant leaves (or the `scheduled_start`, when later) after that. A join in between
//! resets it; the store ends a room only if it is still empty since the same instant, so
//! the sweep never races a join.

use std::time::Duration;

use crate::clock::now;
use crate::domain::core::Core;
use crate::store::{StoreResult, participants, rooms};

/// How often `serve` sweeps: a room ends at most this long after its timeout.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const BATCH: i64 = 500;
/// The smallest timeout the config allows (1 minute): nothing emptier than this is due.
const MIN_TIMEOUT_SECONDS: i64 = 60;

/// Ends the participants whose tokens had all expired by `at` (Unix seconds), then every
/// room that, at `at`, has been empty for at least its tenant's timeout. Returns how many
/// rooms ended.
pub async fn sweep(core: &Core, at: i64) -> StoreResult<usize> {
    end_expired(core, at).await?;
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

/// Ends every participant whose tokens had all expired by `at`, one tenant per
/// transaction. Returns how many ended.
pub async fn end_expired(core: &Core, at: i64) -> StoreResult<usize> {
    let mut after = String::new();
    let mut ended = 0;
    loop {
        let tenants = {
            let mut db = core.store.read().await?;
            participants::tenants_with_expired(&mut db, at, &after, BATCH).await?
        };
        for tenant_id in &tenants {
            after.clone_from(tenant_id);
            let mut db = core.store.begin().await?;
            match crate::domain::rooms::end_expired(&mut db, tenant_id, at).await {
                Ok(n) => {
                    db.commit().await?;
                    ended += n;
                    if n > 0 {
                        tracing::info!(tenant = %tenant_id, participants = n, "ended participants whose tokens expired");
                    }
                }
                // Not ended without their events: the next sweep tries again.
                Err(e) => {
                    tracing::warn!(tenant = %tenant_id, error = ?e, "cannot end participants whose tokens expired");
                }
            }
        }
        if (tenants.len() as i64) < BATCH {
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
