//! Cursor pagination: `?limit=` (1..=200, default 50) and an opaque `?cursor=`.
//!
//! A cursor is the position after the last item of a page (its internal sequence
//! number), base64url-encoded so clients treat it as opaque.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

pub struct PageRequest {
    pub after_seq: i64,
    pub limit: i64,
}

pub fn page_request(limit: Option<u32>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    // An empty `?cursor=` is how many clients spell "no cursor": the first page.
    let after_seq = match cursor.filter(|c| !c.is_empty()) {
        None => 0,
        Some(text) => decode_cursor(text).ok_or_else(|| {
            ApiError::invalid_field("cursor", "is not a cursor this server issued")
        })?,
    };
    Ok(PageRequest {
        after_seq,
        limit: i64::from(limit),
    })
}

fn decode_cursor(text: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("s:")?
        .parse()
        .ok()
        .filter(|n: &i64| *n >= 0)
}

fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("s:{seq}"))
}

/// Fetches one more row than asked so that the last page says so (`next_cursor: null`).
pub fn next_cursor<T>(rows: &mut Vec<T>, limit: i64, seq: impl Fn(&T) -> i64) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|row| encode_cursor(seq(row)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = encode_cursor(42);
        assert_eq!(page_request(Some(10), Some(&cursor)).unwrap().after_seq, 42);
        assert!(page_request(None, Some("not-a-cursor")).is_err());
        assert!(page_request(Some(0), None).is_err());
        assert!(page_request(Some(201), None).is_err());
        let mut rows = vec![1, 2, 3];
        assert_eq!(next_cursor(&mut rows, 2, |r| *r), Some(encode_cursor(2)));
        assert_eq!(rows, vec![1, 2]);
        let mut rows = vec![1, 2];
        assert_eq!(next_cursor(&mut rows, 2, |r| *r), None);
    }
}
