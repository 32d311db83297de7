//! [`RetryPolicy`]: how often and how patiently the client retries a safe request.

use std::time::Duration;

use rand::Rng;

/// Exponential backoff with jitter.
///
/// The client retries only requests that are safe to repeat — `GET`s, and `POST`s that
/// carry an `Idempotency-Key` (creates and rotate-key, which the SDK sends with one) —
/// and only when the failure may pass: 429, 5xx, connection errors and timeouts. Any
/// other 4xx comes back at once.
///
/// Before retry `n` (0-based) it waits a random time between half and all of
/// `min(max_delay, base_delay * 2^n)`; a 429 or 503 with `Retry-After: N` waits
/// exactly `N` seconds instead.
///
/// ```no_run
/// use std::time::Duration;
/// use chalk_sdk::{Client, RetryPolicy};
/// # fn run() -> chalk_sdk::Result<()> {
/// let client = Client::builder()
///     .retry_policy(RetryPolicy {
///         max_retries: 5,
///         base_delay: Duration::from_millis(200),
///         max_delay: Duration::from_secs(10),
///     })
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retrying.
    pub max_retries: u32,
    /// The backoff before the first retry.
    pub base_delay: Duration,
    /// The longest backoff (a `Retry-After` from the server is honoured even if longer).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 3 retries, starting at 250 ms, at most 8 s apart.
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// No retries at all: every failure comes back at once.
    ///
    /// ```no_run
    /// # fn run() -> chalk_sdk::Result<()> {
    /// let client = chalk_sdk::Client::builder()
    ///     .retry_policy(chalk_sdk::RetryPolicy::none())
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// How long to wait before retry number `attempt` (0-based).
    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait;
        }
        let factor = 2u32.saturating_pow(attempt.min(30));
        let ceiling = self
            .base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let half = ceiling / 2;
        let spread = (ceiling - half).as_micros() as u64;
        let jitter = if spread == 0 {
            0
        } else {
            rand::rng().random_range(0..=spread)
        };
        half + Duration::from_micros(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered_within_bounds() {
        let policy = RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let d0 = policy.delay(0, None);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d2 = policy.delay(2, None);
            assert!(d2 >= Duration::from_millis(200) && d2 <= Duration::from_millis(400));
            let d9 = policy.delay(9, None);
            assert!(d9 >= Duration::from_millis(500) && d9 <= Duration::from_secs(1));
            let huge = policy.delay(u32::MAX, None);
            assert!(huge <= Duration::from_secs(1));
        }
    }

    #[test]
    fn retry_after_wins() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
    }
}
