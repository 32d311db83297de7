//! The usage flush: writes the request counters aggregated in memory
//! (`domain/usage_counters.rs`) into the tenants' hourly usage rows, every few seconds and
//! once more at shutdown. One statement per batch of (tenant, hour) rows, in (tenant, hour)
//! order on every instance, so two instances flushing at once never deadlock. A failed
//! write puts its counts back for the next flush.

use std::time::Duration;

use crate::domain::core::Core;
use crate::store::{StoreResult, usage};

/// How often `serve` flushes: a kill -9 loses at most this much of the counters (the
/// contract allows 10 s).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Rows per statement (6 parameters each, far below either database's limit).
const BATCH: usize = 500;

/// Writes what is pending; returns how many (tenant, hour) rows it wrote.
pub async fn flush(core: &Core) -> StoreResult<usize> {
    let batch = core.usage.take();
    if batch.is_empty() {
        return Ok(0);
    }
    let written = async {
        let mut db = core.store.begin().await?;
        for chunk in batch.chunks(BATCH) {
            usage::add_counters(&mut db, chunk).await?;
        }
        db.commit().await
    }
    .await;
    match written {
        Ok(()) => Ok(batch.len()),
        Err(e) => {
            core.usage.restore(batch);
            Err(e)
        }
    }
}

/// Flushes every `interval` until the returned handle is aborted; `serve` flushes once
/// more after stopping it.
pub fn spawn(core: Core, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = flush(&core).await {
                tracing::warn!(error = %e, "usage flush failed; its counts wait for the next one");
            }
        }
    })
}
