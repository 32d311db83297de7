//! Typed async client for the Chalk tenant API.
//!
//! [`model`] holds the wire types, shared with `chalk-server` so the two cannot drift.

pub mod model;
mod secret;

pub use secret::SecretString;
