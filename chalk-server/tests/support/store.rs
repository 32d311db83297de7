//! The store a test runs on: a fresh SQLite file by default, or a fresh PostgreSQL schema
//! when `CHALK_TEST_STORE=postgres` — so the whole router suite, not only the store
//! conformance suite, proves that both databases behave alike (`.ci/run` runs it both ways).
//!
//! [`StoreOps`] lets the conformance suites call one store operation at a time, each in a
//! transaction of its own that commits only when the operation succeeded — as the domain
//! does, which rolls back on every refusal.

use std::any::Any;
use std::sync::Arc;

use chalk_sdk::model::{RoomStatus, TenantUsage};
use chalk_server::store::*;

use super::postgres::{ENV, TestSchema};

pub const STORE_ENV: &str = "CHALK_TEST_STORE";

/// A store of its own for one test; the guard keeps its files (or schema) alive.
pub async fn fresh_store() -> (Arc<Store>, Box<dyn Any + Send + Sync>) {
    match std::env::var(STORE_ENV).as_deref() {
        Ok("postgres") => {
            let schema = TestSchema::create()
                .await
                .unwrap_or_else(|| panic!("{STORE_ENV}=postgres needs {ENV}"));
            let store = Store::connect(&schema.url)
                .await
                .expect("open PostgreSQL test store");
            (Arc::new(store), Box::new(schema))
        }
        Ok("sqlite") | Err(_) => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("chalk.db").display());
            let store = Store::connect(&url).await.expect("open SQLite test store");
            (Arc::new(store), Box::new(dir))
        }
        Ok(other) => panic!("{STORE_ENV}={other:?}: use sqlite or postgres"),
    }
}

/// One operation per transaction, for the conformance suites.
pub struct StoreOps(pub Arc<Store>);

impl std::ops::Deref for StoreOps {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.0
    }
}

/// Runs `$op` on a write transaction, committing when `$ok` says the outcome changed
/// something that should stay.
macro_rules! write {
    ($self:ident, |$db:ident| $op:expr, $ok:expr) => {{
        let mut $db = $self.0.begin().await?;
        let outcome = $op.await?;
        #[allow(clippy::redundant_closure_call)]
        if ($ok)(&outcome) {
            $db.commit().await?;
        }
        Ok(outcome)
    }};
}

macro_rules! read {
    ($self:ident, |$db:ident| $op:expr) => {{
        let mut $db = $self.0.read().await?;
        $op.await
    }};
}

fn always<T>(_: &T) -> bool {
    true
}

