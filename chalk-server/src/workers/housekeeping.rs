//! The background purge that keeps the store bounded (docs/api.md Hardening rules: "nothing
//! grows without bound"): idempotency records once their 24 h are over (their sealed
//! responses, secrets included, go with them) and refresh tokens past their expiry
//! (spent or not, none can be used any more), events and webhook deliveries past 30 days,
//! and audit entries past `CHALK_AUDIT_RETENTION_DAYS`. The same tick writes the
//! `api_key.expiring` events that are due.
//!
//! `serve` runs it beside the empty-room sweep; every instance may run it, since each
//! purge is one idempotent `DELETE` per table.

use std::time::Duration;

use crate::clock::now;
use crate::domain::core::Core;
use crate::store::{StoreResult, audit, deliveries, events, idempotency, refresh};

/// How often `serve` purges. Rows outlive their retention by at most this long.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(600);

/// What one purge removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub idempotency_records: u64,
    pub refresh_tokens: u64,
    /// Events past 30 days, with their deliveries.
    pub events: u64,
    pub audit_events: u64,
}

/// Deletes, as of `at` (Unix seconds), every idempotency record older than its retention
/// and every refresh token past its expiry, in one transaction.
pub async fn purge(core: &Core, at: i64) -> StoreResult<Purged> {
    let mut db = core.store.begin().await?;
    let idempotency_records =
        idempotency::purge_expired(&mut db, at - crate::http::idempotency::RETENTION_SECONDS)
            .await?;
    let refresh_tokens = refresh::purge_expired(&mut db, at).await?;
    let cutoff = at - crate::domain::events::RETENTION_SECONDS;
    deliveries::purge_expired(&mut db, cutoff).await?;
    let events = events::purge_expired(&mut db, cutoff).await?;
    let retention = core.policy.audit_retention_days * 24 * 60 * 60;
    let audit_events = audit::purge_older_than(&mut db, at - retention).await?;
    db.commit().await?;
    Ok(Purged {
        idempotency_records,
        refresh_tokens,
        events,
        audit_events,
    })
}

/// Purges at once and then every `interval`, until the returned handle is aborted.
pub fn spawn(core: Core, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            // `api_key.expiring` notices ride on the same tick: a key's notice comes at most
            // one interval late.
            if let Err(e) = crate::domain::events::record_expiring_keys(&core.store, now()).await {
                tracing::warn!(error = ?e, "api_key.expiring scan failed; retrying at the next tick");
            }
            match purge(&core, now()).await {
                Ok(purged) if purged != Purged::default() => {
                    tracing::info!(
                        idempotency_records = purged.idempotency_records,
                        refresh_tokens = purged.refresh_tokens,
                        events = purged.events,
                        audit_events = purged.audit_events,
                        "purged expired rows"
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "housekeeping purge failed; retrying at the next tick");
                }
            }
        }
    })
}
