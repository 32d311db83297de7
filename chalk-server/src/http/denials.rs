//! Refused requests in the audit log (docs/api.md "Operator keys and audit log" and Hardening
//! rules): which refusals are recorded, under which actor, and the bound on how many —
//! at most one denial entry per credential and reason a minute, with the count of the
//! refusals it stands for ([`DenialLog`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use axum::extract::{FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use chalk_sdk::model::{Actor, ActorType};

use crate::clock::now;
use crate::crypto::{API_KEY_PREFIX, OPERATOR_KEY_PREFIX, hash_secret};
use crate::domain::audit::{self, AuditContext};
use crate::error::ApiError;
use crate::http::context::RequestId;
use crate::http::credentials::{API_KEY_HEADER, MASTER_KEY_HEADER};
use crate::http::state::AppState;
use crate::http::throttle::Throttled;
use crate::net::client_ip::ClientIp;
use crate::store::audit::AuditRow;
use crate::store::{Store, keys, operator_keys};

/// What the audit log needs of a request, taken before the request moves on (an
/// extractor too, for the routes that carry their credential in the body). Every
/// authenticated request takes it, so it holds the request's own cheap handles; the
/// strings of an entry are made only when one is written.
pub struct RequestFacts {
    method: axum::http::Method,
    route: Option<MatchedPath>,
    uri: axum::http::Uri,
    request_id: Option<RequestId>,
    client: Option<IpAddr>,
    user_agent: Option<HeaderValue>,
    /// The client address is over its failed-authentication limit (see `throttle.rs`).
    throttled: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestFacts {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestFacts::from_parts(
            &parts.method,
            &parts.uri,
            &parts.headers,
            &parts.extensions,
        ))
    }
}

impl RequestFacts {
    pub(crate) fn of(req: &Request) -> Self {
        Self::from_parts(req.method(), req.uri(), req.headers(), req.extensions())
    }

    pub(crate) fn from_parts(
        method: &axum::http::Method,
        uri: &axum::http::Uri,
        headers: &HeaderMap,
        extensions: &axum::http::Extensions,
    ) -> Self {
        Self {
            method: method.clone(),
            route: extensions.get::<MatchedPath>().cloned(),
            uri: uri.clone(),
            request_id: extensions.get::<RequestId>().cloned(),
            client: extensions.get::<ClientIp>().and_then(|ClientIp(ip)| *ip),
            user_agent: headers.get(header::USER_AGENT).cloned(),
            throttled: extensions.get::<Throttled>().is_some(),
        }
    }

    pub(crate) fn context(&self, actor: Actor) -> AuditContext {
        AuditContext {
            actor,
            request_id: self
                .request_id
                .as_ref()
                .map(|r| r.0.clone())
                .unwrap_or_default(),
            client_ip: self
                .client
                .map(|ip| ip.to_string())
                .unwrap_or_else(|| "unknown".to_owned()),
            // Bounded: a header is the client's to fill.
            user_agent: self
                .user_agent
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(256).collect()),
        }
    }

    /// The tenant a `/tenants/{id}/…` path names, so that an operator reading a tenant's
    /// log sees the attempts on it.
    fn path_tenant(&self) -> Option<String> {
        let rest = self.uri.path().strip_prefix("/api/v1/tenants/")?;
        let id = rest.split('/').next().filter(|id| !id.is_empty())?;
        Some(id.to_owned())
    }

    /// Records a refusal, within the bound: the first of a minute per credential and reason
    /// is written at once, the others are counted into the next entry ([`DenialLog`]). An
    /// unverified credential from a throttled address costs no entry at all: it is answered
    /// 429, and a flood of guesses must not become a flood of rows.
    pub(crate) async fn record_denied(
        &self,
        state: &AppState,
        ctx: &AuditContext,
        tenant_id: Option<&str>,
        refusal: Refusal<'_>,
    ) {
        if self.throttled && refusal.unverified() {
            return;
        }
        let tenant_id = tenant_id.map(str::to_owned).or_else(|| self.path_tenant());
        let entry = audit::denied_entry(
            ctx,
            self.method.as_str(),
            self.route.as_ref().map(MatchedPath::as_str),
            self.uri.path(),
            tenant_id.as_deref(),
        );
        // What other keys hold back is written by the task `serve` runs (`spawn`): a
        // refusal costs one map lookup, never a scan.
        if let Some(entry) = state.denials.admit(entry, refusal.reason(), now()) {
            audit::write_denied(&state.store, &entry).await;
        }
    }
}

/// Why a request was refused, as the bound on denial entries tells refusals apart.
#[derive(Debug, Clone, Copy)]
pub enum Refusal<'a> {
    /// Refused with this error (401, 403 …).
    Error(&'a ApiError),
    /// Refused for its `Origin` (`allowed_origins`).
    Origin,
}

impl Refusal<'_> {
    fn reason(&self) -> &str {
        match self {
            Refusal::Error(error) => error.code.as_str(),
            Refusal::Origin => "ORIGIN",
        }
    }

    /// A credential that did not verify (a 401), as opposed to one that verified and may
    /// not do this.
    fn unverified(&self) -> bool {
        matches!(self, Refusal::Error(e) if e.status() == StatusCode::UNAUTHORIZED)
    }
}

