//! Running the server: the listener, and beside it every worker of the process, started
//! and stopped together.

use crate::domain::signing;
use crate::http::{AppState, Routes, denials, server};
use crate::workers::{backups, housekeeping, room_sweeper, upkeep, usage_flush, webhook_delivery};

/// Serves until `shutdown` resolves; in-flight requests then get the shutdown grace
/// (`state.limits`) to finish. Connections are capped and timed out as docs/api.md's
/// Hardening rules say (see [`server`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_backups(listener, state, Routes::build(), None, shutdown).await
}

/// [`serve`], with `routes` built beforehand (see [`Routes`]) and scheduled backups when
/// `backups` is set (`CHALK_BACKUP_DIR`).
pub async fn serve_with_backups(
    listener: tokio::net::TcpListener,
    state: AppState,
    routes: Routes,
    backups: Option<backups::Schedule>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let backup_worker = backups.map(|schedule| backups::spawn(state.core.clone(), schedule));
    let draining = state.clone();
    let limits = state.limits.clone();
    let sweeper = room_sweeper::spawn(state.core.clone(), room_sweeper::DEFAULT_INTERVAL);
    let purger = housekeeping::spawn(state.core.clone(), housekeeping::DEFAULT_INTERVAL);
    let deliverer = webhook_delivery::spawn(state.core.clone());
    let upkeep = upkeep::spawn(state.core.clone(), upkeep::DEFAULT_INTERVAL);
    let usage_flusher = usage_flush::spawn(state.core.clone(), usage_flush::DEFAULT_INTERVAL);
    let final_usage = state.core.clone();
    // Refusals held back from the audit log are written once their minute is over.
    let denial_writer = denials::spawn(state.clone(), std::time::Duration::from_secs(5));
    let final_denials = state.clone();
    // Another instance's rotation is picked up for signing within this interval.
    let key_refresher = state
        .signer
        .key_ring()
        .map(|ring| ring.spawn_refresher(signing::KEY_REFRESH_INTERVAL));
    let served = server::run(
        listener,
        routes.into_router(state),
        limits,
        shutdown,
        move || {
            draining.begin_shutdown();
            tracing::info!("shutting down: finishing in-flight requests");
        },
    )
    .await;
    sweeper.abort();
    if let Some(worker) = backup_worker {
        // A backup cut short leaves only its temporary file, never one under a final name.
        worker.abort();
    }
    purger.abort();
    upkeep.abort();
    denial_writer.abort();
    // What the last minute held back is not lost with the process.
    final_denials.denials.write_all(&final_denials.store).await;
    // In-flight webhook sends are cancelled and their claims released for the next start
    // (or another instance) to send.
    deliverer.stop().await;
    // The request counters of the last seconds (and of the sends just cancelled) are
    // written before the process ends.
    usage_flusher.abort();
    if let Err(e) = usage_flush::flush(&final_usage).await {
        tracing::warn!(error = %e, "the last usage flush failed: its request counts are lost");
    }
    if let Some(refresher) = key_refresher {
        refresher.abort();
    }
    served
}
