//! Typed async client for the Chalk tenant API.
//!
//! [`model`] holds the wire types, shared with `chalk-server` so the two cannot drift.
//! With the default `client` feature, `Client` calls every endpoint of the API, and
//! every failure is an `Error`; what the server said is `Error::Api` with a matchable
//! [`ErrorCode`](model::ErrorCode).
#![cfg_attr(
    feature = "client",
    doc = r#"
```no_run
use chalk_sdk::{Client, model::{ConfigPatch, CreateTenantRequest, Patch}};
# async fn run() -> chalk_sdk::Result<()> {
// CHALK_API_URL, and CHALK_MASTER_KEY or CHALK_API_KEY.
let client = Client::from_env()?;
let created = client.tenants().create(&CreateTenantRequest::new("Acme")).await?;
let patch = ConfigPatch { force_recording: Patch::Set(true), ..Default::default() };
client.tenants().config(&created.tenant.id).update(&patch).await?;
# Ok(()) }
```
"#
)]

pub mod model;
mod secret;
pub mod webhooks;

pub use secret::SecretString;

#[cfg(feature = "client")]
pub mod api_keys;
#[cfg(feature = "client")]
pub mod audit;
#[cfg(feature = "client")]
pub mod auth;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
pub mod config;
#[cfg(feature = "client")]
mod error;
#[cfg(feature = "client")]
pub mod operator_keys;
#[cfg(feature = "client")]
pub mod ops;
#[cfg(feature = "client")]
mod pagination;
#[cfg(feature = "provision")]
pub mod provision;
#[cfg(feature = "client")]
mod resources;
#[cfg(feature = "client")]
mod retry;
#[cfg(feature = "client")]
pub mod rooms;
#[cfg(feature = "client")]
pub mod signing_keys;
#[cfg(feature = "client")]
pub mod tenants;
#[cfg(feature = "client")]
mod token_mode;
#[cfg(feature = "client")]
pub mod tokens;
#[cfg(feature = "client")]
mod transport;
#[cfg(feature = "client")]
pub mod usage;
#[cfg(feature = "client")]
pub mod webhooks_api;

#[cfg(feature = "client")]
pub use api_keys::ApiKeys;
#[cfg(feature = "client")]
pub use audit::Audit;
#[cfg(feature = "client")]
pub use auth::Auth;
#[cfg(feature = "client")]
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_TIMEOUT};
#[cfg(feature = "client")]
pub use config::ConfigApi;
#[cfg(feature = "client")]
pub use error::{Error, Result};
#[cfg(feature = "client")]
pub use operator_keys::OperatorKeys;
#[cfg(feature = "client")]
pub use ops::Ops;
#[cfg(feature = "client")]
pub use retry::RetryPolicy;
#[cfg(feature = "client")]
pub use rooms::{Participants, Rooms};
#[cfg(feature = "client")]
pub use signing_keys::SigningKeys;
#[cfg(feature = "client")]
pub use tenants::Tenants;
#[cfg(feature = "client")]
pub use webhooks_api::{Events, WebhookDeliveries, WebhookEndpoints};
