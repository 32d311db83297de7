//! The in-process cache of what the hot paths read: a credential → what authentication
//! needs of it and its tenant, a tenant → its row and usage, and a room → its row. Bounded,
//! and kept exact.
//!
//! Exact means a write is seen by the very next request, so a revoked key, a suspended
//! tenant or a removed participant is refused at once, as without the cache:
//!
//! - Every store write that changes something cached registers an [`Invalidation`] of its
//!   tenant on its unit of work (`Db::invalidate`, in `store/mod.rs`) inside its
//!   transaction; right after the transaction's COMMIT returns (before the request
//!   answers) the commit applies it here ([`Cache::apply`]) and the tenant's entries are
//!   dropped. On PostgreSQL the same registration runs `pg_notify` in the transaction,
//!   which the database delivers only on commit, to every instance's `LISTEN` task
//!   (`store::listener`), which drops them there.
//! - A read that fills the cache takes a [`Ticket`] *before* it reads the store. Each
//!   invalidation stamps its tenant with a later number; an entry is used only while its
//!   ticket is newer than its tenant's stamp. So a read that raced a write (read the old
//!   row, then the write committed and invalidated) never leaves a stale entry behind.
//! - While an instance's `LISTEN` connection is down it cannot hear other instances'
//!   writes: the cache is bypassed (every request reads the store) until the listener is
//!   back, and it is then cleared. A connection can also stall without dropping (its
//!   backend stopped, a network path black-holed): the listener proves it alive every
//!   second ([`Cache::proven`]), and while the last proof is older than [`PROOF_MAX_AGE`]
//!   the cache is bypassed just the same.
//!
//! Time-dependent answers stay exact too: a key's expiry is checked against its cached
//! `expires_at` on every use, and a cached usage is kept only until the tenant's next key
//! expiry.
//!
//! Bounded: each map holds at most [`CAPACITY`] entries; reaching it clears the map
//! (a refill costs one store read per credential in use).
//!
//! It holds rows (`rows.rs`) and knows nothing else of the store: the reads that fill it
//! on a miss live with the queries of those rows (`tenants::snapshot`) and with their
//! callers (authentication, `GET /rooms/{id}`), each taking its ticket first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::rows::{KeyAuth, ParticipantAuth, RoomRow, TenantSnapshot, Timestamp};

/// Entries per map. An entry is a few hundred bytes: the whole cache stays within a few
/// tens of MiB whatever the number of tenants and keys in the store.
pub const CAPACITY: usize = 50_000;

/// The PostgreSQL channel invalidations travel on.
pub const CHANNEL: &str = "chalk_cache";

/// A watched cache serves only while its listener proved itself alive this recently
/// (docs/api.md, Hardening rules: "more than 3 s old").
pub const PROOF_MAX_AGE: Duration = Duration::from_secs(3);

/// What a write changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    /// Anything of this tenant: its row, usage, keys, participants.
    Tenant(String),
    /// Everything (operator-wide changes).
    All,
}

impl Invalidation {
    /// The `NOTIFY` payload.
    pub fn payload(&self) -> String {
        match self {
            Invalidation::Tenant(id) => format!("t:{id}"),
            Invalidation::All => "*".to_owned(),
        }
    }

    /// A payload back; `None` for one this version does not know (then clear all).
    pub fn from_payload(payload: &str) -> Option<Self> {
        match payload {
            "*" => Some(Invalidation::All),
            _ => payload
                .strip_prefix("t:")
                .map(|id| Invalidation::Tenant(id.to_owned())),
        }
    }
}

/// Taken before a store read whose result may fill the cache; `None` while bypassing.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

/// Shared, so a hit costs a reference count, not a copy of the row.
struct Entry<T> {
    value: Arc<T>,
    ticket: u64,
}

