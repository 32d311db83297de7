//! Helpers shared by the integration tests that run against PostgreSQL and Redis.

#![allow(dead_code)]

pub mod postgres;
pub mod server;
pub mod store;
