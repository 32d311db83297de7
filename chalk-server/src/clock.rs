//! The wall clock, in the store's unit (Unix seconds) and the wire's (RFC 3339), and the
//! one way durations are written in settings. A leaf module: everything may read the time
//! without importing the application state.

use std::time::Duration;

/// Now, in Unix seconds.
pub fn now() -> i64 {
    since_epoch().as_secs() as i64
}

/// Now, in Unix milliseconds (what an id begins with, `crypto::new_id`).
pub fn now_millis() -> i64 {
    since_epoch().as_millis() as i64
}

/// The system clock as a duration since 1970, without chrono's calendar arithmetic
/// (`Utc::now` builds a date; a request reads the clock several times).
fn since_epoch() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// Unix seconds → the wire's RFC 3339 timestamp.
pub fn to_datetime(seconds: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

/// `30s`, `500ms`, `2m`, `1h`, or a bare number of seconds; never zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s, 500ms or 2m"))?;
    let duration = match unit.trim() {
        "" | "s" => Duration::from_secs(number),
        "ms" => Duration::from_millis(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        "h" => Duration::from_secs(number.saturating_mul(3600)),
        other => {
            return Err(format!(
                "unknown duration unit {other:?}: use ms, s, m or h"
            ));
        }
    };
    if duration.is_zero() {
        return Err("a duration must be more than zero".into());
    }
    Ok(duration)
}