/// Which refusals one denial entry may stand for: the same credential (actor), tenant,
/// action and reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DenialKey {
    actor_type: String,
    actor_id: Option<String>,
    tenant_id: Option<String>,
    action: String,
    reason: String,
}

#[derive(Debug)]
struct Slot {
    /// When this key's last entry was written.
    written_at: i64,
    /// The latest refusal held back since then, and how many were held back.
    held: Option<(AuditRow, i64)>,
}

/// The bound on denial entries (docs/api.md Hardening rules): at most one entry per credential
/// and reason a minute, carrying the count of the refusals it stands for. The first
/// refusal is written at once (an operator sees an attack as it starts); the rest of that
/// minute is held back and counted, and written as one entry — by the next refusal once
/// the minute is over, or by [`DenialLog::write_due`], which `serve` runs every few seconds
/// and at shutdown. Counted per instance.
#[derive(Debug, Default)]
pub struct DenialLog {
    slots: Mutex<HashMap<DenialKey, Slot>>,
}

/// The least time between two denial entries of one key.
const DENIAL_INTERVAL: i64 = 60;

/// The most keys remembered at once.
const MAX_KEYS: usize = 10_000;

impl DenialLog {
    /// The entry to write now for this refusal, if any (with its count); otherwise the
    /// refusal is held back and counted.
    fn admit(&self, entry: AuditRow, reason: &str, at: i64) -> Option<AuditRow> {
        let key = DenialKey {
            actor_type: entry.actor_type.clone(),
            actor_id: entry.actor_id.clone(),
            tenant_id: entry.tenant_id.clone(),
            action: entry.action.clone(),
            reason: reason.to_owned(),
        };
        let mut slots = self.slots.lock().expect("denial log lock poisoned");
        let full = slots.len() >= MAX_KEYS;
        match slots.get_mut(&key) {
            Some(slot) if at - slot.written_at < DENIAL_INTERVAL => {
                let held = slot.held.take().map_or(0, |(_, n)| n);
                slot.held = Some((entry, held + 1));
                None
            }
            Some(slot) => {
                let held = slot.held.take().map_or(0, |(_, n)| n);
                slot.written_at = at;
                Some(audit::with_refusal_count(entry, held + 1))
            }
            // Keys are remembered for a minute at most; past this many at once (a spread
            // attack), refusals are written one by one instead, so memory stays bounded
            // (the failure throttle bounds what unverified credentials can write).
            None if full => Some(audit::with_refusal_count(entry, 1)),
            None => {
                slots.insert(
                    key,
                    Slot {
                        written_at: at,
                        held: None,
                    },
                );
                Some(audit::with_refusal_count(entry, 1))
            }
        }
    }

    /// Takes the held-back refusals whose minute is over, as entries to write, and forgets
    /// the keys that have nothing held and no minute running.
    fn take_due(&self, at: i64) -> Vec<AuditRow> {
        let mut slots = self.slots.lock().expect("denial log lock poisoned");
        let mut due = Vec::new();
        slots.retain(|_, slot| {
            if at - slot.written_at < DENIAL_INTERVAL {
                return true;
            }
            match slot.held.take() {
                Some((entry, count)) => {
                    due.push(audit::with_refusal_count(entry, count));
                    slot.written_at = at;
                    true
                }
                None => false,
            }
        });
        due
    }

    /// Writes every held-back refusal now, whatever its minute (at shutdown).
    pub async fn write_all(&self, store: &Store) {
        self.write_due(store, now() + DENIAL_INTERVAL).await;
    }

    /// Writes the held-back refusals whose minute is over (as of `at`).
    pub async fn write_due(&self, store: &Store, at: i64) {
        for entry in self.take_due(at) {
            audit::write_denied(store, &entry).await;
        }
    }
}

/// Writes the due denial entries every `interval` until aborted.
pub fn spawn(state: AppState, interval: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        loop {
            ticks.tick().await;
            state.denials.write_due(&state.store, now()).await;
        }
    })
}

/// The actor a refused `sk_live_` key names: its id and name when the store still has it.
async fn api_key_actor(state: &AppState, key: &str) -> (Actor, Option<String>) {
    let found = match state.store.read().await {
        Ok(mut db) => keys::by_hash(&mut db, &hash_secret(key))
            .await
            .ok()
            .flatten(),
        Err(_) => None,
    };
    let actor = Actor {
        kind: ActorType::ApiKey,
        id: found.as_ref().map(|a| a.key.id.clone()),
        name: found.as_ref().map(|a| a.key.name.clone()),
    };
    (actor, found.map(|a| a.key.tenant_id))
}

