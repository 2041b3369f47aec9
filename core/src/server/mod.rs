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
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// The largest request body a server accepts unless told otherwise: 4 MiB.
pub const DEFAULT_MAX_BODY_SIZE: usize = 4 << 20;
/// Accepts connections, at most `max_connections` at once, until `stopping` turns true;
/// then waits for every connection to finish the requests it was running.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopping: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(shared.limits.max_connections));
    let mut connections = JoinSet::new();
    let mut full = false;
    loop {
        while connections.try_join_next().is_some() {}
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                full = false;
                slot
            }
            Err(_) => {
                if !full {
                    tracing::warn!(
                        max = shared.limits.max_connections,
                        "connection limit reached; new connections wait until one closes"
                    );
                    full = true;
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                    _ = stopping.wait_for(|s| *s) => break,
                }
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopping.wait_for(|s| *s) => break,
        };
        match accepted {
            Ok((stream, _)) => {
                let connection = conn::serve(shared.clone(), stream, stopping.clone());
                connections.spawn(async move {
                    connection.await;
                    drop(slot);
                });
            }
            Err(err) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}
