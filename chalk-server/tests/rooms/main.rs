//! Rooms and participants: every endpoint through the router. The store's invariants run
//! on every backend from `tests/store_conformance.rs`.

mod harness;
mod routes;
