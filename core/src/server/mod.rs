//! The RPC server: a router from `Handler.Method` to handlers, served over go-micro's HTTP
//! transport. [`Service`](crate::Service) builds and runs it; this module holds its parts.

mod conn;
mod handler;
mod limits;
mod router;

pub use handler::{Context, Handler, Middleware, Stream, StreamHandler, raw, stream, typed};
pub use limits::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    Limits,
};
pub use router::{Entry, REQUEST_SCHEMA, RESPONSE_SCHEMA, Route, Router};

pub(crate) use conn::Shared;
pub(crate) use router::set_schemas;

use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The largest request body a server accepts unless told otherwise: 4 MiB.
pub const DEFAULT_MAX_BODY_SIZE: usize = 4 << 20;
/// Accepts connections, at most `max_connections` at once, until `stopping` turns true;
/// then waits for every connection to finish the requests it was running.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    stopping: watch::Receiver<bool>,
) {
    let max = shared.limits.max_connections;
    let serving = stopping.clone();
    crate::listen::accept(listener, max, stopping, None, move |stream, _| {
        conn::serve(shared.clone(), stream, serving.clone())
    })
    .await;
}
