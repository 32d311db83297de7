//! The wall clock, in the store's unit (Unix seconds) and the wire's (RFC 3339). A leaf
//! module: everything may read the time without importing the application state.

/// Now, in Unix seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Unix seconds → the wire's RFC 3339 timestamp.
pub fn to_datetime(seconds: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}
