//! What the server does besides answering requests: webhook delivery, housekeeping
//! (retention purges), the empty-room sweeper and scheduled backups. Each takes the shared state and runs
//! until the server stops it.

pub mod backups;
pub mod housekeeping;
pub mod room_sweeper;
pub mod upkeep;
pub mod webhook_delivery;
