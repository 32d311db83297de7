//! Receiving Chalk webhooks: check a delivery's signature and read it as a typed [`Event`].
//!
//! Chalk signs as [Standard Webhooks](https://www.standardwebhooks.com/) does (and so Svix):
//! `webhook-id` (the event id, the same on every retry), `webhook-timestamp` (unix seconds
//! of the attempt) and `webhook-signature`, a space-separated list of `v1,` + base64
//! HMAC-SHA256 over `{id}.{timestamp}.{body}` keyed with the secret's decoded bytes (the
//! part after `whsec_`). During a secret rotation a delivery carries one signature per
//! secret, so a receiver holding either verifies it.
//!
//! [`verify`] accepts a delivery when any signature matches any of the secrets given
//! (compared in constant time) and the timestamp is within 5 minutes of now, which refuses
//! a captured delivery replayed later. Available without the `client` feature.
//!
//! ```
//! use chalk_sdk::webhooks::{self, Event};
//! # let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//! # let body = br#"{"id":"evt_1","type":"webhook.test","created_at":"2026-01-06T10:00:00Z","tenant_id":"tenant_1","data":{"endpoint_id":"we_1"}}"#;
//! # let now = chrono::Utc::now().timestamp();
//! # let signature = webhooks::sign(secret, "evt_1", now, body).unwrap();
//! # let now = now.to_string();
//! let headers = [
//!     ("webhook-id", "evt_1"),
//!     ("webhook-timestamp", now.as_str()),
//!     ("webhook-signature", signature.as_str()),
//! ];
//! match webhooks::verify(&[secret], &headers[..], body)? {
//!     Event::WebhookTest(event) => println!("test from {}", event.data.endpoint_id),
//!     other => println!("{} {}", other.event_type(), other.id()),
//! }
//! # Ok::<(), webhooks::WebhookError>(())
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::model::{
    ApiKey, ApiKeyExpiringData, ApiKeyRotatedData, EventRecord, MeetingEndedData,
    ParticipantEventData, Room, Tenant, TenantConfigResponse, WebhookTestData,
};

/// How far a delivery's `webhook-timestamp` may be from now, either way.
pub const TOLERANCE_SECONDS: i64 = 300;
/// The prefix of a webhook secret.
pub const SECRET_PREFIX: &str = "whsec_";

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// Why a delivery was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("webhook-timestamp is not a unix time in seconds")]
    InvalidTimestamp,
    /// Older or newer than [`TOLERANCE_SECONDS`]: a replay, or a clock far off.
    #[error("webhook-timestamp is more than 5 minutes from now")]
    TimestampOutOfTolerance,
    #[error("no signature matches any of the secrets")]
    NoMatchingSignature,
    #[error("a secret is not whsec_ followed by base64")]
    InvalidSecret,
    /// The signature is good but the body is not an event this SDK can read.
    #[error("the body is not a Chalk event: {0}")]
    InvalidBody(String),
}

/// Request headers, however the web framework keeps them.
pub trait Headers {
    /// The value of the header `name` (lower case), if present and text.
    fn header(&self, name: &str) -> Option<&str>;
}

