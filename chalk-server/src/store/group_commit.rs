//! SQLite group commit: one writer connection, and the write transactions that arrive
//! together share one COMMIT (one fsync) instead of paying one each.
//!
//! A *batch* is one SQLite transaction on the writer connection. Each [`Store::begin`]
//! (`super::Store::begin`) waits its turn for the connection (a fair mutex: first come,
//! first served), opens the batch if none is open, and runs inside its own
//! `SAVEPOINT`. Its [`Member::release`] keeps its work and hands the connection on;
//! a member dropped without committing rolls back to its savepoint, so a failing request
//! (a quota refusal, a conflict, a validation error, a fault) leaves its neighbours' work
//! alone. When a batch opens, a committer task queues for the connection behind everyone
//! already waiting; when its turn comes it COMMITs the batch and tells every member.
//! Each member's `commit` returns only then: a request is acknowledged only after the
//! COMMIT that made its data durable returned, and if that COMMIT fails, every member
//! gets the error.
//!
//! The committer is a task of its own so that a request that goes away (its client
//! disconnected) never leaves a batch without its COMMIT. For the same reason the batch,
//! not its members, owns what their transactions registered to follow the commit (cache
//! invalidations, [`Member::register`]): the committer applies them right after the
//! COMMIT — also when it failed, as its effect is then unknown — and before any member
//! hears the outcome. A member whose request was dropped at any await point after its
//! work entered the batch therefore cannot leave a committed change unenforced.
//!
//! Every member's savepoint has the same name ([`savepoint`]): members hold the connection
//! one at a time and each savepoint is released (or rolled back and released) before the
//! next begins, so one name is never ambiguous. A member that keeps its work does not pay
//! a round trip to the writer for its `RELEASE`: whoever takes the connection next sends
//! it in front of its own statement (`RELEASE member; SAVEPOINT member`, or `RELEASE
//! member; COMMIT`), which saves every write one of the few statements it runs. It also keeps the statements few: sqlx
//! caches every statement text it runs, in a small per-connection LRU, and a name per
//! member (`s1`, `s2`, … up to the batch's size) evicted the real queries from it, so each
//! was prepared again on every request.

use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use super::{StoreError, StoreResult, store_error};
use crate::store::cache::{Cache, Invalidation};

/// The one savepoint name every member uses (see the module's documentation).
mod savepoint {
    pub(super) const BEGIN: &str = "SAVEPOINT member";
    pub(super) const RELEASE_AND_BEGIN: &str = "RELEASE member; SAVEPOINT member";
    pub(super) const UNDO: &str = "ROLLBACK TO member; RELEASE member";
    pub(super) const COMMIT: &str = "COMMIT";
    pub(super) const RELEASE_AND_COMMIT: &str = "RELEASE member; COMMIT";
}

/// What a batch's COMMIT said; `None` until it ran.
type Outcome = Option<Result<(), StoreError>>;

pub(super) struct Writer {
    slot: Arc<Mutex<Slot>>,
    pool: AnyPool,
    /// Where the committer applies a batch's invalidations.
    cache: Arc<Cache>,
}

struct Slot {
    /// The one writer connection, taken from the pool at first use.
    conn: Option<PoolConnection<Any>>,
    /// The open batch: where its outcome will be announced.
    batch: Option<watch::Sender<Outcome>>,
    /// What the open batch's members registered to apply once it commits. Kept even for a
    /// member that later rolls back: a needless invalidation costs one cache miss, a lost
    /// one would serve a revoked credential.
    registered: Vec<Invalidation>,
    /// The last member kept its work and left its savepoint for the next statement on the
    /// connection to release (see the module's documentation).
    unreleased: bool,
}

impl Writer {
    pub(super) fn new(pool: AnyPool, cache: Arc<Cache>) -> Self {
        Self {
            slot: Arc::new(Mutex::new(Slot {
                conn: None,
                batch: None,
                registered: Vec::new(),
                unreleased: false,
            })),
            pool,
            cache,
        }
    }

    /// Waits for the writer connection and starts a member of the open (or a new) batch.
    ///
    /// The work runs in a task of its own: a caller that goes away mid-way (its client
    /// disconnected) must not leave a `BEGIN` or `SAVEPOINT` sent but unaccounted for — a
    /// batch opened with no committer, or a savepoint nobody releases. The task finishes
    /// the step; a member that nobody receives is dropped there, which rolls it back.
    pub(super) async fn begin(&self) -> StoreResult<Member> {
        let (slot, pool, cache) = (self.slot.clone(), self.pool.clone(), self.cache.clone());
        tokio::spawn(start_member(slot, pool, cache))
            .await
            .map_err(|e| StoreError::Internal(format!("starting a write transaction: {e}")))?
    }

    /// Closes the writer connection (at shutdown, once requests are done).
    pub(super) async fn close(&self) {
        let mut slot = self.slot.lock().await;
        if let Some(conn) = slot.conn.take() {
            let _ = conn.close().await;
        }
        self.pool.close().await;
    }
}

