//! What the server does besides answering requests: webhook delivery, housekeeping
//! (retention purges) and the empty-room sweeper. Each takes the shared state and runs
//! until the server stops it.

pub mod housekeeping;
pub mod room_sweeper;
pub mod upkeep;
pub mod webhook_delivery;
