//! The process: settings from the environment, start-up (logging, the store, the state),
//! running the server with its workers, and the `migrate-store`, `backup` and `restore`
//! commands.

pub mod backup;
pub mod migrate_store;
pub mod serve;
pub mod settings;
pub mod startup;
