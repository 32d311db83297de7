//! Cursor pagination: `?limit=` (1..=200, default 50) and an opaque `?cursor=`.
//!
//! A cursor is the position after the last item of a page (its internal sequence
//! number), sealed with AES-256-GCM under the server's encryption key: it reveals no row
//! number or count (docs/api.md Hardening rules), and a cursor altered by a client is refused
//! with 400. Instances sharing `CHALK_ENCRYPTION_KEY` accept each other's cursors.
//!
//! The handler passes the sealer in (`state.sealer`): the same key seals stored secrets,
//! so a cursor is valid wherever that key is.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto::Sealer;
use crate::error::ApiError;

/// Marks a sealed value as a cursor, so no other sealed value is taken for one.
const CURSOR_TAG: &[u8] = b"cursor:";

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

pub struct PageRequest {
    pub after_seq: i64,
    pub limit: i64,
}

pub fn page_request(
    sealer: &Sealer,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<PageRequest, ApiError> {
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
        Some(text) => decode_cursor(sealer, text).ok_or_else(|| {
            ApiError::invalid_field("cursor", "is not a cursor this server issued")
        })?,
    };
    Ok(PageRequest {
        after_seq,
        limit: i64::from(limit),
    })
}

fn decode_cursor(sealer: &Sealer, text: &str) -> Option<i64> {
    let sealed = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
    let plain = sealer.open(&sealed).ok()?;
    let seq = plain.strip_prefix(CURSOR_TAG)?;
    Some(i64::from_be_bytes(seq.try_into().ok()?)).filter(|n| *n >= 0)
}

fn encode_cursor(sealer: &Sealer, seq: i64) -> String {
    let mut plain = CURSOR_TAG.to_vec();
    plain.extend_from_slice(&seq.to_be_bytes());
    URL_SAFE_NO_PAD.encode(sealer.seal(&plain))
}

/// Fetches one more row than asked so that the last page says so (`next_cursor: null`).
pub fn next_cursor<T>(
    sealer: &Sealer,
    rows: &mut Vec<T>,
    limit: i64,
    seq: impl Fn(&T) -> i64,
) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|row| encode_cursor(sealer, seq(row)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let key = Sealer::from_base64(&Sealer::generate_key_base64()).unwrap();
        let sealer = &key;
        let cursor = encode_cursor(sealer, 42);
        assert_eq!(
            page_request(sealer, Some(10), Some(&cursor))
                .unwrap()
                .after_seq,
            42
        );
        assert!(page_request(sealer, None, Some("not-a-cursor")).is_err());
        assert!(page_request(sealer, Some(0), None).is_err());
        assert!(page_request(sealer, Some(201), None).is_err());
        // The old, readable form of a cursor is no longer accepted.
        assert!(page_request(sealer, None, Some(&URL_SAFE_NO_PAD.encode("s:42"))).is_err());
        let mut rows = vec![1, 2, 3];
        let cursor = next_cursor(sealer, &mut rows, 2, |r| *r).unwrap();
        assert_eq!(
            page_request(sealer, None, Some(&cursor)).unwrap().after_seq,
            2
        );
        assert_eq!(rows, vec![1, 2]);
        let mut rows = vec![1, 2];
        assert_eq!(next_cursor(sealer, &mut rows, 2, |r| *r), None);
        // A cursor is valid only under the key that sealed it.
        let other = Sealer::from_base64(&Sealer::generate_key_base64()).unwrap();
        assert!(page_request(&other, None, Some(&cursor)).is_err());
    }
}
