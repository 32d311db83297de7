//! How webhook deliveries are retried and timed (docs/api.md Webhooks, "Delivery"): the retry
//! schedule, its `CHALK_WEBHOOK_RETRY_SCHEDULE` form, jitter and `Retry-After`, and the
//! worker's settings. Pure rules, below the application state that holds them and the
//! worker (`webhook_delivery.rs`) that follows them.

use std::time::Duration;

use rand::Rng;

/// The Svix-like schedule of docs/api.md: the waits before the 2nd, 3rd, … attempt.
pub const DEFAULT_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// How the worker sends; from settings (`CHALK_WEBHOOK_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Waits before each retry; after the last, a delivery is `exhausted`.
    pub schedule: Vec<Duration>,
    /// A send must complete (2xx) within this.
    pub timeout: Duration,
    /// How often the worker looks for due deliveries.
    pub poll_interval: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            schedule: DEFAULT_SCHEDULE.to_vec(),
            timeout: Duration::from_secs(15),
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// Waits before each retry (a named type, so that clap takes the whole list as one value).
pub type Schedule = Vec<Duration>;

/// `1s,2s,5s`: the retry schedule of `CHALK_WEBHOOK_RETRY_SCHEDULE`.
pub fn parse_schedule(text: &str) -> Result<Schedule, String> {
    let steps = text
        .split(',')
        .map(crate::clock::parse_duration)
        .collect::<Result<Vec<_>, _>>()?;
    if steps.is_empty() {
        return Err("the retry schedule needs at least one duration".into());
    }
    Ok(steps)
}

/// The wait before the attempt after `attempts` failed ones: the schedule's step plus up
/// to 10% jitter, or longer when the receiver asked (`Retry-After`), but never past the
/// next step. `None` when the schedule is spent.
pub fn next_delay(
    schedule: &[Duration],
    attempts: usize,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    let step = *schedule.get(attempts.checked_sub(1)?)?;
    let jitter = step.mul_f64(rand::rng().random_range(0.0..0.1));
    let mut delay = step + jitter;
    if let Some(asked) = retry_after {
        let ceiling = schedule.get(attempts).copied().unwrap_or(step).max(step);
        delay = delay.max(asked.min(ceiling));
    }
    Some(delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_and_delays_follow_them() {
        let schedule = parse_schedule("1s, 2s,5m").unwrap();
        assert_eq!(
            schedule,
            [
                Duration::from_secs(1),
                Duration::from_secs(2),
                Duration::from_secs(300)
            ]
        );
        assert!(parse_schedule("1s,,2s").is_err());
        assert!(parse_schedule("0s").is_err());
        for _ in 0..50 {
            let first = next_delay(&schedule, 1, None).unwrap();
            assert!(first >= Duration::from_secs(1) && first < Duration::from_millis(1100));
        }
        assert!(next_delay(&schedule, 0, None).is_none());
        assert!(next_delay(&schedule, 4, None).is_none(), "spent");
        // Retry-After is honoured up to the next step.
        let asked = next_delay(&schedule, 1, Some(Duration::from_secs(60))).unwrap();
        assert_eq!(asked, Duration::from_secs(2));
        let asked = next_delay(&schedule, 2, Some(Duration::from_secs(60))).unwrap();
        assert_eq!(asked, Duration::from_secs(60));
        let small = next_delay(&schedule, 2, Some(Duration::from_millis(1))).unwrap();
        assert!(small >= Duration::from_secs(2));
    }
}
