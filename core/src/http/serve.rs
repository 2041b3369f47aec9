//! The accept loop and the layers every face gets. hyper serves each connection (HTTP/1.1,
//! keep-alive) with a header read timeout; tower and tower-http layers add the rest. The loop is
//! ours rather than `axum::serve` because that takes no header timeout, connection cap or peer
//! address hook.

use crate::errors::{Error, Result};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use http_body_util::Limited;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tower::{Layer, ServiceBuilder};
use tower_http::normalize_path::NormalizePathLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

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
/// may hold a token), security headers, and the body's size cap and timeout. Handlers find the
/// peer as `ConnectInfo<SocketAddr>` and the limits as an `Extension<Limits>`.
pub fn serve(listener: TcpListener, router: Router, limits: Limits) -> Result<Running> {
    let address = listener
        .local_addr()
        .map_err(|e| Error::internal(ID, format!("cannot read the listening address: {e}")))?;
    let router = secure(router).layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
                tracing::debug_span!("http", method = %request.method(), path = request.uri().path())
            }))
            .layer(axum::Extension(limits))
            .layer(middleware::from_fn_with_state(limits, limit_body))
            .layer(RequestBodyTimeoutLayer::new(limits.body_timeout)),
    );
    let app = NormalizePathLayer::trim_trailing_slash().layer(router);
    let (stopping, stopped) = watch::channel(false);
    let server = tokio::spawn(accept(listener, app, limits, stopped));
    Ok(Running {
        address,
        stopping,
        server,
    })
}

/// The security headers every answer carries unless its route set its own: no sniffing, no
/// framing, same-origin referrers, and a policy allowing only this origin's scripts, styles
/// and forms.
fn secure(router: Router) -> Router {
    const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                       img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
                       base-uri 'none'";
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    router
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .layer(set(header::REFERRER_POLICY, "same-origin"))
        .layer(set(header::CONTENT_SECURITY_POLICY, CSP))
}

/// Caps every request body at the limit: reading past it fails, and the capped body reader
/// ([`super::read_body`]) answers that with a 413.
async fn limit_body(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let request = request.map(|body| Body::new(Limited::new(body, limits.max_body_size)));
    next.run(request).await
}

type App = tower_http::normalize_path::NormalizePath<Router>;

/// Accepts connections, at most `limits.max_connections` at once, until told to stop; then
/// waits the grace period for them to finish.
async fn accept(listener: TcpListener, app: App, limits: Limits, mut stopping: watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            accepted = next(&listener, &permits) => accepted,
            _ = stopped(&mut stopping) => break,
        };
        match accepted {
            Ok((stream, peer, permit)) => {
                let conn = connection(stream, peer, app.clone(), limits, stopping.clone());
                connections.spawn(async move {
                    conn.await;
                    drop(permit);
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
    if tokio::time::timeout(limits.grace, drained).await.is_err() {
        tracing::warn!("requests still running after {:?}; closing them", limits.grace);
    }
}

/// The next connection, once fewer than the cap are open.
async fn next(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> std::io::Result<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    let permit = permits
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    let (stream, peer) = listener.accept().await?;
    Ok((stream, peer, permit))
}

/// Serves one keep-alive connection; finishes the request in flight and closes it on stop.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: App,
    limits: Limits,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service = tower::ServiceBuilder::new()
        .map_request(move |mut request: Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.map(Body::new)
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
