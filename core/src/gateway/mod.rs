//! The HTTP API gateway: HTTP requests in, RPC calls out, as go-micro's `micro api`. It lists
//! services from the registry, calls endpoints with [`Client`](crate::Client) (JSON codec,
//! request headers passed on as call metadata), and serves go-micro's framework routes over
//! the registry, store and broker. `micro api` and `micro run` both serve it.
//!
//! Statuses: an unknown service or endpoint is a 404; a call that fails answers the service's
//! go-micro error object (`{"id","code","detail","status"}`) with its code as the status, as
//! go-micro's `micro api` does; a body that is not JSON is a 400 and a body over the size cap a
//! 413. Every route runs on [`crate::http`]: the same limits, host check and auth layer.
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

#[cfg(all(feature = "ai", feature = "dashboard"))]
mod agent;
#[cfg(feature = "dashboard")]
mod pages;
mod routes;
#[cfg(feature = "dashboard")]
mod run_status;

#[cfg(feature = "dashboard")]
pub use run_status::{Log, Process, RunStatus, Tail};

use crate::Client;
use crate::auth::Auth;
use crate::broker::Broker;
use crate::errors::Result;
use crate::http::{self, Authenticator, Failure, Limits};
#[cfg(feature = "mcp")]
use crate::mcp::Mcp;
use crate::registry::{Cache, Registry};
use crate::store::Store;
use axum::Router;
use axum::http::StatusCode;
use std::sync::Arc;
use std::time::Duration;

pub use crate::http::Running;

/// The id of errors raised by the gateway.
#[cfg(feature = "dashboard")]
const ID: &str = "micro.gateway";
/// The largest request body taken unless told otherwise: 4 MiB.
pub const DEFAULT_MAX_BODY_SIZE: usize = 4 << 20;
/// How long registry lookups are trusted without a watch event.
const CACHE_TTL: Duration = Duration::from_secs(60);

/// An HTTP-to-RPC gateway over a registry, a store and a broker; [`start`](Gateway::start)
/// serves it.
pub struct Gateway {
    registry: Arc<dyn Registry>,
    store: Arc<dyn Store>,
    broker: Arc<dyn Broker>,
    limits: Limits,
    auth: Option<Arc<Auth>>,
    /// `Some` turns the dashboard on; inside, what its logs and status pages show.
    #[cfg(feature = "dashboard")]
    dashboard: Option<Option<Arc<dyn RunStatus>>>,
    #[cfg(feature = "mcp")]
    mcp: Option<Arc<Mcp>>,
    allowed_hosts: Vec<String>,
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
            limits: Limits::default(),
            auth: None,
            #[cfg(feature = "dashboard")]
            dashboard: None,
            #[cfg(feature = "mcp")]
            mcp: None,
            allowed_hosts: Vec::new(),
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
    /// `/micro/`. `run_status` answers the logs and status pages (for administrators only);
    /// with `None` those pages say that no runner is attached. With the `ai` feature the
    /// dashboard has the agent playground too: the page `/agent`, `/api/agent/settings` and
    /// `/api/agent/prompt`, its tool calls made as the logged-in account.
    #[cfg(feature = "dashboard")]
    pub fn dashboard(mut self, run_status: Option<Arc<dyn RunStatus>>) -> Gateway {
        self.dashboard = Some(run_status);
        self
    }

    /// Answers request bodies over `bytes` with a 413 (default [`DEFAULT_MAX_BODY_SIZE`]).
    pub fn max_body_size(mut self, bytes: usize) -> Gateway {
        self.limits.max_body_size = bytes;
        self
    }

    /// Serves with these limits (timeouts, connection cap, body size) instead of the defaults.
    pub fn limits(mut self, limits: Limits) -> Gateway {
        self.limits = limits;
        self
    }

    /// Answers requests naming these hosts too (each a host, or `host:port` for one port), on
    /// top of the loopback names and the address the gateway is bound to; any other `Host` or
    /// `Origin` gets a 403, against DNS rebinding.
    pub fn allowed_hosts(mut self, hosts: Vec<String>) -> Gateway {
        self.allowed_hosts = hosts;
        self
    }

    /// The routes the gateway serves without the dashboard, one line each (`METHOD path  what
    /// it does`), for start-up banners.
    pub fn routes() -> Vec<String> {
        routes::SERVICE_ROUTES
            .iter()
            .chain(routes::ROUTES)
            .flat_map(routes::Route::lines)
            .collect()
    }

    /// Serves the MCP gateway ([`crate::mcp`]) at `/mcp` too: Streamable HTTP, `GET
    /// /mcp/tools` (also at `/api/mcp/tools`) and `POST /mcp/call`, behind the gateway's auth.
    #[cfg(feature = "mcp")]
    pub fn mcp(mut self, mcp: Arc<Mcp>) -> Gateway {
        self.mcp = Some(mcp);
        self
    }

    /// Listens on `address` and serves in the background. `:8080` means `127.0.0.1:8080`
    /// (go-micro's spelling, kept on loopback); a host given explicitly is used as given.
    pub async fn start(self, address: &str) -> Result<Running> {
        let listener = http::bind(address).await?;
        let limits = self.limits;
        let allowed_hosts = self.allowed_hosts.clone();
        http::serve(listener, self.router().await?, limits, Some(&allowed_hosts))
    }

