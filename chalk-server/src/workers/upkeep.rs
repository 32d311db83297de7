//! Metrics upkeep: folds buffered histogram samples so memory stays bounded on an instance
//! nobody scrapes (see `metrics.rs`).

use std::time::Duration;

use crate::domain::core::Core;

/// How often `serve` drains the histograms' buffered samples; the exporter's own default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// Runs [`Metrics::upkeep`] every `interval`, until the returned handle is aborted.
pub fn spawn(core: Core, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            core.metrics.upkeep();
        }
    })
}
