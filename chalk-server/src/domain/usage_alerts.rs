//! Usage alerts (docs/api.md "Usage metering"): the `usage_alerts` of a tenant's config
//! emit one `usage.threshold_reached` event the first time a metric reaches its threshold
//! within a UTC day or month.
//!
//! The usage flush runs [`check`] after each write (every few seconds, on every instance):
//! it reads, for the tenants whose config holds alerts and that used anything since the
//! last check, each alert's value over its period (stored hours, plus the time running
//! since the tenant's last change), and fires those that reached their threshold. Firing is
//! claimed by a row whose primary key is (tenant, metric, period, threshold, period start),
//! inserted in the transaction that records the event through the outbox
//! (`events::record`): whichever instance inserts it emits the event; every other check,
//! here or on another instance, finds the row and emits nothing. So an alert fires once per
//! tenant, alert and period, at most one check interval after the threshold is reached.

use chalk_sdk::model::{EventType, Granularity, UsageMetrics, UsageThresholdReachedData};

use crate::clock::to_datetime;
use crate::domain::core::Core;
use crate::domain::events;
use crate::domain::usage::{fold, period_floor};
use crate::error::ApiResult;
use crate::store::Timestamp;
use crate::store::usage::{self, AlertingTenant};
use crate::store::usage_reads;

/// The periods a check looks at: the one holding `now`, and the one holding the previous
/// check when it was another (a threshold reached just before midnight still fires).
fn periods(
    granularity: Granularity,
    since: Timestamp,
    now: Timestamp,
) -> Vec<(Timestamp, Timestamp)> {
    let mut out: Vec<(Timestamp, Timestamp)> = Vec::new();
    for at in [since, now] {
        let start = period_floor(to_datetime(at), granularity);
        let end = crate::domain::usage::period_next(start, granularity);
        let period = (start.timestamp(), end.timestamp());
        if !out.contains(&period) {
            out.push(period);
        }
    }
    out
}

/// Whether the tenant may have used anything since `since`: people or rooms running, a
/// change of its levels, or requests counted by the flush that just ran.
fn active(tenant: &AlertingTenant, since: Timestamp, touched: &[String]) -> bool {
    tenant.meter.participants > 0
        || tenant.meter.rooms > 0
        || tenant.meter.at >= since
        || touched.contains(&tenant.tenant_id)
}

/// The tenant's usage over its period `span` of `granularity` as of `now`: the stored
/// period, its open hour and the time its levels have been running since its last change,
/// read by one statement. The meter `alerting_tenants` read earlier may be stale: a change
/// since then may have written its open hour into the stored rows, which that meter would
/// count a second time. Nothing when the tenant was deleted meanwhile.
async fn value_over(
    core: &Core,
    tenant: &AlertingTenant,
    granularity: Granularity,
    span: (Timestamp, Timestamp),
    now: Timestamp,
) -> ApiResult<UsageMetrics> {
    let mut db = core.store.read().await?;
    let Some((meter, stored)) =
        usage_reads::live_tenant_periods(&mut db, &tenant.tenant_id, granularity, span).await?
    else {
        return Ok(UsageMetrics::default());
    };
    let mut folded = fold(&[span], &stored, Some(meter), now);
    Ok(folded.pop().unwrap_or_default())
}

/// Fires every alert reached since `since` (see the module comment); `touched` are the
/// tenants whose request counters were just written. Returns how many events it emitted.
pub async fn check(
    core: &Core,
    since: Timestamp,
    touched: &[String],
    now: Timestamp,
) -> ApiResult<usize> {
    let tenants = {
        let mut db = core.store.read().await?;
        usage::alerting_tenants(&mut db).await?
    };
    let mut emitted = 0;
    for tenant in tenants.iter().filter(|t| active(t, since, touched)) {
        let oldest = tenant
            .config
            .usage_alerts
            .iter()
            .flat_map(|a| periods(a.period.granularity(), since, now))
            .map(|(start, _)| start)
            .min()
            .unwrap_or(now);
        let fired = {
            let mut db = core.store.read().await?;
            usage::fired(&mut db, &tenant.tenant_id, oldest).await?
        };
        for alert in &tenant.config.usage_alerts {
            let (metric, period) = (alert.metric.as_str(), alert.period.as_str());
            for span in periods(alert.period.granularity(), since, now) {
                let done = fired.iter().any(|(m, p, t, s)| {
                    m == metric && p == period && *t == alert.threshold && *s == span.0
                });
                if done {
                    continue;
                }
                let value = value_over(core, tenant, alert.period.granularity(), span, now)
                    .await?
                    .get(alert.metric);
                if value < alert.threshold {
                    continue;
                }
                let mut db = core.store.begin().await?;
                let event_id = events::record(
                    &mut db,
                    &tenant.tenant_id,
                    EventType::UsageThresholdReached,
                    UsageThresholdReachedData {
                        metric: alert.metric,
                        period: alert.period,
                        period_start: to_datetime(span.0),
                        threshold: alert.threshold,
                        value,
                    },
                )
                .await?;
                let key = (metric, period, alert.threshold);
                if usage::claim_firing(&mut db, &tenant.tenant_id, key, span.0, &event_id).await? {
                    db.commit().await?;
                    emitted += 1;
                    tracing::info!(tenant = %tenant.tenant_id, metric, period, threshold = alert.threshold, value, "usage alert reached");
                }
                // Otherwise another check fired it first: dropping the transaction takes
                // this event back.
            }
        }
    }
    Ok(emitted)
}
