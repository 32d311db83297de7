//! Rooms and participants: every endpoint through the router. The store's invariants run
//! on every backend from `tests/store_conformance.rs`.

#[path = "../support/mod.rs"]
mod support;

mod expiry;
mod harness;
mod metering;
mod routes;
mod usage;
