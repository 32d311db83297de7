//! In-process router tests: every endpoint and every error code of docs/api.md's Conventions,
//! Credentials, Tenants, Config, Auth and API keys sections, driven through
//! `chalk_server::build_router` with one fresh database per test.
//!
//! One test binary (one link) for the whole suite; one module per resource.

#[path = "../support/mod.rs"]
mod support;

mod common;

mod api_keys;
mod audit;
mod auth;
mod cancelled_commit;
mod client_address;
mod concurrency;
mod config;
mod conventions;
mod crash_window;
mod group_commit;
mod hardening;
mod idempotency;
mod limits;
mod openapi;
mod ops;
mod rate_limit;
mod signing_keys;
mod statement_budget;
mod tenants;
mod throttle;
mod usage;
mod webhooks;
