//! The Node.js binding of libmicro: the native half of the npm package `go-micro`. It only
//! translates: JS values to engine calls (models and agents included), engine errors to JS errors ([`error`]), JS
//! functions to engine handlers ([`handlers`]). The package's `index.js` puts the JS
//! idioms on top (JSON encoding, `MicroError`, async iterators, `run()`).
//!
//! The engine runs on napi-rs's tokio runtime (the `tokio_rt` feature): one multi-thread
//! runtime per process, created when the addon loads and shut down with the Node
//! environment. Async methods return promises resolved from it; JS handlers are called
//! through weak ThreadsafeFunctions and never block a worker.

mod ai;
mod client;
mod components;
mod error;
pub mod gateway;
mod handlers;
mod service;
