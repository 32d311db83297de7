//! The usage flush: writes the request counters aggregated in memory
//! (`domain/usage_counters.rs`) into the tenants' hourly usage rows, every few seconds and
//! once more at shutdown. One statement per batch of (tenant, hour) rows, in (tenant, hour)
//! order on every instance, so two instances flushing at once never deadlock. A failed
//! write puts its counts back for the next flush. After each flush it checks the usage
//! alerts (`domain/usage_alerts.rs`).

use std::time::Duration;

use crate::clock::now;
use crate::domain::core::Core;
use crate::domain::usage_alerts;
use crate::store::{StoreResult, Timestamp, usage};

/// How often `serve` flushes: a kill -9 loses at most this much of the counters (the
/// contract allows 10 s).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// (tenant, hour) entries per statement: each writes up to 3 rows (its hour, day and
/// month) of 7 parameters, far below either database's limit.
const BATCH: usize = 500;

/// Writes what is pending; returns how many (tenant, hour) rows it wrote.
pub async fn flush(core: &Core) -> StoreResult<usize> {
    flush_counted(core).await.map(|touched| touched.len())
}

/// [`flush`], returning the (tenant, hour) rows written, tenants in order.
async fn flush_counted(core: &Core) -> StoreResult<Vec<String>> {
    let batch = core.usage.take();
    if batch.is_empty() {
        return Ok(Vec::new());
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
        Ok(()) => Ok(batch.into_iter().map(|(tenant, _, _)| tenant).collect()),
        Err(e) => {
            core.usage.restore(batch);
            Err(e)
        }
    }
}

/// One tick: flush, then check the usage alerts of the tenants that used anything since
/// `since` (`domain/usage_alerts.rs`). Returns the alerts fired.
pub async fn tick(core: &Core, since: Timestamp, now: Timestamp) -> usize {
    let mut touched = match flush_counted(core).await {
        Ok(touched) => touched,
        Err(e) => {
            tracing::warn!(error = %e, "usage flush failed; its counts wait for the next one");
            Vec::new()
        }
    };
    touched.dedup();
    match usage_alerts::check(core, since, &touched, now).await {
        Ok(fired) => fired,
        Err(e) => {
            tracing::warn!(error = ?e, "usage alert check failed; the next one tries again");
            0
        }
    }
}

/// Ticks every `interval` until the returned handle is aborted; `serve` flushes once more
/// after stopping it.
pub fn spawn(core: Core, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut since = now();
        loop {
            ticks.tick().await;
            let at = now();
            tick(&core, since, at).await;
            since = at;
        }
    })
}
