//! A service: handlers, subscribers and documentation gathered with a builder, then run —
//! listen, register with a TTL and keep re-registering, serve, and on SIGINT/SIGTERM
//! deregister and finish in-flight requests. [`Group`] runs several services in one process.

use crate::broker::{self, Broker, Subscription};
use crate::config::Config;
use crate::errors::{Error, Result};
use crate::registry::{self, Node, Registry};
use crate::schema;
use crate::server::{self, Context, Middleware, Route, Router, Shared, Stream};
use crate::store::Store;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

const ID: &str = "micro.service";

/// A service under construction; [`Service::run`] or [`Service::start`] brings it up.
///
/// ```no_run
/// # #[derive(serde::Deserialize, schemars::JsonSchema)] struct Request { name: String }
/// # #[derive(serde::Serialize, schemars::JsonSchema)] struct Response { msg: String }
/// # async fn run() -> micro::Result<()> {
/// micro::Service::new("helloworld")
///     .handle("Helloworld.Call", |_ctx, req: Request| async move {
///         Ok(Response { msg: format!("Hello {}", req.name) })
///     })
///     .describe("Helloworld.Call", "Greets a person by name", r#"{"name":"Alice"}"#)
///     .run()
///     .await
/// # }
/// ```
pub struct Service {
    name: String,
    version: String,
    address: String,
    metadata: HashMap<String, String>,
    config: Config,
    registry: Option<Arc<dyn Registry>>,
    broker: Option<Arc<dyn Broker>>,
    store: Option<Arc<dyn Store>>,
    router: Router,
    subscribers: Vec<(String, broker::Handler, Option<String>)>,
    register_ttl: Duration,
    register_interval: Duration,
    max_body_size: usize,
    limits: server::Limits,
    /// Mistakes made while building (documenting an unknown endpoint, ...), reported by start.
    problems: Vec<Error>,
}

impl Service {
    /// A service named `name`, configured from the `MICRO_*` environment: registry, broker,
    /// `MICRO_SERVER_ADDRESS` (default `127.0.0.1:0`), `MICRO_REGISTER_TTL` and
    /// `MICRO_REGISTER_INTERVAL` (seconds; defaults 90 and 30).
    pub fn new(name: impl Into<String>) -> Self {
        let seconds = |var: &str, default: u64| {
            Duration::from_secs(
                std::env::var(var)
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(default),
            )
        };
        Service {
            name: name.into(),
            version: "latest".into(),
            address: std::env::var("MICRO_SERVER_ADDRESS")
                .ok()
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| "127.0.0.1:0".into()),
            metadata: HashMap::new(),
            config: Config::from_env(),
            registry: None,
            broker: None,
            store: None,
            router: Router::default(),
            subscribers: Vec::new(),
            register_ttl: seconds("MICRO_REGISTER_TTL", 90),
            register_interval: seconds("MICRO_REGISTER_INTERVAL", 30),
            max_body_size: server::DEFAULT_MAX_BODY_SIZE,
            limits: server::Limits::default(),
            problems: Vec::new(),
        }
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version published in the registry (default `latest`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// The listen address, `host:port`; port 0 picks a free one.
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = address.into();
        self
    }

