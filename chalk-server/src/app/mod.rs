//! The process: settings from the environment, start-up (logging, the store, the state),
//! running the server with its workers, and the `migrate-store` command.

pub mod migrate_store;
pub mod serve;
pub mod settings;
pub mod startup;
