//! Per-tenant rate limits: a fixed one-minute window per tenant.
//!
//! A fixed window gives exact `RateLimit-Remaining` and `RateLimit-Reset` values. The
//! single-instance default counts in this process ([`RateLimiter`]); several instances
//! count in Redis ([`RedisLimiter`], `CHALK_REDIS_URL`) so that a tenant limited to N a
//! minute gets N in total. Windows are aligned to the wall clock, so instances need
//! synchronized clocks (NTP).
//!
//! Failure mode, chosen deliberately: when Redis cannot be reached, requests are NOT
//! refused. Each instance falls back to its own in-process count (so a tenant gets at
//! most N per instance) and logs a warning, retrying Redis at most once a second. An
//! outage of the limiter's store must not become an outage of the API.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use crate::domain::caller::Caller;

const WINDOW: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: i64,
    pub remaining: i64,
    /// Seconds until the window resets.
    pub reset: i64,
}

/// Fixed windows counted in this process, each key with its own window length.
#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: i64,
    length: i64,
    count: i64,
}

impl RateLimiter {
    /// Counts one request of `tenant_id` at `now` (Unix seconds) against `limit` per minute.
    pub fn check(&self, tenant_id: &str, limit: i64, now: i64) -> Decision {
        self.check_window(tenant_id, limit, WINDOW, now)
    }

    /// Counts one request of `key` at `now` against `limit` per `window` seconds (windows
    /// aligned to the wall clock).
    pub fn check_window(&self, key: &str, limit: i64, window: i64, now: i64) -> Decision {
        let window_start = now - now.rem_euclid(window);
        let reset = window_start + window - now;
        let mut windows = self.windows.lock().expect("rate limiter lock poisoned");
        if windows.len() > 10_000 {
            // Forget keys whose window has ended: whatever its length, each entry is kept
            // exactly as long as it still counts.
            windows.retain(|_, w| w.start + w.length > now);
        }
        // Looked up by `&str` first: the hot path (a key seen before) allocates nothing.
        if !windows.contains_key(key) {
            windows.insert(
                key.to_owned(),
                Window {
                    start: window_start,
                    length: window,
                    count: 0,
                },
            );
        }
        let entry = windows
            .get_mut(key)
            .expect("inserted above while holding the lock");
        if entry.start != window_start || entry.length != window {
            *entry = Window {
                start: window_start,
                length: window,
                count: 0,
            };
        }
        let allowed = entry.count < limit;
        if allowed {
            entry.count += 1;
        }
        Decision {
            allowed,
            limit,
            remaining: (limit - entry.count).max(0),
            reset,
        }
    }
}

/// Failed authentications per client address, in fixed one-minute windows. An address
/// that reached the limit is refused until its window ends, before any credential it sends
/// is checked, so keys cannot be guessed at speed. Counted per instance.
#[derive(Default)]
pub struct FailureThrottle {
    windows: Mutex<HashMap<String, (i64, i64)>>,
}

impl FailureThrottle {
    /// Seconds until `client` may try again, if it is over `limit` failures this window.
    pub fn blocked(&self, client: &str, limit: i64, now: i64) -> Option<i64> {
        let window_start = now - now.rem_euclid(WINDOW);
        let windows = self.windows.lock().expect("failure throttle lock poisoned");
        match windows.get(client) {
            Some((start, failures)) if *start == window_start && *failures >= limit => {
                Some((window_start + WINDOW - now).max(1))
            }
            _ => None,
        }
    }

    pub fn record_failure(&self, client: &str, now: i64) {
        let window_start = now - now.rem_euclid(WINDOW);
        let mut windows = self.windows.lock().expect("failure throttle lock poisoned");
        if windows.len() > 10_000 {
            // Only this window's addresses matter; the map holds at most the addresses
            // that failed within one minute.
            windows.retain(|_, (start, _)| *start == window_start);
        }
        let entry = windows
            .entry(client.to_owned())
            .or_insert((window_start, 0));
        if entry.0 != window_start {
            *entry = (window_start, 0);
        }
        entry.1 += 1;
    }
}

/// The limit a request is counted in (docs/api.md Hardening rules: every request counts
/// against a limit, whatever its outcome): its tenant's, or a participant's own. Borrows
/// the tenant's id, so counting a request allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget<'a> {
    key: Cow<'a, str>,
    limit: i64,
}