    /// Adds service metadata published in the registry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Uses this registry instead of the configured one.
    pub fn registry(mut self, registry: Arc<dyn Registry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Uses this broker (for subscribers) instead of the configured one.
    pub fn broker(mut self, broker: Arc<dyn Broker>) -> Self {
        self.broker = Some(broker);
        self
    }

    /// Uses this store instead of the configured one.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The service's store, for handlers to keep: the one given to [`Service::store`], else
    /// the one the configuration (`MICRO_STORE`, default `file`) chooses, opened once.
    pub fn open_store(&mut self) -> Result<Arc<dyn Store>> {
        if let Some(store) = &self.store {
            return Ok(store.clone());
        }
        let store = self.config.store()?;
        self.store = Some(store.clone());
        Ok(store)
    }

    /// Chooses components by name, as `MICRO_*` variables would.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// How long a registration lives, and how often it is renewed.
    pub fn register_ttl(mut self, ttl: Duration, interval: Duration) -> Self {
        self.register_ttl = ttl;
        self.register_interval = interval;
        self
    }

    /// Requests with a larger body are refused with 413.
    pub fn max_body_size(mut self, bytes: usize) -> Self {
        self.max_body_size = bytes;
        self
    }

    /// Guards the listener against slow, idle and too many clients (default
    /// [`server::Limits::default`]); a zero limit is an error at start.
    pub fn limits(mut self, limits: server::Limits) -> Self {
        if let Err(err) = limits.check() {
            self.problems.push(err);
        }
        self.limits = limits;
        self
    }

    /// Serves a unary endpoint with a typed handler; request and response schemas are
    /// published from the types.
    pub fn handle<Req, Rsp, F, Fut>(mut self, endpoint: &str, handler: F) -> Self
    where
        Req: DeserializeOwned + JsonSchema + Send + 'static,
        Rsp: Serialize + JsonSchema + Send + 'static,
        F: Fn(Context, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Rsp>> + Send + 'static,
    {
        let entry = self
            .router
            .insert(endpoint, Route::Unary(server::typed(handler)));
        server::set_schemas(
            entry,
            Some(pair(schema::of::<Req>())),
            Some(pair(schema::of::<Rsp>())),
        );
        self
    }

    /// Serves a unary endpoint with a handler on bytes (for bindings and protobuf).
    pub fn handle_raw(mut self, endpoint: &str, handler: server::Handler) -> Self {
        self.router.insert(endpoint, Route::Unary(handler));
        self
    }

    /// Serves a stream endpoint (server or bidirectional stream).
    pub fn stream<F, Fut>(mut self, endpoint: &str, handler: F) -> Self
    where
        F: Fn(Context, Stream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        self.router
            .insert(endpoint, Route::Stream(server::stream(handler)));
        self
    }

    /// Publishes the stream endpoint's request and response types.
    pub fn stream_types<Req: JsonSchema, Rsp: JsonSchema>(mut self, endpoint: &str) -> Self {
        match self.router.get_mut(endpoint) {
            Ok(entry) => server::set_schemas(
                entry,
                Some(pair(schema::of::<Req>())),
                Some(pair(schema::of::<Rsp>())),
            ),
            Err(err) => self.problems.push(err),
        }
        self
    }

    /// Publishes an endpoint's request and response schemas given as [`schema::Schema`]s
    /// (from [`schema::from_json_schema`]), for bindings whose handlers are raw; `None`
    /// leaves that side as it is.
    pub fn schemas(
        mut self,
        endpoint: &str,
        request: Option<schema::Schema>,
        response: Option<schema::Schema>,
    ) -> Self {
        match self.router.get_mut(endpoint) {
            Ok(entry) => server::set_schemas(entry, request.map(pair), response.map(pair)),
            Err(err) => self.problems.push(err),
        }
        self
    }

    /// Documents an endpoint: what it does and an example request (JSON text).
    pub fn describe(mut self, endpoint: &str, description: &str, example: &str) -> Self {
        if !example.is_empty() && serde_json::from_str::<serde_json::Value>(example).is_err() {
            self.problems.push(Error::bad_request(
                ID,
                format!("the example for {endpoint} is not JSON: {example:?}"),
            ));
            return self;
        }
        match self.router.get_mut(endpoint) {
            Ok(entry) => {
                let metadata = &mut entry.endpoint.metadata;
                metadata.insert("description".into(), description.into());
                if !example.is_empty() {
                    metadata.insert("example".into(), example.into());
                }
            }
            Err(err) => self.problems.push(err),
        }
        self
    }

    /// The scopes a caller's token needs for this endpoint.
    pub fn scopes(self, endpoint: &str, scopes: &[&str]) -> Self {
        self.endpoint_metadata(endpoint, "scopes", &scopes.join(","))
    }

    /// Sets one metadata entry of an endpoint, published in the registry (for example
    /// `mcp_name`, the endpoint's MCP tool name, or `mcp_result` = `content`).
    pub fn endpoint_metadata(mut self, endpoint: &str, key: &str, value: &str) -> Self {
        match self.router.get_mut(endpoint) {
            Ok(entry) => {
                entry.endpoint.metadata.insert(key.into(), value.into());
            }
            Err(err) => self.problems.push(err),
        }
        self
    }

    /// Runs `handler` for each message on `topic`; with a `queue`, the service's instances
    /// share the messages.
    pub fn subscribe(mut self, topic: &str, handler: broker::Handler, queue: Option<&str>) -> Self {
        self.subscribers
            .push((topic.to_string(), handler, queue.map(str::to_string)));
        self
    }

    /// Adds middleware around every unary handler; the first added runs outermost.
    pub fn wrap(mut self, middleware: Middleware) -> Self {
        self.router.wrap(middleware);
        self
    }

    /// The endpoints as they will be published.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Listens, subscribes, registers and serves in the background; the returned handle stops
    /// it.
    pub async fn start(self) -> Result<Running> {
        if let Some(problem) = self.problems.into_iter().next() {
            return Err(problem);
        }
        let registry = match self.registry {
            Some(registry) => registry,
            None => self.config.registry()?,
        };
        let listener = TcpListener::bind(&self.address).await.map_err(|e| {
            Error::internal(
                ID,
                format!(
                    "cannot listen on {}: {e}; set MICRO_SERVER_ADDRESS or .address()",
                    self.address
                ),
            )
        })?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::internal(ID, e.to_string()))?;
        let mut subscriptions = Vec::new();
        let mut endpoints = self.router.endpoints();
        let broker = match (self.broker, self.subscribers.is_empty()) {
            (None, false) => Some(self.config.broker(registry.clone())?),
            (broker, _) => broker,
        };
        let broker_name = broker
            .as_ref()
            .map(|b| b.name())
            .or(self.config.broker.as_deref())
            .unwrap_or("http");
        for (topic, handler, queue) in self.subscribers {
            let broker = broker
                .as_ref()
                .expect("a broker is chosen when there are subscribers");
            endpoints.push(subscriber_endpoint(&topic));
            let options = broker::SubscribeOptions { queue };
            subscriptions.push(broker.subscribe(&topic, handler, options).await?);
        }
        let record = registry::Service {
            name: self.name.clone(),
            version: self.version,
            metadata: self.metadata,
            endpoints,
            nodes: vec![Node {
                id: format!("{}-{}", self.name, uuid::Uuid::new_v4()),
                address: advertise(local).to_string(),
                metadata: [
                    ("transport", "http"),
                    ("broker", broker_name),
                    ("server", "mucp"),
                    ("registry", registry.name()),
                    ("protocol", "mucp"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            }],
        };
        let shared = Arc::new(Shared {
            name: self.name,
            router: self.router,
            max_body: self.max_body_size,
            limits: self.limits,
            ready: Default::default(),
            streams: Default::default(),
        });
        let (stopping, stopped) = watch::channel(false);
        let server = tokio::spawn(server::serve(listener, shared.clone(), stopped));
        if let Err(err) = registry.register(&record, Some(self.register_ttl)).await {
            let _ = stopping.send(true);
            return Err(err);
        }
        shared.ready.store(true, Ordering::Release);
        let heartbeat = tokio::spawn(heartbeat(
            registry.clone(),
            record.clone(),
            self.register_ttl,
            self.register_interval,
        ));
        tracing::info!(service = %record.name, address = %local, registry = registry.name(), "serving");
        Ok(Running {
            address: local,
            record,
            registry,
            shared,
            stopping,
            server,
            heartbeat,
            subscriptions,
        })
    }

    /// Starts the service and serves until SIGINT or SIGTERM, then stops it cleanly.
    pub async fn run(self) -> Result<()> {
        let signal = shutdown_signal();
        let running = self.start().await?;
        signal.await;
        running.stop().await
    }
}

/// The published type tree and JSON Schema of a type.
fn pair(schema: schema::Schema) -> (registry::Value, serde_json::Value) {
    (schema.value, schema.json)
}

/// The registry entry go-micro publishes for a subscriber.
fn subscriber_endpoint(topic: &str) -> registry::Endpoint {
    registry::Endpoint {
        name: format!("Subscriber.{topic}"),
        metadata: [("topic", topic), ("subscriber", "true")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

/// The address peers should dial: the listen address, or for an unspecified host
/// (`0.0.0.0`) the first non-loopback interface address.
fn advertise(local: SocketAddr) -> SocketAddr {
    if !local.ip().is_unspecified() {
        return local;
    }
    let ip = if_addrs::get_if_addrs()
        .ok()
        .and_then(|addrs| {
            addrs
                .into_iter()
                .find(|a| !a.is_loopback() && a.ip().is_ipv4())
                .map(|a| a.ip())
        })
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    SocketAddr::new(ip, local.port())
}

/// Re-registers every `interval` so the registration outlives its TTL while we run.
async fn heartbeat(
    registry: Arc<dyn Registry>,
    record: registry::Service,
    ttl: Duration,
    interval: Duration,
) {
    let mut tick = tokio::time::interval(interval.max(Duration::from_millis(10)));
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(err) = registry.register(&record, Some(ttl)).await {
            tracing::warn!(%err, service = %record.name, "re-registration failed; will retry");
        }
    }
}

/// Installs SIGINT (Ctrl-C) and SIGTERM handlers at once and resolves when either arrives;
/// call it before announcing readiness so an early signal is not missed.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).expect("SIGINT handler installs");
        let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
        async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A running service.
pub struct Running {
    address: SocketAddr,
    record: registry::Service,
    registry: Arc<dyn Registry>,
    shared: Arc<Shared>,
    stopping: watch::Sender<bool>,
    server: JoinHandle<()>,
    heartbeat: JoinHandle<()>,
    subscriptions: Vec<Subscription>,
}

impl Running {
    /// Where the service listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The registry entry it published, with its one node.
    pub fn record(&self) -> &registry::Service {
        &self.record
    }

    /// Deregisters, unsubscribes, stops accepting, and waits for in-flight requests.
    pub async fn stop(self) -> Result<()> {
        self.shared.ready.store(false, Ordering::Release);
        self.heartbeat.abort();
        let deregistered = self.registry.deregister(&self.record).await;
        for subscription in self.subscriptions {
            if let Err(err) = subscription.unsubscribe().await {
                tracing::warn!(%err, "unsubscribe failed");
            }
        }
        let _ = self.stopping.send(true);
        let _ = self.server.await;
        deregistered
    }
}

/// Several services in one process, started together and stopped together.
#[derive(Default)]
pub struct Group {
    services: Vec<Service>,
}

impl Group {
    /// An empty group.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a service.
    pub fn service(mut self, service: Service) -> Self {
        self.services.push(service);
        self
    }

    /// Starts every service; if one fails, those already started are stopped.
    pub async fn start(self) -> Result<Vec<Running>> {
        let mut running = Vec::new();
        for service in self.services {
            match service.start().await {
                Ok(r) => running.push(r),
                Err(err) => {
                    for r in running {
                        let _ = r.stop().await;
                    }
                    return Err(err);
                }
            }
        }
        Ok(running)
    }

    /// Runs every service until SIGINT or SIGTERM, then stops them all.
    pub async fn run(self) -> Result<()> {
        let signal = shutdown_signal();
        let running = self.start().await?;
        signal.await;
        let mut first = Ok(());
        for r in running {
            if let Err(err) = r.stop().await
                && first.is_ok()
            {
                first = Err(err);
            }
        }
        first
    }
}
