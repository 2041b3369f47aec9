//! libmicro: go-micro v5 re-made as one Rust engine. This crate is the engine itself; the C,
//! Go, Python and Node bindings are thin layers over it.

pub mod auth;
pub mod broker;
pub mod client;
pub mod codec;
pub mod config;
pub mod errors;
pub mod gateway;
pub mod http;
pub mod log;
pub mod mcp;
pub mod registry;
pub mod schema;
pub mod server;
pub mod service;
pub mod store;
pub mod transport;

pub use client::Client;
pub use errors::{Error, Result};
pub use service::{Group, Service};
