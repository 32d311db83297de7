//! The Chalk tenant API server.
//!
//! [`build_router`] assembles the application for a given [`AppState`] (tests drive it
//! in-process); [`serve`] runs it on a listener until a shutdown signal.
//!
//! Data flows one way: `routes/` (HTTP: extract, call, render) → `domain/` (the rules, one
//! module per resource) → `store/` (one SQL text for SQLite and PostgreSQL, and the unit
//! of work `Db`). Where each section of the contract, `docs/api.md`, lives:
//!
//! | docs/api.md | file |
//! | --- | --- |
//! | Conventions: envelope, error codes | `error.rs`; bodies and queries `extract.rs`; pages `pagination.rs` |
//! | Conventions: idempotency | `idempotency.rs` (records: `store/idempotency.rs`) |
//! | Conventions: `ETag` / `If-Match` | `extract.rs` (`etag`, `if_match`) |
//! | Credentials, scopes, origins | `auth.rs`; failed-auth throttle `throttle.rs`; client address (`CHALK_TRUSTED_PROXIES`) `client_ip.rs`; limits `rate_limit.rs` |
//! | (none: performance) credential/tenant cache, invalidation, `LISTEN` | `cache.rs`; `store/listener.rs`; usage counters `store/tenants.rs` |
//! | Tenants (fields, quotas, who may set what) | `domain/tenants.rs`; field rules `validate.rs` |
//! | Config (every field's rule, merge patch) | `tenant_config.rs`; applied in `domain/config.rs` |
//! | Config and Webhooks: secret fingerprints (drift without the secret) | `chalk_sdk::model::fingerprint`; computed in `tenant_config.rs` (`SealedSecret::seal_fingerprinted`) and `domain/webhooks.rs` (`view`) |
//! | Webhook targets (SSRF) | `webhook_target.rs` |
//! | Webhooks: endpoints, events, delivery log | `domain/webhooks.rs`, `domain/events.rs` (`events::record`, the one way to emit), `domain/deliveries.rs`; routes `routes/webhooks.rs`; store `store/{webhooks,events,deliveries}.rs` |
//! | Webhooks: sending, signing, retries | `webhook_delivery.rs` (the worker); retry schedule, jitter, `Retry-After` `webhook_schedule.rs`; signatures `chalk_sdk::webhooks` |
//! | Auth (token exchange, refresh, reuse) | `domain/tokens.rs`; JWTs `tokens.rs` |
//! | Signing keys (EdDSA, `kid`, JWKS, rotation) | `tokens.rs` (`KeyRing`); `domain/signing_keys.rs`, `routes/signing_keys.rs`, `store/signing_keys.rs` |
//! | API keys | `domain/keys.rs` |
//! | Operator keys | `domain/operator_keys.rs` (accepted in `auth.rs`); `store/operator_keys.rs` |
//! | Audit log (what an entry holds, secrets as "changed", denials) | `domain/audit.rs`; context built in `auth.rs`; which refusals are recorded and their bound `denials.rs`; reads `routes/audit.rs`; rows `store/audit.rs`; retention `housekeeping.rs` |
//! | Rooms and participants, quotas | `domain/rooms.rs`; invariants in `store/rooms.rs` |
//! | Hardening: timeouts, connection cap, shutdown | `server.rs` |
//! | Operations: health, metrics | `routes/ops.rs`, `metrics.rs`; empty-room sweeper `room_sweeper.rs` |
//! | Server configuration | `settings.rs`, wired in `startup.rs` |

pub mod auth;
pub mod cache;
pub mod client_ip;
pub mod clock;
pub mod context;
pub mod cors;
pub mod crypto;
pub mod denials;
pub mod domain;
pub mod error;
pub mod extract;
pub mod housekeeping;
pub mod idempotency;
pub mod metrics;
pub mod migrate_store;
pub mod openapi;
pub mod pagination;
pub mod rate_limit;
pub mod room_sweeper;
pub mod routes;
pub mod server;
pub mod settings;
pub mod startup;
pub mod state;
pub mod store;
pub mod tenant_config;
pub mod throttle;
pub mod tokens;
pub mod validate;
pub mod webhook_delivery;
pub mod webhook_schedule;
pub mod webhook_target;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use tower_http::catch_panic::CatchPanicLayer;

pub use state::{AppState, Policy};

use error::ApiError;

/// Every route of the API, its middleware, and the OpenAPI document built from the same
/// handlers.
pub fn build_router(state: AppState) -> Router {
    let (api, document) = openapi::api_router().split_for_parts();
    // Serialized once: the document is the same for the life of the process.
    let document: axum::body::Bytes = serde_json::to_vec(&document)
        .expect("the OpenAPI document always serializes")
        .into();
    Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let document = document.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        document,
                    )
                }
            }),
        )
        .fallback(|| async { ApiError::not_found("Endpoint") })
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(context::panic_response))
        // `%00` in the path or query: refused once, here, for every route.
        .layer(middleware::from_fn(extract::refuse_nul_in_uri))
        // Inside CORS (a browser sees the 429) and inside the request context (it gets the
        // envelope and a request id).
        .layer(middleware::from_fn_with_state(
            state.clone(),
            throttle::throttle_failures,
        ))
        .layer(middleware::from_fn(cors::cors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            context::request_context,
        ))
        .with_state(state)
}

/// Serves until `shutdown` resolves; in-flight requests then get the shutdown grace
/// (`state.limits`) to finish. Connections are capped and timed out as docs/api.md's
/// Hardening rules say (see [`server`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let draining = state.clone();
    let limits = state.limits.clone();
    let sweeper = room_sweeper::spawn(state.clone(), room_sweeper::DEFAULT_INTERVAL);
    let purger = housekeeping::spawn(state.clone(), housekeeping::DEFAULT_INTERVAL);
    let deliverer = webhook_delivery::spawn(state.clone());
    let upkeep = metrics::spawn_upkeep(state.clone(), metrics::UPKEEP_INTERVAL);
    // Refusals held back from the audit log are written once their minute is over.
    let denial_writer = denials::spawn(state.clone(), std::time::Duration::from_secs(5));
    let final_denials = state.clone();
    // Another instance's rotation is picked up for signing within this interval.
    let key_refresher = state
        .signer
        .key_ring()
        .map(|ring| ring.spawn_refresher(tokens::KEY_REFRESH_INTERVAL));
    let served = server::run(listener, build_router(state), limits, shutdown, move || {
        draining.begin_shutdown();
        tracing::info!("shutting down: finishing in-flight requests");
    })
    .await;
    sweeper.abort();
    purger.abort();
    upkeep.abort();
    denial_writer.abort();
    // What the last minute held back is not lost with the process.
    final_denials.denials.write_all(&final_denials.store).await;
    // In-flight webhook sends are cancelled and their claims released for the next start
    // (or another instance) to send.
    deliverer.stop().await;
    if let Some(refresher) = key_refresher {
        refresher.abort();
    }
    served
}
