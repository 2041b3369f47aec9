//! libmicro: go-micro v5 re-made as one Rust engine. This crate is the engine itself; the C,
//! Go, Python and Node bindings are thin layers over it.
//!
//! The optional faces are cargo features, off by default so that a plain service or client
//! compiles none of their dependencies: `auth` (accounts, tokens, scopes), `gateway` (the HTTP
//! API, with `auth`), `dashboard` (the gateway's HTML pages, with `gateway`), `mcp` (the MCP
//! gateway, with `auth`) and `ai` (model providers and the tool loop, with `mcp`); and the
//! backends on servers, `etcd`, `mysql`, `nats`, `postgres`, `rabbitmq` and `redis`.

/// Keeps `$item`s for the backends on servers only (etcd, MySQL, NATS, PostgreSQL, RabbitMQ,
/// Redis): their shared errors and options, reconnecting, and TLS's CA files and errors.
macro_rules! for_servers {
    ($($item:item)*) => {
        $(
            #[cfg(any(
                feature = "etcd",
                feature = "mysql",
                feature = "nats",
                feature = "postgres",
                feature = "rabbitmq",
                feature = "redis"
            ))]
            $item
        )*
    };
}
for_servers! {
    mod backend;
    mod reconnect;
}
// TLS: for the backends on servers, and for the model providers.
#[cfg(any(
    feature = "ai",
    feature = "etcd",
    feature = "mysql",
    feature = "nats",
    feature = "postgres",
    feature = "rabbitmq",
    feature = "redis"
))]
mod tls;

#[cfg(feature = "ai")]
pub mod ai;
#[cfg(feature = "auth")]
pub mod auth;
pub mod broker;
pub mod client;
pub mod codec;
pub mod config;
pub mod errors;
#[cfg(feature = "gateway")]
pub mod gateway;
pub mod http;
mod listen;
pub mod log;
#[cfg(feature = "mcp")]
pub mod mcp;
#[cfg(feature = "nats")]
mod nats;
pub mod registry;
mod retry;
pub mod schema;
pub mod server;
pub mod service;
pub mod store;
pub mod transport;

pub use client::Client;
pub use errors::{Error, Result};
pub use service::{Group, Service};
