//! PostgreSQL: hears the cache invalidations other instances' transactions send
//! (`pg_notify` on [`CHANNEL`], delivered only when they commit) and applies them here.
//!
//! While the listening connection is down this instance could miss some: the cache is
//! suspended (every request reads the store) until `LISTEN` is back, then starts empty.
//!
//! A connection can also stall without dropping: its backend stopped, a network path
//! black-holed, and no error ever comes. So the listener proves itself alive: every
//! [`PROOF_INTERVAL`] this instance sends, through its ordinary pool, a notification on a
//! channel only it listens on, and hearing it is the proof ([`Cache::proven`]). While the
//! last proof is older than [`crate::store::cache::PROOF_MAX_AGE`] the cache bypasses itself;
//! past [`RECONNECT_AFTER`] the connection is dropped and made anew. A proof travels the
//! same queue as the invalidations, in commit order, so hearing it means every
//! invalidation committed before it was heard too.

use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::postgres::PgListener;

use crate::store::cache::{CHANNEL, Cache, Invalidation};

/// Wait between reconnection attempts.
const RETRY: Duration = Duration::from_millis(250);
/// How often the listener proves itself alive.
const PROOF_INTERVAL: Duration = Duration::from_secs(1);
/// A listener silent this long is replaced.
const RECONNECT_AFTER: Duration = Duration::from_secs(5);

pub(super) async fn listen(url: String, pool: AnyPool, cache: Arc<Cache>) {
    // This instance's own proof channel: other instances neither hear nor send on it.
    let proofs = format!(
        "chalk_alive_{}",
        crate::crypto::random_base62(16).to_lowercase()
    );
    loop {
        cache.suspend();
        let hearing = tokio::spawn(hear(url.clone(), proofs.clone(), cache.clone()));
        watch(&pool, &proofs, &cache, &hearing).await;
        // Dropping the listener (and its connection) with the task: a stalled connection
        // is never read again.
        hearing.abort();
        match hearing.await {
            Ok(Ok(())) => {
                tracing::warn!("cache listener lost its connection; bypassing the cache")
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cache listener cannot connect; bypassing the cache")
            }
            Err(_) => tracing::warn!(
                "cache listener stopped proving itself alive; bypassing the cache and reconnecting"
            ),
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Sends a proof every [`PROOF_INTERVAL`] while `hearing` runs; returns when it ended or
/// has not heard a proof for [`RECONNECT_AFTER`].
async fn watch(
    pool: &AnyPool,
    proofs: &str,
    cache: &Cache,
    hearing: &tokio::task::JoinHandle<Result<(), sqlx::Error>>,
) {
    let mut ticks = tokio::time::interval(PROOF_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if hearing.is_finished() || (!cache.suspended() && cache.proof_age() > RECONNECT_AFTER) {
            return;
        }
        // In a task of its own, so a slow pool never delays the next check.
        let (pool, proofs) = (pool.clone(), proofs.to_owned());
        tokio::spawn(async move {
            if let Err(e) = sqlx::query("SELECT pg_notify($1, '')")
                .bind(proofs)
                .execute(&pool)
                .await
            {
                tracing::debug!(error = %e, "cannot send the cache listener's proof");
            }
        });
    }
}

/// Listens until the connection drops (`Ok`) or cannot be made (`Err`).
async fn hear(url: String, proofs: String, cache: Arc<Cache>) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect(&url).await?;
    listener.listen_all([CHANNEL, proofs.as_str()]).await?;
    cache.resume();
    loop {
        match listener.try_recv().await? {
            Some(notification) if notification.channel() == proofs => cache.proven(),
            Some(notification) => match Invalidation::from_payload(notification.payload()) {
                Some(what) => cache.apply(&what),
                None => cache.apply(&Invalidation::All),
            },
            None => return Ok(()),
        }
    }
}
