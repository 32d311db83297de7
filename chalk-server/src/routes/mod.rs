//! Handlers, one module per resource.

pub mod api_keys;
pub mod auth;
pub mod config;
pub mod ops;
pub mod rooms;
pub mod signing_keys;
pub mod tenants;
pub mod webhooks;
