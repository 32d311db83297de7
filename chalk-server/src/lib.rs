//! The Chalk tenant API server.
//!
//! [`build_router`] assembles the application for a given [`AppState`] (tests drive it
//! in-process); [`serve`] runs it on a listener, with its workers, until a shutdown signal.
//!
//! The folders are the layers, and imports run one way, downwards:
//!
//! | folder | holds | imports |
//! | --- | --- | --- |
//! | `app/` | settings, start-up, `serve` (the listener and the workers together), `migrate-store`, `backup`/`restore` | everything below |
//! | `http/` | the router and middleware, credentials, limits, throttle, CORS, request context, idempotency, pagination, OpenAPI, handlers (`routes/`) | `domain/`, `store/`, `net/` |
//! | `workers/` | webhook delivery, housekeeping, the empty-room sweeper, metrics upkeep, scheduled backups, the usage flush | `domain/`, `store/`, `net/` |
//! | `domain/` | the rules, one module per resource; the [`Caller`](domain::caller::Caller) and its checks; [`Core`](domain::core::Core) (what the rules and workers share); the signing key ring | `store/`, `net/` |
//! | `store/` | one SQL text for SQLite and PostgreSQL, the unit of work `Db` whose commit applies what a transaction registered, the cache and its `LISTEN` | — |
//! | `net/` | addresses: the client's (trusted proxies), webhook targets' (SSRF) | — |
//!
//! Beside them, files every layer uses: `error.rs` (the envelope), `crypto.rs` (hashing,
//! sealing, ids), `clock.rs`, `metrics.rs`. Where each section of the contract,
//! `docs/api.md`, lives:
//!
//! | docs/api.md | file |
//! | --- | --- |
//! | Conventions: envelope, error codes | `error.rs`; bodies and queries `http/extract.rs`, typed with `domain/validate.rs` (`parse`); pages `http/pagination.rs` |
//! | Conventions: idempotency | `http/idempotency.rs` (records: `store/idempotency.rs`) |
//! | Conventions: `ETag` / `If-Match` | `http/extract.rs` (`etag`, `if_match`) |
//! | Credentials, scopes, origins | resolved in `http/credentials.rs`, checked by `domain/caller.rs`; origins `domain/config/origins.rs`; failed-auth throttle `http/throttle.rs`; client address (`CHALK_TRUSTED_PROXIES`) `net/client_ip.rs`; limits `http/rate_limit.rs` |
//! | (none: performance) credential/tenant cache, invalidation, `LISTEN` | `store/cache.rs` (rows in `store/rows.rs`); registered by writes on `store::Db`, applied by its commit; `store/listener.rs`; usage counters `store/tenants.rs` |
//! | Tenants (fields, quotas, who may set what) | `domain/tenants.rs`; field rules `domain/validate.rs` |
//! | Config (every field's rule, merge patch) | rules `domain/config/fields.rs`, merge `domain/config/patch.rs`, applied in `domain/config/mod.rs`; stored form `store/stored_config.rs` |
//! | Config and Webhooks: secret fingerprints (drift without the secret) | `chalk_sdk::model::fingerprint`; computed in `store/stored_config.rs` (`SealedSecret::seal_fingerprinted`) and `domain/webhooks.rs` (`view`) |
//! | Webhook targets (SSRF) | `net/webhook_target.rs` |
//! | Webhooks: endpoints, events, delivery log | `domain/webhooks.rs`, `domain/events.rs` (`events::record`, the one way to emit), `domain/deliveries.rs`; routes `http/routes/webhooks.rs`; store `store/{webhooks,events,deliveries}.rs` |
//! | Webhooks: sending, signing, retries | `workers/webhook_delivery.rs`; retry schedule, jitter, `Retry-After` `domain/webhook_schedule.rs`; signatures `chalk_sdk::webhooks` |
//! | Auth (token exchange, refresh, reuse) | `domain/tokens.rs`; routes `http/routes/auth.rs`; JWTs `domain/signing.rs` |
//! | Signing keys (EdDSA, `kid`, JWKS, rotation) | `domain/signing.rs` (`KeyRing`); `domain/signing_keys.rs`, `http/routes/signing_keys.rs`, `store/signing_keys.rs` |
//! | API keys | `domain/keys.rs`; `store/keys.rs` |
//! | Operator keys | `domain/operator_keys.rs` (accepted in `http/credentials.rs`); `store/operator_keys.rs` |
//! | Audit log (what an entry holds, secrets as "changed", denials) | `domain/audit.rs`; context built in `http/credentials.rs`; which refusals are recorded and their bound `http/denials.rs`; reads `http/routes/audit.rs`; rows `store/audit.rs`; retention `workers/housekeeping.rs` |
//! | Rooms and participants, quotas | `domain/rooms.rs`; invariants in `store/rooms.rs` and `store/participants.rs` |
//! | Usage metering: time metrics (exact, under the tenant lock) | levels, meter and open hour `store/tenants.rs` (`lock_metering`); metered changes and hour, day and month rows `store/usage.rs` (`advance`, `record`), made by `store/participants.rs` and `store/rooms.rs`; kept on deletion `store/usage.rs` (`close`) |
//! | Usage metering: request counters | counted in `http/credentials.rs` (`api_requests`), `http/routes/auth.rs` (`token_exchanges`), `workers/webhook_delivery.rs` (attempts); held by `domain/usage_counters.rs`; written by `workers/usage_flush.rs` (every 5 s and at shutdown, `app/serve.rs`) |
//! | Usage metering: alerts (`usage_alerts`, `usage.threshold_reached`) | rule `domain/config/fields.rs` (`usage_alerts`), applied in `domain/config/patch.rs`; checked after each flush by `domain/usage_alerts.rs`; fired once by `store/usage.rs` (`claim_firing`) |
//! | Usage metering: reads, export, purge | ranges, periods, the fold of hours `domain/usage.rs`; stored periods read `store/usage_reads.rs`; routes `http/routes/usage.rs` (CSV/NDJSON streaming) |
//! | Hardening: timeouts, connection cap, shutdown | `http/server.rs`; shutdown order `app/serve.rs` |
//! | Operations: health, metrics | `http/routes/ops.rs`, `metrics.rs`; empty-room and token-expiry sweeper `workers/room_sweeper.rs` |
//! | Server configuration | `app/settings.rs`, wired in `app/startup.rs`; what requests see of it `domain/policy.rs` |
//! | Backup and restore (embedded SQLite) | commands `app/backup.rs`; taking, checking, restoring, retention `domain/backup/mod.rs`; the sealed file `domain/backup/sealed.rs`; the snapshot `store/snapshot.rs`; schedule `workers/backups.rs` |

pub mod app;
pub mod clock;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod http;
pub mod metrics;
pub mod net;
pub mod store;
pub mod workers;

pub use app::serve::serve;
pub use domain::policy::Policy;
pub use http::build_router;
pub use http::state::AppState;
