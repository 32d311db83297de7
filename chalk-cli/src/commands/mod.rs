//! One module per noun: a clap enum and a `run` that returns a `View`.

pub mod audit;
pub mod config;
pub mod events;
pub mod keys;
pub mod operator_keys;
pub mod profiles;
pub mod provision;
pub mod rooms;
pub mod signing_keys;
pub mod tenants;
pub mod token;
pub mod usage;
pub mod webhooks;
