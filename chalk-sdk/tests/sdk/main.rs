//! Wiremock tests of chalk-sdk: one `MockServer` per test, every request asserted.

mod api_keys;
mod auth;
mod client;
mod common;
mod config;
mod errors;
mod retry;
mod rooms;
mod tenants;
mod token_mode;
