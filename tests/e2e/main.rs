//! End-to-end: a real `chalk-server` on `127.0.0.1:0` (one per test), driven through
//! `chalk-sdk` exactly as a user's program would, plus the examples run as binaries.

#[path = "../common/mod.rs"]
mod common;

mod support;

mod api_keys;
mod auth;
mod config;
mod errors;
mod examples;
mod idempotency;
mod ops;
mod pagination;
mod rooms;
mod signing_keys;
mod tenants;
mod token_mode;
