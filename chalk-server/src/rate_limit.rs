//! Per-tenant rate limits: a fixed one-minute window per tenant, in this process.
//!
//! A fixed window gives exact `RateLimit-Remaining` and `RateLimit-Reset` values and costs
//! one map entry per active tenant. Several instances need a shared store instead
//! (tracked in its own issue); this limiter is the single-instance default.

use std::collections::HashMap;
use std::sync::Mutex;

const WINDOW: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: i64,
    pub remaining: i64,
    /// Seconds until the window resets.
    pub reset: i64,
}

#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, (i64, i64)>>,
}

impl RateLimiter {
    /// Counts one request of `tenant_id` at `now` (Unix seconds) against `limit` per minute.
    pub fn check(&self, tenant_id: &str, limit: i64, now: i64) -> Decision {
        let window_start = now - now.rem_euclid(WINDOW);
        let reset = window_start + WINDOW - now;
        let mut windows = self.windows.lock().expect("rate limiter lock poisoned");
        if windows.len() > 10_000 {
            // Forget tenants that were idle for a whole window.
            windows.retain(|_, (start, _)| *start == window_start);
        }
        let entry = windows
            .entry(tenant_id.to_owned())
            .or_insert((window_start, 0));
        if entry.0 != window_start {
            *entry = (window_start, 0);
        }
        let allowed = entry.1 < limit;
        if allowed {
            entry.1 += 1;
        }
        Decision {
            allowed,
            limit,
            remaining: (limit - entry.1).max(0),
            reset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_tenant_and_resets_each_minute() {
        let limiter = RateLimiter::default();
        let t0 = 1_800_000_040 - 1_800_000_040 % 60;
        assert_eq!(limiter.check("a", 2, t0).remaining, 1);
        assert!(limiter.check("a", 2, t0 + 1).allowed);
        let third = limiter.check("a", 2, t0 + 2);
        assert!(!third.allowed);
        assert_eq!(third.reset, 58);
        assert!(
            limiter.check("b", 2, t0 + 2).allowed,
            "tenants are independent"
        );
        assert!(
            limiter.check("a", 2, t0 + 60).allowed,
            "a new window starts afresh"
        );
    }
}
