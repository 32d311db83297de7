//! The request counters of usage metering (`api_requests`, `token_exchanges`,
//! `webhook_deliveries`, `webhook_failures`), aggregated in memory per tenant and UTC hour:
//! a request costs a map update under a short lock, never a write. The usage flush
//! (`workers/usage_flush.rs`) takes what accumulated at least every 10 s and at shutdown
//! and writes it as one upsert per tenant and hour, so a kill -9 loses at most that window.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::Timestamp;
use crate::store::usage::{Counters, hour_floor};

/// Counts waiting for the next flush.
#[derive(Debug, Default)]
pub struct UsageCounters {
    /// tenant → hour start → counts. Keyed by tenant first so that counting borrows the
    /// tenant id instead of allocating one.
    pending: Mutex<HashMap<String, HashMap<Timestamp, Counters>>>,
}

impl UsageCounters {
    fn add(&self, tenant_id: &str, at: Timestamp, count: impl FnOnce(&mut Counters)) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let hours = match pending.get_mut(tenant_id) {
            Some(hours) => hours,
            None => pending.entry(tenant_id.to_owned()).or_default(),
        };
        count(hours.entry(hour_floor(at)).or_default());
    }

    /// A request authenticated as the tenant, whatever its outcome.
    pub fn api_request(&self, tenant_id: &str, at: Timestamp) {
        self.add(tenant_id, at, |c| c.api_requests += 1);
    }

    /// A successful `/auth/token` or `/auth/refresh`.
    pub fn token_exchange(&self, tenant_id: &str, at: Timestamp) {
        self.add(tenant_id, at, |c| c.token_exchanges += 1);
    }

    /// A webhook delivery attempt, and whether it failed.
    pub fn webhook_attempt(&self, tenant_id: &str, at: Timestamp, failed: bool) {
        self.add(tenant_id, at, |c| {
            c.webhook_deliveries += 1;
            c.webhook_failures += i64::from(failed);
        });
    }

    /// Everything counted so far, sorted by tenant and hour (the order the flush writes
    /// rows in, the same on every instance), leaving nothing behind.
    pub fn take(&self) -> Vec<(String, Timestamp, Counters)> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let mut batch: Vec<_> = pending
            .into_iter()
            .flat_map(|(tenant, hours)| {
                hours
                    .into_iter()
                    .filter(|(_, c)| !c.is_zero())
                    .map(move |(hour, c)| (tenant.clone(), hour, c))
            })
            .collect();
        batch.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        batch
    }

    /// Puts back a batch whose write failed, to go with the next flush.
    pub fn restore(&self, batch: Vec<(String, Timestamp, Counters)>) {
        for (tenant, hour, c) in batch {
            self.add(&tenant, hour, |pending| {
                pending.token_exchanges += c.token_exchanges;
                pending.api_requests += c.api_requests;
                pending.webhook_deliveries += c.webhook_deliveries;
                pending.webhook_failures += c.webhook_failures;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_aggregate_per_tenant_and_hour_and_come_back_sorted() {
        let counters = UsageCounters::default();
        let hour = 1_796_464_800; // 2026-12-05T10:00:00Z
        counters.api_request("tenant_b", hour + 10);
        counters.api_request("tenant_b", hour + 3599);
        counters.api_request("tenant_a", hour + 3600);
        counters.token_exchange("tenant_a", hour + 5);
        counters.webhook_attempt("tenant_a", hour + 6, true);
        counters.webhook_attempt("tenant_a", hour + 7, false);
        let batch = counters.take();
        let keys: Vec<_> = batch.iter().map(|(t, h, _)| (t.as_str(), *h)).collect();
        assert_eq!(
            keys,
            vec![
                ("tenant_a", hour),
                ("tenant_a", hour + 3600),
                ("tenant_b", hour)
            ]
        );
        assert_eq!(
            batch[0].2,
            Counters {
                token_exchanges: 1,
                webhook_deliveries: 2,
                webhook_failures: 1,
                api_requests: 0
            }
        );
        assert_eq!(batch[2].2.api_requests, 2);
        assert!(counters.take().is_empty(), "taken once");
        counters.api_request("tenant_b", hour);
        counters.restore(batch);
        let again = counters.take();
        assert_eq!(again[2].2.api_requests, 3);
        assert_eq!(again.len(), 3);
    }
}
