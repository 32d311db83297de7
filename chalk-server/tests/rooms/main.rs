//! Rooms and participants: the store's invariants, and every endpoint through the router.

mod harness;
mod routes;
mod store;
