//! The accept loop and the layers every face gets. hyper serves each connection (HTTP/1.1,
//! keep-alive) with a header read timeout; tower and tower-http layers add the rest. The loop is
//! ours rather than `axum::serve` because that takes no header timeout, connection cap or peer
//! address hook.

use super::body;
use super::hosts::{CheckHost, Hosts};
use super::stamp::{Stamp, StampLayer};
use crate::errors::{Error, Result};
use axum::Router;
use axum::extract::{ConnectInfo, Request};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceBuilder;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::normalize_path::{NormalizePath, NormalizePathLayer};
use tower_http::trace::{Trace, TraceLayer};
use tracing::Span;

const ID: &str = "micro.http";

/// How much a face takes from a client before it gives up on it.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest request body, in bytes (4 MiB); larger ones get a 413.
    pub max_body_size: usize,
    /// How long a client may take to send a request's headers (30 s). hyper starts this clock
    /// whenever it waits for a request, so it is also how long a keep-alive connection may sit
    /// idle between requests.
    pub header_timeout: Duration,
    /// How long a client may take to send a whole request body (60 s).
    pub body_timeout: Duration,
    /// Connections served at once (4096); further ones wait in the listen backlog.
    pub max_connections: usize,
    /// How long [`Running::stop`] lets requests in flight finish (5 s).
    pub grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_size: 4 << 20,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            max_connections: 4096,
            grace: Duration::from_secs(5),
        }
    }
}

/// Listens on `address` (a bare `:port` on 127.0.0.1), saying what to do when it cannot.
pub async fn bind(address: &str) -> Result<TcpListener> {
    let address = listen_address(address);
    TcpListener::bind(&address).await.map_err(|e| {
        Error::internal(
            ID,
            format!(
                "cannot listen on {address}: {e}; choose another address (e.g. --address :8081)"
            ),
        )
    })
}

/// Where to listen for `address`: a bare `:port` (go-micro's spelling) is on 127.0.0.1.
pub fn listen_address(address: &str) -> String {
    match address.strip_prefix(':') {
        Some(port) => format!("127.0.0.1:{port}"),
        None => address.to_string(),
    }
}

/// A face being served.
pub struct Running {
    address: SocketAddr,
    stopping: watch::Sender<bool>,
    server: JoinHandle<()>,
}

impl Running {
    /// Where the face listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, lets requests in flight finish (for at most the grace period) and
    /// closes every connection.
    pub async fn stop(self) {
        let _ = self.stopping.send(true);
        let _ = self.server.await;
    }
}

/// Serves `router` on `listener` in the background with `limits` and the common layers:
/// trailing slashes trimmed, request ids, tracing (method and path, never the query, which
/// may hold a token), security headers, the `Host` check and the body's size cap and timeout.
/// `allowed_hosts` are the hosts answered beside loopback and the bound address
/// ([`Hosts::new`]); `None` answers any `Host`, for the broker's endpoint, which peers on other
/// machines post to. Handlers find the peer as `ConnectInfo<SocketAddr>` and the limits as an
/// `Extension<Limits>`.
pub fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    allowed_hosts: Option<&[String]>,
) -> Result<Running> {
    let address = listener
        .local_addr()
        .map_err(|e| Error::internal(ID, format!("cannot read the listening address: {e}")))?;
    let (stopping, stopped) = watch::channel(false);
    let app = layered(
        router,
        allowed_hosts.map(|extra| Hosts::new(address, extra)),
    );
    let serving = stopped.clone();
    let server = tokio::spawn(crate::listen::accept(
        listener,
        limits.max_connections,
        stopped,
        Some(limits.grace),
        move |stream, peer| connection(stream, peer, app.clone(), limits, serving.clone()),
    ));
    Ok(Running {
        address,
        stopping,
        server,
    })
}

/// The layers every request passes, around the whole router rather than each route, so a
/// request pays for them once; a refused `Host` is answered inside the stamp, so its 403
/// carries the request id and security headers too.
pub(crate) fn layered(router: Router, hosts: Option<Hosts>) -> App {
    ServiceBuilder::new()
        .layer(NormalizePathLayer::trim_trailing_slash())
        .layer(StampLayer)
        .layer(TraceLayer::new_for_http().make_span_with(span as MakeSpan))
        .service(CheckHost {
            hosts,
            inner: router,
        })
}

/// A request's span: method and path, never the query, which may hold a token.
fn span(request: &Request) -> Span {
    tracing::debug_span!("http", method = %request.method(), path = request.uri().path())
}

type MakeSpan = fn(&Request) -> Span;

/// A face's router with its layers.
pub(crate) type App = NormalizePath<
    Stamp<Trace<CheckHost<Router>, SharedClassifier<ServerErrorsAsFailures>, MakeSpan>>,
>;

/// Serves one keep-alive connection; finishes the request in flight and closes it on stop.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: App,
    limits: Limits,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    // What handlers learn about the connection, and the body's cap and deadline.
    let service = ServiceBuilder::new()
        .map_request(move |mut request: Request<hyper::body::Incoming>| {
            let extensions = request.extensions_mut();
            extensions.insert(ConnectInfo(peer));
            extensions.insert(limits);
            request.map(|body| body::guard(body, limits.max_body_size, limits.body_timeout))
        })
        .service(app);
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stopped(&mut stopping) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(%err, "connection ended with an error");
    }
}

/// Resolves once `stopping` turns true (or its sender is gone).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_port_listens_on_loopback() {
        assert_eq!(listen_address(":8080"), "127.0.0.1:8080");
        assert_eq!(listen_address("0.0.0.0:9"), "0.0.0.0:9");
    }
}
