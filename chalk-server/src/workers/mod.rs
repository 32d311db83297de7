//! What the server does besides answering requests: webhook delivery, housekeeping
//! (retention purges), the empty-room sweeper, scheduled backups and the usage flush. Each
//! takes the shared state and runs
//! until the server stops it.

pub mod backups;
pub mod housekeeping;
pub mod room_sweeper;
pub mod upkeep;
pub mod usage_flush;
pub mod webhook_delivery;