    /// Every route of the gateway, with its auth.
    async fn router(self) -> Result<Router> {
        #[cfg(feature = "dashboard")]
        let (dashboard, pages) = {
            let default_password = match &self.auth {
                Some(auth) => auth.default_password_unchanged().await?,
                None => false,
            };
            let on = self.dashboard.is_some();
            // The agent playground comes with the dashboard; its tools are named for models.
            #[cfg(feature = "ai")]
            let playground = on.then(|| {
                Arc::new(agent::Playground::new(
                    self.registry.clone(),
                    self.store.clone(),
                    self.broker.clone(),
                    self.auth.clone(),
                ))
            });
            let pages = pages::Pages::new(
                self.dashboard,
                default_password,
                #[cfg(feature = "ai")]
                playground,
            );
            (on, pages)
        };
        #[cfg(not(feature = "dashboard"))]
        let dashboard = false;
        let shared = Arc::new(routes::Shared::new(
            Cache::with_ttl(self.registry.clone(), CACHE_TTL),
            Client::new(self.registry).broker(self.broker.clone()),
            (self.store, self.broker),
            self.limits,
            self.auth.clone(),
            #[cfg(feature = "dashboard")]
            pages,
        ));
        let router = routes::router(shared.clone(), !dashboard);
        #[cfg(feature = "mcp")]
        let router = match self.mcp {
            Some(mcp) => router.merge(crate::mcp::http::router(mcp, self.limits)),
            None => router,
        };
        #[cfg(feature = "dashboard")]
        let router = router.merge(pages::router(shared));
        let router = router.layer(axum::Extension(Authenticator(self.auth)));
        Ok(with_fallback(router, dashboard))
    }
}

/// Paths no route takes are the dashboard's when it is on, a 404 otherwise.
fn with_fallback(router: Router, dashboard: bool) -> Router {
    if dashboard {
        router
    } else {
        router.fallback(|| async {
            Failure::new(
                StatusCode::NOT_FOUND,
                "not found: see GET / for the services, or /micro/registry",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::Memory as Broker;
    use crate::registry::Memory as Registry;
    use crate::store::{Memory as Store, Options};
    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// The gateway's router in the layers every face gets, no socket, with the limits and peer
    /// the server would add.
    async fn app() -> http::App {
        let gateway = Gateway::new(
            Arc::new(Registry::new()),
            Arc::new(Store::new(Options::default())),
            Arc::new(Broker::new()),
        );
        let bound = "127.0.0.1:8080".parse().unwrap();
        let router = gateway
            .router()
            .await
            .unwrap()
            .layer(axum::Extension(Limits::default()))
            .layer(axum::Extension(ConnectInfo(bound)));
        http::layered(router, Some(http::Hosts::new(bound, &[])))
    }

    async fn status(method: &str, path: &str, host: &str) -> (StatusCode, String) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", host)
            .body(Body::empty())
            .unwrap();
        let response = app().await.oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn paths_route_as_go_micro_routes_them() {
        let host = "localhost:8080";
        let cases = [
            ("GET", "/health", StatusCode::OK, "ok"),
            ("GET", "/health/live", StatusCode::OK, "ok"),
            ("GET", "/health/ready", StatusCode::OK, "ok"),
            ("GET", "/", StatusCode::OK, "[]"),
            ("GET", "/micro/registry", StatusCode::OK, "[]"),
            (
                "GET",
                "/micro/registry/helloworld",
                StatusCode::NOT_FOUND,
                "service not found: helloworld",
            ),
            (
                "GET",
                "/helloworld",
                StatusCode::NOT_FOUND,
                "service not found: helloworld",
            ),
            (
                "GET",
                "/api/helloworld",
                StatusCode::NOT_FOUND,
                "service not found: helloworld",
            ),
            (
                "POST",
                "/helloworld/Helloworld.Call",
                StatusCode::NOT_FOUND,
                "service not found",
            ),
            (
                "POST",
                "/helloworld/Helloworld/Call",
                StatusCode::NOT_FOUND,
                "service not found",
            ),
            (
                "POST",
                "/api/helloworld/Helloworld/Call",
                StatusCode::NOT_FOUND,
                "service not found",
            ),
            ("POST", "/api/a/b/c/d", StatusCode::NOT_FOUND, "not found"),
            ("GET", "/micro/store", StatusCode::OK, "[]"),
            (
                "GET",
                "/micro/store/user/1",
                StatusCode::NOT_FOUND,
                "key not found",
            ),
            (
                "PUT",
                "/micro/store/user/1",
                StatusCode::METHOD_NOT_ALLOWED,
                "use GET or POST",
            ),
            (
                "POST",
                "/micro/broker",
                StatusCode::BAD_REQUEST,
                "topic required",
            ),
            (
                "GET",
                "/micro/broker/events",
                StatusCode::METHOD_NOT_ALLOWED,
                "use POST",
            ),
        ];
        for (method, path, expected, says) in cases {
            let (status, body) = status(method, path, host).await;
            assert_eq!(status, expected, "{method} {path}: {body}");
            assert!(
                body.contains(says),
                "{method} {path}: {body:?} lacks {says:?}"
            );
        }
    }

    #[tokio::test]
    async fn every_route_refuses_a_host_it_does_not_serve() {
        for path in [
            "/health",
            "/",
            "/micro/registry",
            "/micro/store",
            "/api/x/Y.Z",
            "/nope",
        ] {
            let (status, body) = status("GET", path, "rebound.example:8080").await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        }
        let (status, _) = status("GET", "/health", "127.0.0.1:8080").await;
        assert_eq!(status, StatusCode::OK);
    }
}
