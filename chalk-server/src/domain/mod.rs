//! The rules of the API, one module per resource, between `routes/` (HTTP: extract, call,
//! render) and the store. A domain function validates its input, checks what the caller
//! may do, and makes its change through the [`Db`](crate::store::Db) it is given, so the
//! caller decides what commits together (the change and its idempotency record, later its
//! audit entry and events). Nothing here imports from `routes/`.

pub mod audit;
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
pub mod validate;
pub mod views;
pub mod webhook_schedule;
pub mod webhooks;
