//! The bound on denial entries in the audit log: what `denials.rs` records goes through a
//! [`DenialLog`], which writes the first refusal of a minute per credential and reason and
//! counts the rest into one entry.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::now;
use crate::domain::audit;
use crate::store::Store;
use crate::store::audit::AuditRow;

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
    pub(super) fn admit(&self, entry: AuditRow, reason: &str, at: i64) -> Option<AuditRow> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::AuditContext;
    use chalk_sdk::model::{Actor, ActorType};

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
