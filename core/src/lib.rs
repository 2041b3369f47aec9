//! libmicro: go-micro v5 re-made as one Rust engine. This crate is the engine itself; the C,
//! Go, Python and Node bindings are thin layers over it.
//!
//! The optional faces are cargo features, off by default so that a plain service or client
//! compiles none of their dependencies: `auth` (accounts, tokens, scopes), `gateway` (the HTTP
//! API, with `auth`), `dashboard` (the gateway's HTML pages, with `gateway`) and `mcp` (the MCP
//! gateway, with `auth`).

/// Declares `$module`s used only by the backends on servers (etcd, MySQL, NATS, PostgreSQL,
/// RabbitMQ, Redis): their shared errors and options, reconnecting, and TLS.
macro_rules! for_servers {
    ($($module:ident),*) => {
        $(
            #[cfg(any(
                feature = "etcd",
                feature = "mysql",
                feature = "nats",
                feature = "postgres",
                feature = "rabbitmq",
                feature = "redis"
            ))]
            mod $module;
        )*
    };
}
for_servers!(backend, reconnect, tls);

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