/// For `/auth/token`, whose API key is in the body: records the refusal of a key with the
/// known prefix (401) or of a suspended tenant's key (403), as the middleware does for
/// credential headers.
pub async fn record_refused_api_key(
    state: &AppState,
    facts: &RequestFacts,
    key: &str,
    error: &ApiError,
) {
    let status = error.status();
    let refused = status == axum::http::StatusCode::UNAUTHORIZED
        || status == axum::http::StatusCode::FORBIDDEN;
    if !refused || !key.starts_with(API_KEY_PREFIX) {
        return;
    }
    let (actor, tenant_id) = api_key_actor(state, key).await;
    facts
        .record_denied(
            state,
            &facts.context(actor),
            tenant_id.as_deref(),
            Refusal::Error(error),
        )
        .await;
}

/// For a credential header refused without a holder (one that did not verify: a 401), the
/// actor and tenant to record, when the audit log keeps the refusal (docs/api.md: a credential
/// with a known key prefix). Guesses without a known prefix are only throttled. (A
/// credential that verified and was refused — a suspended tenant's — names its holder
/// itself: see `credentials::Refused`.)
pub(crate) async fn denied_credential(
    state: &AppState,
    headers: &HeaderMap,
    error: &ApiError,
) -> Option<(Actor, Option<String>)> {
    if error.status() != StatusCode::UNAUTHORIZED {
        return None;
    }
    let header_text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(key) = header_text(API_KEY_HEADER).filter(|k| k.starts_with(API_KEY_PREFIX)) {
        return Some(api_key_actor(state, key).await);
    }
    let key = header_text(MASTER_KEY_HEADER).filter(|k| k.starts_with(OPERATOR_KEY_PREFIX))?;
    let mut db = state.store.read().await.ok()?;
    let found = operator_keys::by_hash(&mut db, &hash_secret(key))
        .await
        .ok()
        .flatten();
    let actor = Actor {
        kind: ActorType::Operator,
        id: found.as_ref().map(|k| k.id.clone()),
        name: found.map(|k| k.name),
    };
    Some((actor, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(actor_id: &str, action: &str) -> AuditRow {
        let ctx = AuditContext {
            actor: Actor {
                kind: ActorType::ApiKey,
                id: Some(actor_id.to_owned()),
                name: None,
            },
            request_id: "req_x".to_owned(),
            client_ip: "192.0.2.1".to_owned(),
            user_agent: None,
        };
        audit::denied_entry(&ctx, "GET", Some(action), action, Some("tenant_a"))
    }

    fn count(row: &AuditRow) -> i64 {
        audit::view(row).unwrap().count.unwrap()
    }

    #[test]
    fn one_entry_per_key_and_reason_a_minute_with_the_count_of_what_it_held_back() {
        let log = DenialLog::default();
        let t0 = 1_800_000_000;
        let first = log.admit(entry("key_a", "/x"), "FORBIDDEN", t0).unwrap();
        assert_eq!(count(&first), 1);
        for n in 1..10 {
            assert!(
                log.admit(entry("key_a", "/x"), "FORBIDDEN", t0 + n)
                    .is_none()
            );
        }
        // Another credential, or another reason, is another entry.
        assert!(
            log.admit(entry("key_b", "/x"), "FORBIDDEN", t0 + 5)
                .is_some()
        );
        assert!(log.admit(entry("key_a", "/x"), "ORIGIN", t0 + 5).is_some());
        // Nothing is due before the minute is over.
        assert!(log.take_due(t0 + 59).is_empty());
        // The next refusal after the minute writes the nine held back and itself.
        let next = log
            .admit(entry("key_a", "/x"), "FORBIDDEN", t0 + 61)
            .unwrap();
        assert_eq!(count(&next), 10);
        // Held back and never followed: written when due, then the key is forgotten.
        assert!(
            log.admit(entry("key_a", "/x"), "FORBIDDEN", t0 + 70)
                .is_none()
        );
        assert!(log.take_due(t0 + 100).is_empty());
        let due = log.take_due(t0 + 121);
        assert_eq!(due.iter().map(count).collect::<Vec<_>>(), [1]);
        assert!(log.take_due(t0 + 200).is_empty());
        assert!(log.slots.lock().unwrap().is_empty());
    }

    #[test]
    fn past_its_capacity_the_log_writes_refusals_one_by_one_and_remembers_no_more() {
        let log = DenialLog::default();
        let t0 = 1_800_000_000;
        for n in 0..MAX_KEYS {
            assert!(
                log.admit(entry(&format!("key_{n}"), "/x"), "FORBIDDEN", t0)
                    .is_some()
            );
        }
        for _ in 0..3 {
            let written = log
                .admit(entry("key_new", "/x"), "FORBIDDEN", t0 + 1)
                .unwrap();
            assert_eq!(count(&written), 1);
        }
        assert_eq!(log.slots.lock().unwrap().len(), MAX_KEYS);
        // Once their minute is over the keys are forgotten and the log bounds again.
        assert!(log.take_due(t0 + 60).is_empty());
        assert!(
            log.admit(entry("key_new", "/x"), "FORBIDDEN", t0 + 61)
                .is_some()
        );
        assert!(
            log.admit(entry("key_new", "/x"), "FORBIDDEN", t0 + 62)
                .is_none()
        );
    }
}
