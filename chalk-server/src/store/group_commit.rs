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
//! next begins, so one name is never ambiguous, and the writer keeps one prepared statement
//! for each step instead of one per name.
//!
//! The writer connection runs statements on the calling thread (`sqlite_direct.rs`):
//! a member's statements cost what SQLite takes, not a hand-off to another thread each.
//! Only the COMMIT, which waits for the disk, runs off the async workers.

use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use super::conn::Conn;
use super::sqlite_direct::DirectConnection;
use super::{StoreError, StoreResult, store_error};
use crate::store::cache::{Cache, Invalidation};

/// The one savepoint name every member uses (see the module's documentation).
mod savepoint {
    pub(super) const BEGIN: &str = "SAVEPOINT member";
    pub(super) const RELEASE: &str = "RELEASE member";
    pub(super) const ROLLBACK: &str = "ROLLBACK TO member";
}

/// What a batch's COMMIT said; `None` until it ran.
type Outcome = Option<Result<(), StoreError>>;

pub(super) struct Writer {
    slot: Arc<Mutex<Slot>>,
    /// Where the committer applies a batch's invalidations.
    cache: Arc<Cache>,
}

struct Slot {
    /// The one writer connection; `None` once closed (or while a COMMIT has it).
    conn: Option<DirectConnection>,
    /// The open batch: where its outcome will be announced.
    batch: Option<watch::Sender<Outcome>>,
    /// What the open batch's members registered to apply once it commits. Kept even for a
    /// member that later rolls back: a needless invalidation costs one cache miss, a lost
    /// one would serve a revoked credential.
    registered: Vec<Invalidation>,
}

impl Writer {
    pub(super) fn new(conn: DirectConnection, cache: Arc<Cache>) -> Self {
        Self {
            slot: Arc::new(Mutex::new(Slot {
                conn: Some(conn),
                batch: None,
                registered: Vec::new(),
            })),
            cache,
        }
    }

    /// Waits for the writer connection and starts a member of the open (or a new) batch.
    ///
    /// Only the wait for the connection is an await point, and a caller that goes away
    /// during it leaves nothing behind. From there on the statements (`BEGIN`,
    /// `SAVEPOINT`) run on this thread (`sqlite_direct.rs`), so no caller can go away with
    /// one sent but unaccounted for — a batch opened with no committer, or a savepoint
    /// nobody releases.
    pub(super) async fn begin(&self) -> StoreResult<Member> {
        let mut slot = self.slot.clone().lock_owned().await;
        if slot.batch.is_none() {
            execute(&mut slot, "BEGIN")?;
            slot.batch = Some(watch::channel(None).0);
            tokio::spawn(commit_batch(self.slot.clone(), self.cache.clone()));
        }
        let outcome = slot
            .batch
            .as_ref()
            .map(watch::Sender::subscribe)
            .ok_or_else(|| StoreError::Internal("no open batch".into()))?;
        // A failed SAVEPOINT drops the slot, freeing the connection; the batch's committer
        // still commits the others.
        execute(&mut slot, savepoint::BEGIN)?;
        Ok(Member {
            slot: Some(slot),
            outcome,
        })
    }

    /// Closes the writer connection (at shutdown, once requests are done).
    pub(super) async fn close(&self) {
        let mut slot = self.slot.lock().await;
        drop(slot.conn.take());
    }
}

fn connection(slot: &mut Slot) -> StoreResult<&mut DirectConnection> {
    slot.conn
        .as_mut()
        .ok_or_else(|| StoreError::Unavailable("the writer connection is closed".into()))
}

/// Runs one of the batch's own statements (no arguments, no rows).
fn execute(slot: &mut Slot, sql: &str) -> StoreResult<()> {
    connection(slot)?
        .run(sql, None, None)
        .map(drop)
        .map_err(store_error)
}

/// Runs when its turn for the connection comes: commits the batch opened before it, then
/// applies what its members registered, then tells them.
async fn commit_batch(slot: Arc<Mutex<Slot>>, cache: Arc<Cache>) {
    let mut slot = slot.lock_owned().await;
    let Some(batch) = slot.batch.take() else {
        return;
    };
    // The COMMIT waits for the disk: off the async workers, the connection lent to it.
    let result = match slot.conn.take() {
        Some(conn) => {
            let (conn, committed) = conn.commit().await;
            slot.conn = Some(conn);
            committed.map_err(store_error)
        }
        None => Err(StoreError::Unavailable(
            "the writer connection is closed".into(),
        )),
    };
    if result.is_err() {
        // Leave the connection outside any transaction for the next batch. (SQLite may
        // already have rolled back; then this fails, harmlessly.)
        let _ = execute(&mut slot, "ROLLBACK");
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
    pub(super) fn conn(&mut self) -> StoreResult<Conn<'_>> {
        match self.slot.as_deref_mut() {
            Some(slot) => connection(slot).map(Conn::direct),
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
    /// COMMIT follows without this member ([`Committing::outcome`] waits for it).
    pub(super) fn release(mut self) -> StoreResult<Committing> {
        let slot = self
            .slot
            .as_deref_mut()
            .ok_or_else(|| StoreError::Internal("write transaction already ended".into()))?;
        // Failed, the member is dropped with its slot: rolled back, connection freed.
        execute(slot, savepoint::RELEASE)?;
        // The work is in the batch now: free the connection for the next member.
        drop(self.slot.take());
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
    /// goes to the next member. On this thread, before the connection is handed on.
    fn drop(&mut self) {
        let Some(mut slot) = self.slot.take() else {
            return;
        };
        let undone = execute(&mut slot, savepoint::ROLLBACK)
            .and_then(|()| execute(&mut slot, savepoint::RELEASE));
        if let Err(e) = undone {
            tracing::warn!(error = %e, "rolling back a write transaction failed");
        }
    }
}