impl StoreOps {
    pub async fn create_tenant(
        &self,
        t: TenantRow,
        k: NewApiKey,
    ) -> StoreResult<CreateTenantOutcome> {
        write!(
            self,
            |db| async { tenants::create(&mut db, &t, &k).await },
            |o: &CreateTenantOutcome| matches!(o, CreateTenantOutcome::Created(_))
        )
    }
    pub async fn get_tenant(&self, id: &str) -> StoreResult<Option<TenantRow>> {
        read!(self, |db| tenants::get(&mut db, id))
    }
    pub async fn list_tenants(
        &self,
        filter: &TenantFilter,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<TenantRow>> {
        read!(self, |db| tenants::list(&mut db, filter, after, limit))
    }
    pub async fn update_tenant(
        &self,
        id: &str,
        rev: Option<i64>,
        change: TenantChange,
        now: Timestamp,
    ) -> StoreResult<UpdateOutcome> {
        write!(
            self,
            |db| tenants::update(&mut db, id, rev, change, now),
            |o: &UpdateOutcome| matches!(o, UpdateOutcome::Updated(_))
        )
    }
    pub async fn delete_tenant(&self, id: &str) -> StoreResult<bool> {
        write!(self, |db| tenants::delete(&mut db, id), always)
    }
    pub async fn tenant_usage(&self, id: &str, now: Timestamp) -> StoreResult<TenantUsage> {
        read!(self, |db| tenants::usage(&mut db, id, now))
    }
    pub async fn key_by_hash(&self, hash: &str) -> StoreResult<Option<KeyAuth>> {
        read!(self, |db| keys::by_hash(&mut db, hash))
    }
    pub async fn key_by_id(&self, id: &str) -> StoreResult<Option<KeyAuth>> {
        read!(self, |db| keys::by_id(&mut db, id))
    }
    pub async fn touch_key(&self, id: &str, now: Timestamp) -> StoreResult<()> {
        write!(self, |db| keys::touch(&mut db, id, now), always)
    }
    pub async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKeyRow> {
        write!(self, |db| keys::create(&mut db, &key), always)
    }
    pub async fn list_api_keys(
        &self,
        tenant: &str,
        now: Timestamp,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<ApiKeyRow>> {
        read!(self, |db| keys::list(&mut db, tenant, now, after, limit))
    }
    pub async fn revoke_api_key(
        &self,
        tenant: &str,
        key: &str,
        now: Timestamp,
    ) -> StoreResult<RevokeKeyOutcome> {
        write!(self, |db| keys::revoke(&mut db, tenant, key, now), always)
    }
    pub async fn rotate_primary_key(
        &self,
        key: NewApiKey,
        previous: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        write!(
            self,
            |db| keys::rotate_primary(&mut db, &key, previous, now),
            |o: &bool| *o
        )
    }
    pub async fn insert_refresh_token(&self, token: NewRefreshToken) -> StoreResult<()> {
        write!(self, |db| refresh::insert(&mut db, &token), always)
    }
    pub async fn use_refresh_token(
        &self,
        hash: &str,
        successor: &str,
        expires: Timestamp,
        now: Timestamp,
    ) -> StoreResult<RefreshOutcome> {
        write!(
            self,
            |db| refresh::use_once(&mut db, hash, successor, expires, now),
            always
        )
    }
    pub async fn revoke_refresh_family(&self, hash: &str, now: Timestamp) -> StoreResult<()> {
        write!(
            self,
            |db| refresh::revoke_family(&mut db, hash, now),
            always
        )
    }
    pub async fn create_room(&self, room: NewRoom) -> StoreResult<CreateRoomOutcome> {
        write!(
            self,
            |db| rooms::create(&mut db, &room),
            |o: &CreateRoomOutcome| matches!(o, CreateRoomOutcome::Created(_))
        )
    }
    pub async fn get_room(&self, tenant: &str, room: &str) -> StoreResult<Option<RoomRow>> {
        read!(self, |db| rooms::get(&mut db, tenant, room))
    }
    pub async fn list_rooms(
        &self,
        tenant: &str,
        status: Option<RoomStatus>,
        now: Timestamp,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<RoomRow>> {
        read!(self, |db| rooms::list(
            &mut db, tenant, status, now, after, limit
        ))
    }
    pub async fn end_room(
        &self,
        tenant: &str,
        room: &str,
        now: Timestamp,
    ) -> StoreResult<EndRoomOutcome> {
        write!(self, |db| rooms::end(&mut db, tenant, room, now), always)
    }
    pub async fn add_participant(
        &self,
        p: NewParticipant,
        rules: JoinRules,
    ) -> StoreResult<JoinOutcome> {
        write!(
            self,
            |db| participants::join(&mut db, &p, rules),
            |o: &JoinOutcome| matches!(o, JoinOutcome::Joined { .. })
        )
    }
    pub async fn participant_auth(&self, id: &str) -> StoreResult<Option<ParticipantAuth>> {
        read!(self, |db| participants::participant_auth(&mut db, id))
    }
    pub async fn rotate_participant_tokens(
        &self,
        tenant: &str,
        room: &str,
        id: &str,
        generation: Option<i64>,
        now: Timestamp,
        tokens_expire_at: Timestamp,
    ) -> StoreResult<RotateParticipantOutcome> {
        write!(
            self,
            |db| participants::rotate_participant(
                &mut db,
                tenant,
                room,
                id,
                generation,
                now,
                tokens_expire_at
            ),
            always
        )
    }
    pub async fn end_expired(
        &self,
        tenant: &str,
        now: Timestamp,
    ) -> StoreResult<Vec<ParticipantRow>> {
        write!(
            self,
            |db| participants::end_expired(&mut db, tenant, now),
            always
        )
    }
    pub async fn participant(&self, id: &str) -> StoreResult<Option<ParticipantRow>> {
        read!(self, |db| participants::participant(&mut db, id))
    }
    pub async fn remove_participant(
        &self,
        tenant: &str,
        room: &str,
        id: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        write!(
            self,
            |db| participants::remove_participant(&mut db, tenant, room, id, now),
            always
        )
    }
    pub async fn empty_rooms(
        &self,
        before: Timestamp,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<EmptyRoom>> {
        read!(self, |db| rooms::empty(&mut db, before, after, limit))
    }
    pub async fn end_room_if_empty_since(
        &self,
        tenant: &str,
        room: &str,
        since: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        write!(
            self,
            |db| rooms::end_if_empty_since(&mut db, tenant, room, since, now),
            always
        )
    }
}
