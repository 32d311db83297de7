//! Network addresses: which peer is the client (trusted proxies, `X-Forwarded-For`) and
//! which webhook targets may be reached (the special-purpose address registries).

pub mod client_ip;
pub mod webhook_target;
