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
