//! PostgreSQL: hears the cache invalidations other instances' transactions send
//! (`pg_notify` on [`CHANNEL`], delivered only when they commit) and applies them here.
//!
//! While the listening connection is down this instance could miss some: the cache is
//! suspended (every request reads the store) until `LISTEN` is back, then starts empty.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::cache::{CHANNEL, Cache, Invalidation};

/// Wait between reconnection attempts.
const RETRY: Duration = Duration::from_millis(250);

pub(super) async fn listen(url: String, cache: Arc<Cache>) {
    loop {
        cache.suspend();
        match hear(&url, &cache).await {
            Ok(()) => tracing::warn!("cache listener lost its connection; bypassing the cache"),
            Err(e) => {
                tracing::warn!(error = %e, "cache listener cannot connect; bypassing the cache")
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Listens until the connection drops (`Ok`) or cannot be made (`Err`).
async fn hear(url: &str, cache: &Cache) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    cache.resume();
    loop {
        match listener.try_recv().await? {
            Some(notification) => match Invalidation::from_payload(notification.payload()) {
                Some(what) => cache.apply(&what),
                None => cache.apply(&Invalidation::All),
            },
            None => return Ok(()),
        }
    }
}
