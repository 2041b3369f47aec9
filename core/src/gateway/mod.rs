//! The HTTP API gateway: HTTP requests in, RPC calls out, as go-micro's `micro api`. It lists
//! services from the registry, calls endpoints with [`Client`](crate::Client) (JSON codec,
//! request headers passed on as call metadata), and serves go-micro's framework routes over
//! the registry, store and broker. `micro api` and `micro run` both serve it.
//!
//! Statuses: an unknown service or endpoint is a 404, a call that fails is a 502 whose
//! `{"error": ...}` holds the go-micro error JSON (so its code is still readable; go-micro's
//! own `micro api` answers 500 for every failure), a body that is not JSON a 400 and a body
//! over the size cap a 413.
//!
//! ```no_run
//! # async fn run() -> micro::Result<()> {
//! use micro::config::Config;
//! let config = Config::from_env();
//! let registry = config.registry()?;
//! let gateway = micro::gateway::Gateway::new(registry.clone(), config.store()?, config.broker(registry)?);
//! let running = gateway.start(":8080").await?;
//! println!("gateway on http://{}", running.address());
//! running.stop().await;
//! # Ok(()) }
//! ```

pub(crate) mod guard;
mod pages;
mod routes;

use crate::Client;
use crate::auth::Auth;
use crate::broker::Broker;
use crate::errors::{Error, Result};
use crate::mcp::{self, Mcp};
use crate::registry::{Cache, Registry};
use crate::store::Store;
use bytes::Bytes;
use http_body_util::Either;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use routes::Shared;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// The id of errors raised by the gateway.
const ID: &str = "micro.gateway";
/// The largest request body taken unless told otherwise: 4 MiB.
pub const DEFAULT_MAX_BODY_SIZE: usize = 4 << 20;
/// How long registry lookups are trusted without a watch event.
const CACHE_TTL: Duration = Duration::from_secs(60);
/// How long [`Running::stop`] waits for requests in flight before closing their connections.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The routes, one line each, for start-up banners.
const ROUTES: &[&str] = &[
    "GET  /                                  services and their endpoints",
    "GET  /{service}                         describe a service",
    "POST /{service}/{Handler.Method}        call an endpoint (or name it in a Micro-Endpoint header)",
    "POST /api/{service}/{Handler.Method}    call an endpoint",
    "POST /api/{service}/{Handler}/{Method}  call an endpoint",
    "GET  /health                            gateway health",
    "GET  /micro/registry                    registered services",
    "GET  /micro/registry/{name}             describe a service",
    "GET  /micro/store                       list store keys",
    "GET  /micro/store/{key}                 read a record",
    "POST /micro/store/{key}                 write a record",
    "POST /micro/broker/{topic}              publish a message",
];

/// An HTTP-to-RPC gateway over a registry, a store and a broker; [`start`](Gateway::start)
/// serves it.
pub struct Gateway {
    registry: Arc<dyn Registry>,
    store: Arc<dyn Store>,
    broker: Arc<dyn Broker>,
    max_body_size: usize,
    auth: Option<Arc<Auth>>,
    dashboard: Option<PathBuf>,
    mcp: Option<(Arc<Mcp>, Vec<String>)>,
}

impl Gateway {
    /// A gateway finding services in `registry`, serving `/micro/store` from `store` and
    /// publishing `/micro/broker` messages through `broker`.
    pub fn new(
        registry: Arc<dyn Registry>,
        store: Arc<dyn Store>,
        broker: Arc<dyn Broker>,
    ) -> Gateway {
        Gateway {
            registry,
            store,
            broker,
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            auth: None,
            dashboard: None,
            mcp: None,
        }
    }

    /// Turns auth on: every call and framework route needs a valid token (from
    /// `Authorization: Bearer`, `?token=` or the `micro_token` cookie) with the scopes the
    /// endpoint requires, and `/auth/...` serves login and the account pages.
    pub fn auth(mut self, auth: Arc<Auth>) -> Gateway {
        self.auth = Some(auth);
        self
    }

    /// Turns the dashboard on, as `micro server` and `micro run` serve it: `/` and
    /// `/{service}[/{endpoint}]` become HTML pages and the JSON API stays under `/api/` and
    /// `/micro/`. `micro_dir` is where `micro run` keeps `logs/` and `run/` (`~/micro`).
    pub fn dashboard(mut self, micro_dir: impl Into<PathBuf>) -> Gateway {
        self.dashboard = Some(micro_dir.into());
        self
    }

    /// Answers request bodies over `bytes` with a 413 (default [`DEFAULT_MAX_BODY_SIZE`]).
    pub fn max_body_size(mut self, bytes: usize) -> Gateway {
        self.max_body_size = bytes;
        self
    }