/// [`Writer::begin`]'s work, in its own task.
async fn start_member(
    shared: Arc<Mutex<Slot>>,
    pool: AnyPool,
    cache: Arc<Cache>,
) -> StoreResult<Member> {
    let mut slot = shared.clone().lock_owned().await;
    if slot.conn.is_none() {
        slot.conn = Some(pool.acquire().await.map_err(store_error)?);
    }
    if slot.batch.is_none() {
        connection(&mut slot)?
            .execute("BEGIN")
            .await
            .map_err(store_error)?;
        slot.batch = Some(watch::channel(None).0);
        tokio::spawn(commit_batch(shared, cache));
    }
    let outcome = slot
        .batch
        .as_ref()
        .map(watch::Sender::subscribe)
        .ok_or_else(|| StoreError::Internal("no open batch".into()))?;
    // A failed SAVEPOINT drops the slot, freeing the connection; the batch's committer
    // still commits the others.
    let begin = if std::mem::take(&mut slot.unreleased) {
        savepoint::RELEASE_AND_BEGIN
    } else {
        savepoint::BEGIN
    };
    connection(&mut slot)?
        .execute(begin)
        .await
        .map_err(store_error)?;
    Ok(Member {
        slot: Some(slot),
        outcome,
    })
}

fn connection(slot: &mut Slot) -> StoreResult<&mut AnyConnection> {
    slot.conn
        .as_deref_mut()
        .ok_or_else(|| StoreError::Unavailable("the writer connection is closed".into()))
}

/// Runs when its turn for the connection comes: commits the batch opened before it, then
/// applies what its members registered, then tells them.
async fn commit_batch(slot: Arc<Mutex<Slot>>, cache: Arc<Cache>) {
    let mut slot = slot.lock_owned().await;
    let Some(batch) = slot.batch.take() else {
        return;
    };
    let commit = if std::mem::take(&mut slot.unreleased) {
        savepoint::RELEASE_AND_COMMIT
    } else {
        savepoint::COMMIT
    };
    let result = match connection(&mut slot) {
        Ok(conn) => conn.execute(commit).await.map(|_| ()).map_err(store_error),
        Err(e) => Err(e),
    };
    if result.is_err()
        && let Ok(conn) = connection(&mut slot)
    {
        // Leave the connection outside any transaction for the next batch. (SQLite may
        // already have rolled back; then this fails, harmlessly.)
        let _ = conn.execute("ROLLBACK").await;
    }
    // Whatever the COMMIT said (a failed one may still have happened), before anyone
    // learns the outcome and while the next batch waits for the connection.
    for what in slot.registered.drain(..) {
        cache.apply(&what);
    }
    // Nobody listening is fine: those members went away.
    let _ = batch.send(Some(result));
}

/// One write transaction: a savepoint inside the open batch, holding the writer
/// connection until it commits or is dropped.
pub(super) struct Member {
    slot: Option<OwnedMutexGuard<Slot>>,
    outcome: watch::Receiver<Outcome>,
}

impl Member {
    pub(super) fn conn(&mut self) -> StoreResult<&mut AnyConnection> {
        match self.slot.as_deref_mut() {
            Some(slot) => connection(slot),
            None => Err(StoreError::Internal(
                "write transaction already ended".into(),
            )),
        }
    }

    /// Hands `what` to the batch, to be applied by its committer (see the module's
    /// documentation). From here on it no longer depends on this member's future.
    pub(super) fn register(&mut self, what: Invalidation) -> StoreResult<()> {
        match self.slot.as_deref_mut() {
            Some(slot) => {
                slot.registered.push(what);
                Ok(())
            }
            None => Err(StoreError::Internal(
                "write transaction already ended".into(),
            )),
        }
    }

    /// Keeps this member's work in the batch and hands the connection on; the batch's
    /// COMMIT follows without this member ([`Committing::outcome`] waits for it). Its
    /// savepoint is released by the next statement on the connection.
    pub(super) fn release(mut self) -> StoreResult<Committing> {
        let mut slot = self
            .slot
            .take()
            .ok_or_else(|| StoreError::Internal("write transaction already ended".into()))?;
        slot.unreleased = true;
        // The work is in the batch now: free the connection for the next member.
        drop(slot);
        Ok(Committing(self.outcome.clone()))
    }
}

/// A member whose work is in the batch, waiting for its COMMIT.
pub(super) struct Committing(watch::Receiver<Outcome>);

impl Committing {
    /// Returns once the batch's COMMIT did, with what it said.
    pub(super) async fn outcome(mut self) -> StoreResult<()> {
        let outcome = self
            .0
            .wait_for(Option::is_some)
            .await
            .map_err(|_| StoreError::Unavailable("the batch ended without a commit".into()))?
            .clone();
        outcome.unwrap_or_else(|| Err(StoreError::Internal("batch outcome missing".into())))
    }
}

impl Drop for Member {
    /// Not committed: undo this member's work, and only its work, before the connection
    /// goes to the next member.
    fn drop(&mut self) {
        let Some(mut slot) = self.slot.take() else {
            return;
        };
        let undo = async move {
            if let Ok(conn) = connection(&mut slot)
                && let Err(e) = conn.execute(savepoint::UNDO).await
            {
                tracing::warn!(error = %e, "rolling back a write transaction failed");
            }
            drop(slot);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(undo);
            }
            // Without a runtime nothing can run on the connection again either.
            Err(_) => drop(undo),
        }
    }
}