#[derive(Default)]
struct Maps {
    /// Tickets at or below it are void: set by clearing.
    floor: u64,
    /// The stamp of each tenant's last invalidation.
    stamps: HashMap<String, u64>,
    keys_by_hash: HashMap<String, Entry<KeyAuth>>,
    keys_by_id: HashMap<String, Entry<KeyAuth>>,
    participants: HashMap<String, Entry<ParticipantAuth>>,
    tenants: HashMap<String, Entry<TenantSnapshot>>,
    /// By `tenant_id/room_id`. Every change to a room or its participants changes its
    /// tenant's usage counters, so it invalidates the tenant.
    rooms: HashMap<String, Entry<RoomRow>>,
}

impl Maps {
    fn fresh(&self, tenant_id: &str, ticket: u64) -> bool {
        ticket > self.floor
            && self
                .stamps
                .get(tenant_id)
                .is_none_or(|stamp| ticket > *stamp)
    }

    fn clear(&mut self, floor: u64) {
        *self = Maps {
            floor,
            ..Maps::default()
        };
    }
}

pub struct Cache {
    maps: Mutex<Maps>,
    /// Tickets and stamps: strictly increasing.
    clock: AtomicU64,
    /// Set while invalidations from other instances could be missed.
    bypass: AtomicBool,
    /// Whether a listener must keep proving itself (PostgreSQL), and since when the
    /// cache counts: [`Cache::proven`] stores milliseconds after `epoch`.
    watched: bool,
    epoch: Instant,
    proven_at_ms: AtomicU64,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("bypass", &self.bypass.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// `watched`: the store is shared with other instances, whose writes a listener
    /// reports; then the cache starts bypassed until that listener is up, and serves only
    /// while it keeps proving itself alive.
    pub fn new(watched: bool) -> Self {
        Self {
            maps: Mutex::new(Maps::default()),
            clock: AtomicU64::new(0),
            bypass: AtomicBool::new(watched),
            watched,
            epoch: Instant::now(),
            proven_at_ms: AtomicU64::new(0),
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The listener has just shown that it hears the database.
    pub fn proven(&self) {
        self.proven_at_ms.store(self.elapsed_ms(), Ordering::SeqCst);
    }

    /// How long ago the listener last proved itself alive (zero when nothing listens).
    pub fn proof_age(&self) -> Duration {
        if !self.watched {
            return Duration::ZERO;
        }
        let at = self.proven_at_ms.load(Ordering::SeqCst);
        Duration::from_millis(self.elapsed_ms().saturating_sub(at))
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn maps(&self) -> std::sync::MutexGuard<'_, Maps> {
        // A panic while holding the lock leaves plain maps behind, still consistent.
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn ticket(&self) -> Option<Ticket> {
        if self.bypassed() {
            return None;
        }
        Some(Ticket(self.tick()))
    }

    /// Forgets what `what` names. Called after the writing transaction committed (and by
    /// the listener for other instances' writes).
    pub fn apply(&self, what: &Invalidation) {
        let stamp = self.tick();
        let mut maps = self.maps();
        match what {
            Invalidation::Tenant(id) => {
                if maps.stamps.len() >= CAPACITY && !maps.stamps.contains_key(id) {
                    maps.clear(stamp);
                } else {
                    maps.stamps.insert(id.clone(), stamp);
                }
            }
            Invalidation::All => maps.clear(stamp),
        }
    }

    /// Stops serving from the cache (the listener lost its connection).
    pub fn suspend(&self) {
        self.bypass.store(true, Ordering::SeqCst);
        let stamp = self.tick();
        self.maps().clear(stamp);
    }

    /// Serves from the cache again, starting empty (the listener is back, and its
    /// connection is the proof).
    pub fn resume(&self) {
        let stamp = self.tick();
        self.maps().clear(stamp);
        self.proven();
        self.bypass.store(false, Ordering::SeqCst);
    }

    /// Whether the listener is down (set by [`Cache::suspend`]).
    pub fn suspended(&self) -> bool {
        self.bypass.load(Ordering::SeqCst)
    }

    /// Whether every read goes to the store: the listener is down, or has not proved
    /// itself alive for longer than [`PROOF_MAX_AGE`]. Entries kept while its proof was
    /// stale are not trusted afterwards either: a late proof clears nothing, but the
    /// writes it missed were heard (or the connection replaced, which clears) before it.
    pub fn bypassed(&self) -> bool {
        self.bypass.load(Ordering::SeqCst) || self.proof_age() > PROOF_MAX_AGE
    }

    pub fn key_by_hash(&self, hash: &str) -> Option<Arc<KeyAuth>> {
        self.get(|m| &m.keys_by_hash, hash, |k| &k.key.tenant_id)
    }

    pub fn key_by_id(&self, id: &str) -> Option<Arc<KeyAuth>> {
        self.get(|m| &m.keys_by_id, id, |k| &k.key.tenant_id)
    }

    pub fn participant(&self, id: &str) -> Option<Arc<ParticipantAuth>> {
        self.get(|m| &m.participants, id, |p| &p.participant.tenant_id)
    }

    /// The tenant's snapshot, if cached and its usage still holds at `now`.
    pub fn tenant(&self, id: &str, now: Timestamp) -> Option<Arc<TenantSnapshot>> {
        self.get(|m| &m.tenants, id, |t| &t.row.id)
            .filter(|t| t.valid_until.is_none_or(|until| now < until))
    }

    pub fn room(&self, tenant_id: &str, room_id: &str) -> Option<Arc<RoomRow>> {
        self.get(
            |m| &m.rooms,
            &room_key(tenant_id, room_id),
            |r| &r.tenant_id,
        )
    }

    pub fn put_room(&self, ticket: Option<Ticket>, row: &Arc<RoomRow>) {
        let Some(Ticket(ticket)) = ticket else { return };
        let mut maps = self.maps();
        if self.bypassed() || !maps.fresh(&row.tenant_id, ticket) {
            return;
        }
        insert(
            &mut maps.rooms,
            &room_key(&row.tenant_id, &row.id),
            row.clone(),
            ticket,
        );
    }

    pub fn put_key(&self, ticket: Option<Ticket>, hash: Option<&str>, auth: &Arc<KeyAuth>) {
        let Some(Ticket(ticket)) = ticket else { return };
        let mut maps = self.maps();
        if self.bypassed() || !maps.fresh(&auth.key.tenant_id, ticket) {
            return;
        }
        if let Some(hash) = hash {
            insert(&mut maps.keys_by_hash, hash, auth.clone(), ticket);
        }
        insert(&mut maps.keys_by_id, &auth.key.id, auth.clone(), ticket);
    }

    pub fn put_participant(&self, ticket: Option<Ticket>, auth: &Arc<ParticipantAuth>) {
        let Some(Ticket(ticket)) = ticket else { return };
        let mut maps = self.maps();
        if self.bypassed() || !maps.fresh(&auth.participant.tenant_id, ticket) {
            return;
        }
        insert(
            &mut maps.participants,
            &auth.participant.id,
            auth.clone(),
            ticket,
        );
    }

    pub fn put_tenant(&self, ticket: Option<Ticket>, snapshot: &Arc<TenantSnapshot>) {
        let Some(Ticket(ticket)) = ticket else { return };
        let mut maps = self.maps();
        if self.bypassed() || !maps.fresh(&snapshot.row.id, ticket) {
            return;
        }
        insert(
            &mut maps.tenants,
            &snapshot.row.id,
            snapshot.clone(),
            ticket,
        );
    }

    fn get<T: Clone>(
        &self,
        map: impl Fn(&Maps) -> &HashMap<String, Entry<T>>,
        key: &str,
        tenant_of: impl Fn(&T) -> &String,
    ) -> Option<Arc<T>> {
        if self.bypassed() {
            return None;
        }
        let maps = self.maps();
        let entry = map(&maps).get(key)?;
        maps.fresh(tenant_of(&entry.value), entry.ticket)
            .then(|| entry.value.clone())
    }
}

fn room_key(tenant_id: &str, room_id: &str) -> String {
    format!("{tenant_id}/{room_id}")
}

fn insert<T>(map: &mut HashMap<String, Entry<T>>, key: &str, value: Arc<T>, ticket: u64) {
    if map.len() >= CAPACITY && !map.contains_key(key) {
        map.clear();
    }
    map.insert(key.to_owned(), Entry { value, ticket });
}

#[cfg(test)]
mod tests {
    use super::*;
    use chalk_sdk::model::TenantStatus;

    fn key(tenant: &str) -> Arc<KeyAuth> {
        Arc::new(KeyAuth {
            key: crate::store::rows::ApiKeyRow {
                seq: 1,
                id: format!("key_{tenant}"),
                tenant_id: tenant.to_owned(),
                name: "k".into(),
                prefix: "ck_live_abcd".into(),
                scopes: vec![],
                primary: true,
                created_at: 0,
                last_used_at: None,
                expires_at: None,
                revoked_at: None,
            },
            tenant_status: TenantStatus::Active,
            rate_limit_per_minute: 60,
        })
    }

    #[test]
    fn a_fill_that_raced_an_invalidation_is_not_kept() {
        let cache = Cache::new(false);
        let ticket = cache.ticket();
        // The write commits and invalidates while the read is in flight.
        cache.apply(&Invalidation::Tenant("t1".into()));
        cache.put_key(ticket, Some("h"), &key("t1"));
        assert!(cache.key_by_hash("h").is_none());
        // A read that starts after the invalidation fills it.
        cache.put_key(cache.ticket(), Some("h"), &key("t1"));
        assert!(cache.key_by_hash("h").is_some());
        assert!(cache.key_by_id("key_t1").is_some());
        // Another tenant's invalidation leaves it; its own drops it.
        cache.apply(&Invalidation::Tenant("t2".into()));
        assert!(cache.key_by_hash("h").is_some());
        cache.apply(&Invalidation::Tenant("t1".into()));
        assert!(cache.key_by_hash("h").is_none());
        assert!(cache.key_by_id("key_t1").is_none());
    }

    #[test]
    fn suspended_it_serves_and_keeps_nothing_and_resumes_empty() {
        let cache = Cache::new(false);
        cache.put_key(cache.ticket(), Some("h"), &key("t1"));
        let in_flight = cache.ticket();
        cache.suspend();
        assert!(cache.ticket().is_none());
        assert!(cache.key_by_hash("h").is_none());
        cache.resume();
        assert!(cache.key_by_hash("h").is_none(), "cleared on resume");
        // A read that began before the outage may have missed an invalidation.
        cache.put_key(in_flight, Some("h"), &key("t1"));
        assert!(cache.key_by_hash("h").is_none());
        cache.apply(&Invalidation::All);
        cache.put_key(cache.ticket(), Some("h"), &key("t1"));
        assert!(cache.key_by_hash("h").is_some());
        cache.apply(&Invalidation::All);
        assert!(cache.key_by_hash("h").is_none());
    }

    #[test]
    fn payloads_round_trip() {
        for what in [Invalidation::Tenant("ten_1".into()), Invalidation::All] {
            assert_eq!(Invalidation::from_payload(&what.payload()), Some(what));
        }
        assert_eq!(Invalidation::from_payload("?"), None);
    }

    #[test]
    fn the_maps_stay_bounded() {
        let cache = Cache::new(false);
        for i in 0..CAPACITY + 10 {
            cache.put_key(
                cache.ticket(),
                Some(&format!("h{i}")),
                &key(&format!("t{i}")),
            );
        }
        assert!(cache.maps().keys_by_hash.len() <= CAPACITY);
        assert!(cache.maps().keys_by_id.len() <= CAPACITY);
    }
}
