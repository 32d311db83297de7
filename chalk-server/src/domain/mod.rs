//! The rules of the API, one module per resource, between `http/` (extract, call, render)
//! and the store. A domain function validates its input, checks what the [`Caller`]
//! may do, and makes its change through the [`Db`](crate::store::Db) it is given. Nothing
//! here imports from `http/`, `workers/` or `app/`.
//!
//! **Who commits: whoever began.** A handler begins the write, calls the rules with its
//! `Db`, and commits, so it decides what commits together: the change, its audit entry,
//! its events and, for a request that may carry `Idempotency-Key`, its idempotency record
//! (`http::idempotency::run` is then the handler's begin and commit). Workers do the same
//! for their own work. A rule never commits the `Db` it was handed; the few functions here
//! that begin their own transaction are whole operations with no caller's change to join
//! (a denial's audit entry, the expiry notices, the key ring's first key). What a
//! transaction registers for after its commit (cache invalidations) is applied by the
//! commit itself (`store::Db::commit`), never by the code that called it.
//!
//! [`Caller`]: caller::Caller

pub mod audit;
pub mod backup;
pub mod caller;
pub mod config;
pub mod core;
pub mod deliveries;
pub mod events;
pub mod keys;
pub mod operator_keys;
pub mod policy;
pub mod rooms;
pub mod signing;
pub mod signing_keys;
pub mod tenants;
pub mod tokens;
pub mod usage;
pub mod usage_alerts;
pub mod usage_counters;
pub mod validate;
pub mod views;
pub mod webhook_schedule;
pub mod webhooks;