impl Headers for http::HeaderMap {
    fn header(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.to_str().ok())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for [(K, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<S: std::hash::BuildHasher> Headers for std::collections::HashMap<String, String, S> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn key(secret: &str) -> Result<Vec<u8>, WebhookError> {
    let encoded = secret
        .trim()
        .strip_prefix(SECRET_PREFIX)
        .ok_or(WebhookError::InvalidSecret)?;
    match STANDARD.decode(encoded) {
        Ok(key) if !key.is_empty() => Ok(key),
        _ => Err(WebhookError::InvalidSecret),
    }
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `v1,…` signature of a delivery under `secret` (what Chalk sends; also handy to test
/// a receiver).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, WebhookError> {
    let key = key(secret)?;
    let tag = mac(&key, id, timestamp, body).finalize().into_bytes();
    Ok(format!("v1,{}", STANDARD.encode(tag)))
}

/// Checks the signature and timestamp of a delivery against `secrets` (any may match:
/// pass the old and the new secret while you rotate) and returns its event.
pub fn verify<S: AsRef<str>, H: Headers + ?Sized>(
    secrets: &[S],
    headers: &H,
    body: &[u8],
) -> Result<Event, WebhookError> {
    verify_at(secrets, headers, body, Utc::now().timestamp())
}

/// [`verify`] as of `now` (unix seconds).
pub fn verify_at<S: AsRef<str>, H: Headers + ?Sized>(
    secrets: &[S],
    headers: &H,
    body: &[u8],
    now: i64,
) -> Result<Event, WebhookError> {
    let id = headers
        .header(HEADER_ID)
        .ok_or(WebhookError::MissingHeader(HEADER_ID))?;
    let timestamp = headers
        .header(HEADER_TIMESTAMP)
        .ok_or(WebhookError::MissingHeader(HEADER_TIMESTAMP))?;
    let signatures = headers
        .header(HEADER_SIGNATURE)
        .ok_or(WebhookError::MissingHeader(HEADER_SIGNATURE))?;
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| WebhookError::InvalidTimestamp)?;
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(WebhookError::TimestampOutOfTolerance);
    }
    let keys = secrets
        .iter()
        .map(|s| key(s.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    let candidates: Vec<Vec<u8>> = signatures
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .collect();
    let matched = keys.iter().any(|key| {
        candidates
            .iter()
            // `verify_slice` compares in constant time.
            .any(|candidate| {
                mac(key, id, timestamp, body)
                    .verify_slice(candidate)
                    .is_ok()
            })
    });
    if !matched {
        return Err(WebhookError::NoMatchingSignature);
    }
    let record: EventRecord =
        serde_json::from_slice(body).map_err(|e| WebhookError::InvalidBody(e.to_string()))?;
    if record.id != id {
        return Err(WebhookError::InvalidBody(
            "the body's id is not the webhook-id".into(),
        ));
    }
    Event::from_record(record).map_err(|e| WebhookError::InvalidBody(e.to_string()))
}

/// One event with its typed `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// `evt_…`: deduplicate on it (a delivery can arrive more than once).
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub tenant_id: String,
    pub data: T,
}

/// A Chalk event, by type. A type this SDK does not know yet arrives as
/// [`Event::Unknown`], so a receiver keeps working when the server adds types.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    RoomCreated(Envelope<Room>),
    /// The room's first participant joined.
    RoomStarted(Envelope<Room>),
    RoomEnded(Envelope<Room>),
    ParticipantJoined(Envelope<ParticipantEventData>),
    ParticipantLeft(Envelope<ParticipantEventData>),
    TenantUpdated(Envelope<Tenant>),
    TenantConfigUpdated(Envelope<TenantConfigResponse>),
    TenantSuspended(Envelope<Tenant>),
    TenantResumed(Envelope<Tenant>),
    ApiKeyCreated(Envelope<ApiKey>),
    ApiKeyRevoked(Envelope<ApiKey>),
    ApiKeyRotated(Envelope<ApiKeyRotatedData>),
    ApiKeyExpiring(Envelope<ApiKeyExpiringData>),
    MeetingEnded(Envelope<MeetingEndedData>),
    UsageThresholdReached(Envelope<crate::model::UsageThresholdReachedData>),
    WebhookTest(Envelope<WebhookTestData>),
    Unknown(EventRecord),
}

fn typed<T: DeserializeOwned>(record: EventRecord) -> Result<Envelope<T>, serde_json::Error> {
    Ok(Envelope {
        data: serde_json::from_value(record.data)?,
        id: record.id,
        created_at: record.created_at,
        tenant_id: record.tenant_id,
    })
}

impl Event {
    /// Reads an event's `data` by its `type`.
    pub fn from_record(record: EventRecord) -> Result<Self, serde_json::Error> {
        use crate::model::EventType as T;
        let Ok(kind) = record.event_type.parse::<T>() else {
            return Ok(Event::Unknown(record));
        };
        Ok(match kind {
            T::RoomCreated => Event::RoomCreated(typed(record)?),
            T::RoomStarted => Event::RoomStarted(typed(record)?),
            T::RoomEnded => Event::RoomEnded(typed(record)?),
            T::ParticipantJoined => Event::ParticipantJoined(typed(record)?),
            T::ParticipantLeft => Event::ParticipantLeft(typed(record)?),
            T::TenantUpdated => Event::TenantUpdated(typed(record)?),
            T::TenantConfigUpdated => Event::TenantConfigUpdated(typed(record)?),
            T::TenantSuspended => Event::TenantSuspended(typed(record)?),
            T::TenantResumed => Event::TenantResumed(typed(record)?),
            T::ApiKeyCreated => Event::ApiKeyCreated(typed(record)?),
            T::ApiKeyRevoked => Event::ApiKeyRevoked(typed(record)?),
            T::ApiKeyRotated => Event::ApiKeyRotated(typed(record)?),
            T::ApiKeyExpiring => Event::ApiKeyExpiring(typed(record)?),
            T::MeetingEnded => Event::MeetingEnded(typed(record)?),
            T::UsageThresholdReached => Event::UsageThresholdReached(typed(record)?),
            T::WebhookTest => Event::WebhookTest(typed(record)?),
        })
    }

    /// The event id (`evt_…`).
    pub fn id(&self) -> &str {
        match self {
            Event::RoomCreated(e) | Event::RoomStarted(e) | Event::RoomEnded(e) => &e.id,
            Event::ParticipantJoined(e) | Event::ParticipantLeft(e) => &e.id,
            Event::TenantUpdated(e) | Event::TenantSuspended(e) | Event::TenantResumed(e) => &e.id,
            Event::TenantConfigUpdated(e) => &e.id,
            Event::ApiKeyCreated(e) | Event::ApiKeyRevoked(e) => &e.id,
            Event::ApiKeyRotated(e) => &e.id,
            Event::ApiKeyExpiring(e) => &e.id,
            Event::MeetingEnded(e) => &e.id,
            Event::UsageThresholdReached(e) => &e.id,
            Event::WebhookTest(e) => &e.id,
            Event::Unknown(r) => &r.id,
        }
    }

    /// The `type` as sent (`room.ended`, …).
    pub fn event_type(&self) -> &str {
        use crate::model::EventType as T;
        match self {
            Event::RoomCreated(_) => T::RoomCreated.as_str(),
            Event::RoomStarted(_) => T::RoomStarted.as_str(),
            Event::RoomEnded(_) => T::RoomEnded.as_str(),
            Event::ParticipantJoined(_) => T::ParticipantJoined.as_str(),
            Event::ParticipantLeft(_) => T::ParticipantLeft.as_str(),
            Event::TenantUpdated(_) => T::TenantUpdated.as_str(),
            Event::TenantConfigUpdated(_) => T::TenantConfigUpdated.as_str(),
            Event::TenantSuspended(_) => T::TenantSuspended.as_str(),
            Event::TenantResumed(_) => T::TenantResumed.as_str(),
            Event::ApiKeyCreated(_) => T::ApiKeyCreated.as_str(),
            Event::ApiKeyRevoked(_) => T::ApiKeyRevoked.as_str(),
            Event::ApiKeyRotated(_) => T::ApiKeyRotated.as_str(),
            Event::ApiKeyExpiring(_) => T::ApiKeyExpiring.as_str(),
            Event::MeetingEnded(_) => T::MeetingEnded.as_str(),
            Event::UsageThresholdReached(_) => T::UsageThresholdReached.as_str(),
            Event::WebhookTest(_) => T::WebhookTest.as_str(),
            Event::Unknown(r) => &r.event_type,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const NOW: i64 = 1_767_693_600;

    fn body(kind: &str) -> Vec<u8> {
        format!(
            r#"{{"id":"evt_1","type":"{kind}","created_at":"2026-01-06T10:00:00Z","tenant_id":"tenant_1","data":{{"endpoint_id":"we_1"}}}}"#
        )
        .into_bytes()
    }

    fn headers(signature: &str, timestamp: i64) -> Vec<(String, String)> {
        vec![
            ("Webhook-Id".into(), "evt_1".into()),
            ("webhook-timestamp".into(), timestamp.to_string()),
            ("webhook-signature".into(), signature.into()),
        ]
    }

    #[test]
    fn the_standard_webhooks_test_vector() {
        // From the Standard Webhooks reference libraries' tests.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn any_signature_under_any_secret_verifies() {
        let old = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let body = body("webhook.test");
        let both = format!(
            "{} {}",
            sign(old, "evt_1", NOW, &body).unwrap(),
            sign(SECRET, "evt_1", NOW, &body).unwrap()
        );
        for secrets in [vec![SECRET], vec![old], vec!["whsec_AQID", SECRET]] {
            let event = verify_at(&secrets, &headers(&both, NOW)[..], &body, NOW).unwrap();
            assert_eq!(event.id(), "evt_1");
            assert!(matches!(event, Event::WebhookTest(ref e) if e.data.endpoint_id == "we_1"));
        }
        assert_eq!(
            verify_at(&["whsec_AQID"], &headers(&both, NOW)[..], &body, NOW),
            Err(WebhookError::NoMatchingSignature)
        );
    }

    #[test]
    fn tampering_replays_and_bad_input_are_refused() {
        let body = body("webhook.test");
        let good = sign(SECRET, "evt_1", NOW, &body).unwrap();
        let check =
            |h: Vec<(String, String)>, b: &[u8], now: i64| verify_at(&[SECRET], &h[..], b, now);
        assert!(check(headers(&good, NOW), &body, NOW + 299).is_ok());
        assert_eq!(
            check(headers(&good, NOW), &body, NOW + 301),
            Err(WebhookError::TimestampOutOfTolerance)
        );
        assert_eq!(
            check(headers(&good, NOW), &body, NOW - 301),
            Err(WebhookError::TimestampOutOfTolerance)
        );
        let mut tampered = body.clone();
        tampered[10] ^= 1;
        assert_eq!(
            check(headers(&good, NOW), &tampered, NOW),
            Err(WebhookError::NoMatchingSignature)
        );
        // The timestamp is signed: moving it breaks the signature.
        assert_eq!(
            check(headers(&good, NOW + 1), &body, NOW),
            Err(WebhookError::NoMatchingSignature)
        );
        assert_eq!(
            check(headers("v1,bm90IGl0", NOW), &body, NOW),
            Err(WebhookError::NoMatchingSignature)
        );
        assert_eq!(
            check(headers(&good, NOW)[..2].to_vec(), &body, NOW),
            Err(WebhookError::MissingHeader(HEADER_SIGNATURE))
        );
        let mut bad_ts = headers(&good, NOW);
        bad_ts[1].1 = "soon".into();
        assert_eq!(
            check(bad_ts, &body, NOW),
            Err(WebhookError::InvalidTimestamp)
        );
        assert_eq!(
            verify_at(&["sk_live_x"], &headers(&good, NOW)[..], &body, NOW),
            Err(WebhookError::InvalidSecret)
        );
    }

    #[test]
    fn unknown_types_arrive_as_unknown() {
        let body = body("room.teleported");
        let signature = sign(SECRET, "evt_1", NOW, &body).unwrap();
        let event = verify_at(&[SECRET], &headers(&signature, NOW)[..], &body, NOW).unwrap();
        assert_eq!(event.event_type(), "room.teleported");
        assert!(matches!(event, Event::Unknown(_)));
    }
}