impl<'a> Budget<'a> {
    /// The tenant's `rate_limit_per_minute`, shared by every credential of the tenant.
    pub fn tenant(tenant_id: &'a str, limit: i64) -> Self {
        Budget {
            key: Cow::Borrowed(tenant_id),
            limit,
        }
    }

    /// A participant's own `CHALK_PARTICIPANT_RATE_LIMIT`, apart from its tenant's.
    pub fn participant(participant_id: &str, policy: &crate::domain::policy::Policy) -> Self {
        Budget {
            key: Cow::Owned(format!("participant:{participant_id}")),
            limit: policy.participant_rate_limit,
        }
    }

    /// The limit `caller`'s requests count against: its tenant's, or a participant
    /// token's own (docs/api.md Hardening rules: one browser looping on its room must not
    /// spend the tenant's limit). The operator is not limited.
    pub fn of(caller: &'a Caller, policy: &crate::domain::policy::Policy) -> Option<Self> {
        match caller {
            Caller::Tenant(t) => Some(Budget::tenant(&t.tenant_id, t.rate_limit_per_minute)),
            Caller::Participant(p) => Some(Budget::participant(&p.participant_id, policy)),
            _ => None,
        }
    }

    /// Counts one request against this budget.
    pub async fn spend(&self, limiter: &RateLimit) -> Decision {
        limiter
            .check(&self.key, self.limit, crate::clock::now())
            .await
    }
}

/// How long one Redis round trip may take before the request is served on local counts.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// One atomic step per request: count it and, on a window's first request, set the key
/// to expire after the window.
const COUNT_SCRIPT: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
";

/// Counts shared by every instance, in Redis.
pub struct RedisLimiter {
    client: redis::Client,
    script: redis::Script,
    connection: Mutex<Option<redis::aio::MultiplexedConnection>>,
    /// Unix milliseconds before which Redis is not tried again after a failure.
    retry_at_ms: AtomicI64,
    /// Used while Redis is unreachable.
    fallback: RateLimiter,
}

impl RedisLimiter {
    /// Checks the URL; the connection is made on first use (and remade after a failure).
    pub fn new(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url)
            .map_err(|e| format!("CHALK_REDIS_URL is not a valid Redis URL: {e}"))?;
        Ok(Self {
            client,
            script: redis::Script::new(COUNT_SCRIPT),
            connection: Mutex::new(None),
            retry_at_ms: AtomicI64::new(0),
            fallback: RateLimiter::default(),
        })
    }

    async fn connection(&self) -> Result<redis::aio::MultiplexedConnection, String> {
        if let Some(connection) = self.connection.lock().expect("redis lock poisoned").clone() {
            return Ok(connection);
        }
        let connection = tokio::time::timeout(
            REDIS_TIMEOUT,
            self.client.get_multiplexed_tokio_connection(),
        )
        .await
        .map_err(|_| "connection timed out".to_owned())?
        .map_err(|e| e.to_string())?;
        *self.connection.lock().expect("redis lock poisoned") = Some(connection.clone());
        Ok(connection)
    }

    async fn count(&self, key: &str, window: i64) -> Result<i64, String> {
        let mut connection = self.connection().await?;
        let mut invocation = self.script.key(key);
        invocation.arg(window * 2);
        let result = tokio::time::timeout(REDIS_TIMEOUT, invocation.invoke_async(&mut connection))
            .await
            .map_err(|_| "command timed out".to_owned())?
            .map_err(|e| e.to_string());
        if result.is_err() {
            // The next attempt reconnects.
            *self.connection.lock().expect("redis lock poisoned") = None;
        }
        result
    }

    pub async fn check_window(&self, key: &str, limit: i64, window: i64, now: i64) -> Decision {
        let now_ms = crate::clock::now_millis();
        if now_ms >= self.retry_at_ms.load(Ordering::Relaxed) {
            let window_start = now - now.rem_euclid(window);
            let redis_key = format!("chalk:ratelimit:{key}:{window_start}");
            match self.count(&redis_key, window).await {
                Ok(count) => {
                    return Decision {
                        allowed: count <= limit,
                        limit,
                        remaining: (limit - count).max(0),
                        reset: window_start + window - now,
                    };
                }
                Err(error) => {
                    self.retry_at_ms.store(now_ms + 1000, Ordering::Relaxed);
                    tracing::warn!(%error, "Redis rate limiter unreachable: counting per instance until it answers");
                }
            }
        }
        self.fallback.check_window(key, limit, window, now)
    }
}

