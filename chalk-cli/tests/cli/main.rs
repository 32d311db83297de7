//! End-to-end tests of the `chalk` binary against a real server on 127.0.0.1:0.
//! One test binary, a module per noun.

mod common;

mod audit;
mod basics;
mod config;
mod exit_codes;
mod keys;
mod profiles;
mod provision;
mod rooms;
mod signing_keys;
mod tenants;
mod token;
mod usage;
mod webhooks;
