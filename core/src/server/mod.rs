//! The RPC server: a router from `Handler.Method` to handlers, served over go-micro's HTTP
//! transport. [`Service`](crate::Service) builds and runs it; this module holds its parts.

mod conn;
mod handler;
mod router;

pub use handler::{Context, Handler, Middleware, Stream, StreamHandler, raw, stream, typed};
pub use router::{Entry, REQUEST_SCHEMA, RESPONSE_SCHEMA, Route, Router};

pub(crate) use conn::Shared;
pub(crate) use router::set_schemas;

use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The largest request body a server accepts unless told otherwise: 4 MiB.
pub const DEFAULT_MAX_BODY_SIZE: usize = 4 << 20;

/// Accepts connections until `stopping` turns true, then waits for every connection to finish
/// the requests it was running.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopping.wait_for(|s| *s) => break,
        };
        match accepted {
            Ok((stream, _)) => {
                connections.spawn(conn::serve(shared.clone(), stream, stopping.clone()));
            }
            Err(err) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}