/// The limiter an instance runs with.
pub enum RateLimit {
    /// Counts in this process: the single-instance default.
    Local(RateLimiter),
    /// Counts in Redis, shared by every instance.
    Shared(Box<RedisLimiter>),
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit::Local(RateLimiter::default())
    }
}

impl RateLimit {
    /// Redis when a URL is given, otherwise in-process.
    pub fn from_redis_url(url: Option<&str>) -> Result<Self, String> {
        match url {
            Some(url) => Ok(RateLimit::Shared(Box::new(RedisLimiter::new(url)?))),
            None => Ok(RateLimit::default()),
        }
    }

    /// One request of `tenant_id` against its per-minute `limit`.
    pub async fn check(&self, tenant_id: &str, limit: i64, now: i64) -> Decision {
        self.check_window(tenant_id, limit, WINDOW, now).await
    }

    /// One request of `key` against `limit` per `window` seconds. Keys of different
    /// purposes are told apart by a prefix (`registration:…`, `participant:…`).
    pub async fn check_window(&self, key: &str, limit: i64, window: i64, now: i64) -> Decision {
        match self {
            RateLimit::Local(limiter) => limiter.check_window(key, limit, window, now),
            RateLimit::Shared(limiter) => limiter.check_window(key, limit, window, now).await,
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

    #[tokio::test]
    async fn unreachable_redis_fails_open_to_per_instance_counts() {
        // A port nobody listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let limiter =
            RateLimit::from_redis_url(Some(&format!("redis://127.0.0.1:{port}"))).unwrap();
        let t0 = 1_800_000_040 - 1_800_000_040 % 60;
        let first = limiter.check("a", 2, t0).await;
        assert!(first.allowed, "requests are served while Redis is down");
        assert_eq!(first.remaining, 1);
        assert!(limiter.check("a", 2, t0 + 1).await.allowed);
        assert!(
            !limiter.check("a", 2, t0 + 2).await.allowed,
            "the limit still holds per instance"
        );
    }

    #[test]
    fn windows_of_different_lengths_are_counted_apart_and_outlive_a_cleanup() {
        let limiter = RateLimiter::default();
        let hour = 1_800_000_000; // the start of an hour (a multiple of 3600)
        assert!(
            limiter
                .check_window("registration:1.2.3.4", 1, 3600, hour + 10)
                .allowed
        );
        // Ten thousand minute keys later (a cleanup runs), the hour's count still holds.
        for n in 0..10_002 {
            limiter.check(&format!("t{n}"), 5, hour + 130);
        }
        let again = limiter.check_window("registration:1.2.3.4", 1, 3600, hour + 130);
        assert!(!again.allowed, "the hourly count survived the cleanup");
        assert_eq!(again.reset, 3600 - 130);
        assert!(
            limiter
                .check_window("registration:1.2.3.4", 1, 3600, hour + 3600)
                .allowed
        );
    }

    #[test]
    fn failures_block_an_address_until_the_window_ends() {
        let throttle = FailureThrottle::default();
        let t0 = 1_800_000_040 - 1_800_000_040 % 60;
        for _ in 0..3 {
            assert_eq!(throttle.blocked("1.2.3.4", 3, t0 + 10), None);
            throttle.record_failure("1.2.3.4", t0 + 10);
        }
        assert_eq!(throttle.blocked("1.2.3.4", 3, t0 + 10), Some(50));
        assert_eq!(throttle.blocked("5.6.7.8", 3, t0 + 10), None);
        assert_eq!(throttle.blocked("1.2.3.4", 3, t0 + 60), None);
    }

    #[test]
    fn a_malformed_redis_url_is_refused() {
        let error = RateLimit::from_redis_url(Some("http://nope"))
            .err()
            .unwrap();
        assert!(error.contains("CHALK_REDIS_URL"), "{error}");
    }
}