    /// The routes the gateway serves, one line each (`METHOD path  what it does`), for
    /// start-up banners.
    pub fn routes() -> Vec<&'static str> {
        ROUTES.to_vec()
    }

    /// Serves the MCP gateway ([`crate::mcp`]) at `/mcp` too: Streamable HTTP, `GET
    /// /mcp/tools` and `POST /mcp/call`, checking tokens with the [`Mcp`]'s own auth and,
    /// against DNS rebinding, answering only requests for `allowed_hosts` (empty: localhost,
    /// 127.0.0.1 and [::1]).
    pub fn mcp(mut self, mcp: Arc<Mcp>, allowed_hosts: Vec<String>) -> Gateway {
        self.mcp = Some((mcp, allowed_hosts));
        self
    }

    /// Listens on `address` and serves in the background. `:8080` means `127.0.0.1:8080`
    /// (go-micro's spelling, kept on loopback); a host given explicitly is used as given.
    pub async fn start(self, address: &str) -> Result<Running> {
        let listener = bind(address).await?;
        let default_password = match &self.auth {
            Some(auth) => auth.default_password_unchanged().await?,
            None => false,
        };
        let mcp = self
            .mcp
            .map(|(mcp, hosts)| Arc::new(mcp::http::Handler::new(mcp, hosts)));
        let shared = Arc::new(Shared {
            cache: Cache::with_ttl(self.registry.clone(), CACHE_TTL),
            client: Client::new(self.registry).broker(self.broker.clone()),
            store: self.store,
            broker: self.broker,
            max_body_size: self.max_body_size,
            auth: self.auth,
            dashboard: self.dashboard,
            pages: pages::Pages::new(default_password),
            limiter: guard::LoginLimiter::default(),
        });
        Running::spawn(listener, move |request, peer| {
            let (shared, mcp) = (shared.clone(), mcp.clone());
            async move {
                match &mcp {
                    Some(mcp) if mcp::http::owns(request.uri().path()) => {
                        mcp.handle(request).await.map(Either::Right)
                    }
                    _ => routes::handle(&shared, request, peer)
                        .await
                        .map(Either::Left),
                }
            }
        })
    }
}

/// Listens on `address` (a bare `:port` on 127.0.0.1), saying what to do when it cannot.
pub(crate) async fn bind(address: &str) -> Result<TcpListener> {
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

/// Where to listen for `address`: a bare `:port` is on 127.0.0.1.
pub fn listen_address(address: &str) -> String {
    match address.strip_prefix(':') {
        Some(port) => format!("127.0.0.1:{port}"),
        None => address.to_string(),
    }
}

/// A gateway being served.
pub struct Running {
    address: SocketAddr,
    stopping: watch::Sender<bool>,
    server: JoinHandle<()>,
}

impl Running {
    /// Serves `handler` on `listener` in the background: one answer per request, given the
    /// peer's address.
    pub(crate) fn spawn<H, F, B>(listener: TcpListener, handler: H) -> Result<Running>
    where
        H: Fn(Request<Incoming>, IpAddr) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Response<B>> + Send + 'static,
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let address = listener
            .local_addr()
            .map_err(|e| Error::internal(ID, format!("cannot read the listening address: {e}")))?;
        let (stopping, stopped) = watch::channel(false);
        let server = tokio::spawn(serve(listener, handler, stopped));
        Ok(Running {
            address,
            stopping,
            server,
        })
    }

    /// Where the gateway listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, lets requests in flight finish (for at most 5 s) and closes every
    /// connection.
    pub async fn stop(self) {
        let _ = self.stopping.send(true);
        let _ = self.server.await;
    }
}

/// Accepts connections until told to stop, then waits a while for them to finish.
async fn serve<H, F, B>(listener: TcpListener, handler: H, mut stopping: watch::Receiver<bool>)
where
    H: Fn(Request<Incoming>, IpAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped(&mut stopping) => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                connections.spawn(connection(stream, peer, handler.clone(), stopping.clone()));
            }
            Err(err) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                tracing::warn!(%err, "gateway cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(STOP_GRACE, drained).await.is_err() {
        tracing::warn!("gateway requests still running after {STOP_GRACE:?}; closing them");
    }
}

/// Serves one keep-alive connection; finishes the request in flight and closes it on stop.
async fn connection<H, F, B>(
    stream: TcpStream,
    peer: SocketAddr,
    handler: H,
    mut stopping: watch::Receiver<bool>,
) where
    H: Fn(Request<Incoming>, IpAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |request| {
        let answer = handler(request, peer.ip());
        async move {
            let mut answer = answer.await;
            guard::secure(answer.headers_mut());
            Ok::<_, Infallible>(answer)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stopped(&mut stopping) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(%err, "gateway connection ended with an error");
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
