//! The accept loop both listeners share, the RPC server's and the HTTP faces': at most a cap of
//! connections at once (further ones wait in the listen backlog), each served by its own task,
//! until told to stop; then the connections are waited for.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// Accepts connections on `listener`, at most `max` served at once, each by the task `serve`
/// makes for it, until `stopping` turns true. Then it stops accepting and waits for the
/// connections to finish: for at most `grace` when given, else for as long as they take.
pub(crate) async fn accept<F, Fut>(
    listener: TcpListener,
    max: usize,
    mut stopping: watch::Receiver<bool>,
    grace: Option<Duration>,
    mut serve: F,
) where
    F: FnMut(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(max.max(1)));
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
                        max,
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
            Ok((stream, peer)) => {
                let connection = serve(stream, peer);
                connections.spawn(async move {
                    connection.await;
                    drop(slot);
                });
            }
            Err(err) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                tracing::warn!(%err, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    let drained = async { while connections.join_next().await.is_some() {} };
    match grace {
        None => drained.await,
        Some(grace) => {
            if tokio::time::timeout(grace, drained).await.is_err() {
                tracing::warn!("requests still running after {grace:?}; closing them");
            }
        }
    }
}
