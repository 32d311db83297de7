//! Handlers, one module per resource.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod config;
pub mod operator_keys;
pub mod ops;
pub mod rooms;
pub mod signing_keys;
pub mod tenants;
pub mod usage;
pub mod webhooks;
