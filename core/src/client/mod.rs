//! The RPC client, as go-micro's: it finds a service's nodes through a registry cache, picks
//! one with a [`Selector`], sends the call over a pooled connection of the HTTP transport and
//! retries timeouts, and attempts that never reached a service, on another node ([`Retry`]). It also opens streams on dedicated connections,
//! publishes through a broker, and runs call middleware around every raw call.
//!
//! ```no_run
//! # #[derive(serde::Serialize)] struct Request { name: String }
//! # #[derive(serde::Deserialize)] struct Response { msg: String }
//! # async fn run() -> micro::Result<()> {
//! let client = micro::Client::from_config(&micro::config::Config::from_env())?;
//! let rsp: Response = client
//!     .call("helloworld", "Helloworld.Call", &Request { name: "Alice".into() })
//!     .await?;
//! # Ok(()) }
//! ```

mod options;
mod selector;
mod stream;

pub use options::{
    Backoff, CallOptions, DEFAULT_CONTENT_TYPE, DEFAULT_DIAL_TIMEOUT, DEFAULT_RETRIES,
    DEFAULT_TIMEOUT, Retry,
};
pub use selector::Selector;
pub use stream::{Stream, StreamReceiver, StreamSender};

use crate::broker::{self, Broker};
use crate::codec::Codec;
use crate::config::Config;
use crate::errors::{Error, Kind, Result};
use crate::registry::{Cache, Registry};
use crate::transport::wire::canonical;
use crate::transport::{Conn, Header, Message, Pool, is_browser_header, micro_header};
use bytes::Bytes;
use futures::future::BoxFuture;
use selector::{Nodes, Picker};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// The id of errors raised by the client, as go-micro's.
pub const ID: &str = "go.micro.client";
/// How long registry lookups are cached without a watch event, as go-micro's cache.
const CACHE_TTL: Duration = Duration::from_secs(60);
/// The largest response body read unless told otherwise: 4 MiB, as the server's request cap.
pub const DEFAULT_MAX_BODY_SIZE: usize = 4 << 20;
/// go-micro's connection pool: idle connections kept per address.
pub const DEFAULT_POOL_SIZE: usize = 100;
/// go-micro's connection pool: how long a connection is reused.
pub const DEFAULT_POOL_TTL: Duration = Duration::from_secs(60);

/// A call as bytes: which endpoint of which service, and the payload (unframed: a grpc
/// content type gets its prefix added here).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawRequest {
    /// The service name, e.g. `helloworld`.
    pub service: String,
    /// `Handler.Method`, e.g. `Helloworld.Call`.
    pub endpoint: String,
    /// The encoded request.
    pub body: Bytes,
}

/// A response as bytes: the headers the server sent and the payload (unframed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawResponse {
    /// Response headers; go-micro servers repeat the request's headers here.
    pub header: Header,
    /// The encoded response.
    pub body: Bytes,
}

/// A raw call: what call middleware wraps and passes on.
pub type Call =
    Arc<dyn Fn(RawRequest, CallOptions) -> BoxFuture<'static, Result<RawResponse>> + Send + Sync>;

/// Call middleware: gets each raw call and the next [`Call`], and may act before, after or
/// instead of it (add metadata, log, time, refuse, ...).
pub type Middleware = Arc<
    dyn Fn(RawRequest, CallOptions, Call) -> BoxFuture<'static, Result<RawResponse>> + Send + Sync,
>;

/// Wraps an async closure `|request, options, next| async move { next(request, options).await }`
/// as [`Middleware`].
pub fn middleware<F, Fut>(f: F) -> Middleware
where
    F: Fn(RawRequest, CallOptions, Call) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<RawResponse>> + Send + 'static,
{
    Arc::new(move |request, options, next| Box::pin(f(request, options, next)))
}

/// Settings fixed when the client is built.
#[derive(Debug, Clone, Copy)]
struct Settings {
    selector: Selector,
    max_body_size: usize,
    pool_size: usize,
    pool_ttl: Duration,
}

/// The RPC client. Cheap to clone; clones share the connection pool and registry cache.
#[derive(Clone)]
pub struct Client {
    core: Arc<Core>,
    broker: Option<Arc<dyn Broker>>,
    middleware: Vec<Middleware>,
    /// The middleware wrapped around [`Core::call`], outermost first.
    chain: Call,
}

/// What every call shares: registry cache, connections, node picker, request ids.
struct Core {
    cache: Cache,
    pool: Pool,
    picker: Picker,
    settings: Settings,
    seq: AtomicU64,
}

impl Client {
    /// A client finding services through `registry` (cached, watch-invalidated), with
    /// go-micro's defaults: random selection, 100 pooled connections per address for a
    /// minute each. Publishing needs a [`broker`](Client::broker) too.
    pub fn new(registry: Arc<dyn Registry>) -> Client {
        let settings = Settings {
            selector: Selector::default(),
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            pool_size: DEFAULT_POOL_SIZE,
            pool_ttl: DEFAULT_POOL_TTL,
        };
        let core = Arc::new(Core::new(Cache::with_ttl(registry, CACHE_TTL), settings));
        Client {
            chain: compose(&core, &[]),
            core,
            broker: None,
            middleware: Vec::new(),
        }
    }

    /// A client using the registry and broker `config` chooses (`MICRO_REGISTRY`,
    /// `MICRO_BROKER`, ...).
    pub fn from_config(config: &Config) -> Result<Client> {
        let registry = config.registry()?;
        let broker = config.broker(registry.clone())?;
        Ok(Client::new(registry).broker(broker))
    }

    /// Publishes through `broker`.
    pub fn broker(mut self, broker: Arc<dyn Broker>) -> Client {
        self.broker = Some(broker);
        self
    }

    /// Chooses nodes with `selector` (default [`Selector::Random`]).
    pub fn selector(self, selector: Selector) -> Client {
        self.rebuild(|s| s.selector = selector)
    }

    /// Keeps at most `size` idle connections per address, each reused for at most `ttl`.
    pub fn pool(self, size: usize, ttl: Duration) -> Client {
        self.rebuild(|s| {
            s.pool_size = size;
            s.pool_ttl = ttl;
        })
    }

    /// Refuses response bodies over `bytes` (default [`DEFAULT_MAX_BODY_SIZE`]).
    pub fn max_body_size(self, bytes: usize) -> Client {
        self.rebuild(|s| s.max_body_size = bytes)
    }

    /// Adds call middleware around every raw call (typed calls included); the first added is
    /// the outermost.
    pub fn wrap(mut self, middleware: Middleware) -> Client {
        self.middleware.push(middleware);
        self.chain = compose(&self.core, &self.middleware);
        self
    }

    /// A new core with changed settings (and a fresh pool) under the same registry cache.
    fn rebuild(mut self, change: impl FnOnce(&mut Settings)) -> Client {
        let mut settings = self.core.settings;
        change(&mut settings);
        self.core = Arc::new(Core::new(self.core.cache.clone(), settings));
        self.chain = compose(&self.core, &self.middleware);
        self
    }

    /// Calls `endpoint` (`Handler.Method`) of `service` with a JSON request, with default
    /// [`CallOptions`].
    pub async fn call<Req, Rsp>(&self, service: &str, endpoint: &str, request: &Req) -> Result<Rsp>
    where
        Req: Serialize,
        Rsp: DeserializeOwned,
    {
        self.call_with(service, endpoint, request, &CallOptions::default())
            .await
    }

    /// Calls `endpoint` of `service`, encoding and decoding with the codec of
    /// `options.content_type` (a JSON kind).
    pub async fn call_with<Req, Rsp>(
        &self,
        service: &str,
        endpoint: &str,
        request: &Req,
        options: &CallOptions,
    ) -> Result<Rsp>
    where
        Req: Serialize,
        Rsp: DeserializeOwned,
    {
        let codec = typed_codec(&options.content_type)?;
        let request = RawRequest {
            service: service.to_string(),
            endpoint: endpoint.to_string(),
            body: codec.encode(request)?,
        };
        let response = self.call_raw(request, options).await?;
        codec.decode(response.body)
    }

    /// Calls with an encoded payload, in the codec named by `options.content_type`; the
    /// server's error, if any, is the `Err`.
    pub async fn call_raw(
        &self,
        request: RawRequest,
        options: &CallOptions,
    ) -> Result<RawResponse> {
        (self.chain)(request, options.clone()).await
    }

    /// Opens a stream to `endpoint` of `service` on a new connection. `options.timeout`
    /// bounds the opening (lookup, dial, first message), not the stream's life.
    pub async fn stream(
        &self,
        service: &str,
        endpoint: &str,
        options: &CallOptions,
    ) -> Result<Stream> {
        let opening = self.core.open_stream(service, endpoint, options);
        tokio::time::timeout(options.timeout, opening)
            .await
            .map_err(|_| timed_out(service, endpoint, options.timeout))?
    }

    /// Publishes `payload` as JSON on `topic` through the client's broker.
    pub async fn publish<T: Serialize + ?Sized>(&self, topic: &str, payload: &T) -> Result<()> {
        let body = serde_json::to_vec(payload).map_err(|e| {
            Error::bad_request(
                ID,
                format!("the message for {topic} is not JSON-encodable: {e}"),
            )
        })?;
        self.publish_raw(topic, DEFAULT_CONTENT_TYPE, body.into(), Header::new())
            .await
    }

    /// Publishes an encoded payload on `topic`, with `metadata` as extra headers; adds
    /// `Content-Type`, `Micro-Topic` and a fresh `Micro-Id`, as go-micro does.
    pub async fn publish_raw(
        &self,
        topic: &str,
        content_type: &str,
        body: Bytes,
        metadata: Header,
    ) -> Result<()> {
        let broker = self.broker.as_ref().ok_or_else(|| {
            Error::internal(
                ID,
                "this client has no broker to publish through; give it one with Client::broker or build it with Client::from_config",
            )
        })?;
        let mut header = metadata;
        header.insert("Content-Type".into(), content_type.into());
        header.insert("Micro-Topic".into(), topic.into());
        header.insert("Micro-Id".into(), uuid::Uuid::new_v4().to_string());
        broker
            .publish(topic, broker::Message { header, body })
            .await
    }
}

/// The middleware chain around the core's call, the first middleware outermost.
fn compose(core: &Arc<Core>, middleware: &[Middleware]) -> Call {
    let core = core.clone();
    let mut call: Call = Arc::new(move |request, options| {
        let core = core.clone();
        Box::pin(async move { core.call(request, options).await })
    });
    for layer in middleware.iter().rev() {
        let (layer, next) = (layer.clone(), call);
        call = Arc::new(move |request, options| layer(request, options, next.clone()));
    }
    call
}

impl Core {
    fn new(cache: Cache, settings: Settings) -> Core {
        Core {
            cache,
            pool: Pool::new(settings.pool_size, settings.pool_ttl),
            picker: Picker::new(settings.selector),
            settings,
            seq: AtomicU64::new(0),
        }
    }

    /// One call with its retries, all within `options.timeout`.
    async fn call(&self, request: RawRequest, options: CallOptions) -> Result<RawResponse> {
        let deadline = Instant::now() + options.timeout;
        let attempts = self.call_until(&request, &options, deadline);
        tokio::time::timeout_at(deadline, attempts)
            .await
            .unwrap_or_else(|_| {
                Err(timed_out(
                    &request.service,
                    &request.endpoint,
                    options.timeout,
                ))
            })
    }

    async fn call_until(
        &self,
        request: &RawRequest,
        options: &CallOptions,
        deadline: Instant,
    ) -> Result<RawResponse> {
        let codec = Codec::from_content_type(&options.content_type)?;
        let body = codec.frame(request.body.clone());
        let nodes = self.nodes(&request.service, options).await?;
        if nodes.is_stream(&request.endpoint) {
            // Called as a unary call, a stream endpoint would wait for messages until timeout.
            return Err(Error::bad_request(
                ID,
                format!(
                    "{} of {} is a stream endpoint; open it with Client::stream",
                    request.endpoint, request.service
                ),
            ));
        }
        let addresses = nodes.addresses();
        let id = self.next_id();
        let mut tried = Vec::new();
        loop {
            let address = self
                .picker
                .pick(&request.service, &addresses, &tried)
                .ok_or_else(|| not_found(&request.service))?;
            let left = deadline.saturating_duration_since(Instant::now());
            let timeout = left.as_nanos().to_string();
            let header = call_header(request, options, &id, Some(&timeout));
            let failure = match self.exchange(address, &header, &body, options).await {
                Ok(reply) => match micro_header(&reply.header, "Error") {
                    Some(err) => Failure::sent(Error::parse(err)),
                    None => {
                        return Ok(RawResponse {
                            body: codec.unframe(reply.body)?,
                            header: reply.header,
                        });
                    }
                },
                Err(failure) => failure,
            };
            tried.push(address);
            if !may_retry(&failure, &addresses, &tried, options, deadline) {
                return Err(failure.err);
            }
            let err = failure.err;
            tracing::debug!(%err, service = %request.service, endpoint = %request.endpoint, address, "retrying the call");
            tokio::time::sleep(options.backoff.delay(tried.len())).await;
        }
    }

    /// Sends one request and reads its response on a pooled connection. A pooled connection
    /// may have been closed by the server while idle, so its failure earns one fresh dial.
    async fn exchange(
        &self,
        address: &str,
        header: &[(Cow<'_, str>, &str)],
        body: &[u8],
        options: &CallOptions,
    ) -> std::result::Result<Message, Failure> {
        if let Some(mut conn) = self.pool.take(address) {
            let result = send_recv(&mut conn, header, body).await;
            match &result {
                Err(failure) if failure.reached != Reached::Answered => {
                    let err = &failure.err;
                    tracing::debug!(%err, address, "pooled connection failed; dialing a new one")
                }
                // An answer, error or not, is the handler's: the call is never sent again.
                _ => return self.keep(conn, result),
            }
        }
        let mut conn = self.dial(address, options).await.map_err(Failure::unsent)?;
        let result = send_recv(&mut conn, header, body).await;
        self.keep(conn, result)
    }

    /// Puts `conn` back in the pool when the exchange ended with an answer (an error answer
    /// too: it was read whole), and gives `result` on.
    fn keep(
        &self,
        conn: Conn,
        result: std::result::Result<Message, Failure>,
    ) -> std::result::Result<Message, Failure> {
        if result
            .as_ref()
            .map_or_else(|failure| failure.reached == Reached::Answered, |_| true)
        {
            self.pool.put(conn);
        }
        result
    }

    async fn dial(&self, address: &str, options: &CallOptions) -> Result<Conn> {
        Conn::dial(address, options.dial_timeout, self.settings.max_body_size).await
    }

    /// Where calls to `service` may go; a 404 error at once when nowhere.
    async fn nodes<'a>(&self, service: &str, options: &'a CallOptions) -> Result<Nodes<'a>> {
        if !options.address.is_empty() {
            return Ok(Nodes::Fixed(&options.address));
        }
        match self.cache.lookup(service).await {
            Ok(services) if services.iter().any(|s| !s.nodes.is_empty()) => {
                Ok(Nodes::Registry(services))
            }
            Ok(_) => Err(not_found(service)),
            Err(err) if err.kind == Kind::NotFound => Err(not_found(service)),
            Err(err) => Err(Error::new(
                ID,
                format!("looking up service {service}: {}", err.detail),
                err.code,
            )),
        }
    }

    fn next_id(&self) -> String {
        self.seq.fetch_add(1, Ordering::Relaxed).to_string()
    }

    /// Looks the service up, dials a node and sends the stream's first message, retrying on
    /// another node as calls do.
    async fn open_stream(
        &self,
        service: &str,
        endpoint: &str,
        options: &CallOptions,
    ) -> Result<Stream> {
        let deadline = Instant::now() + options.timeout;
        let codec = Codec::from_content_type(&options.content_type)?;
        let nodes = self.nodes(service, options).await?;
        let addresses = nodes.addresses();
        let request = RawRequest {
            service: service.to_string(),
            endpoint: endpoint.to_string(),
            body: Bytes::new(),
        };
        let id = self.next_id();
        let header = call_header(&request, options, &id, None)
            .into_iter()
            .map(|(name, value)| (name.into_owned(), value.to_string()))
            .collect();
        let mut first = Message {
            header,
            // go-micro sends the empty request object first; its server ignores the body.
            body: empty_request(&codec),
        };
        let mut tried = Vec::new();
        loop {
            let address = self
                .picker
                .pick(service, &addresses, &tried)
                .ok_or_else(|| not_found(service))?;
            let err = match self.dial(address, options).await {
                Ok(mut conn) => match conn.send(&first).await {
                    Ok(()) => {
                        first.body = Bytes::new();
                        return Ok(Stream::new(conn.split(), first, codec));
                    }
                    Err(err) => err,
                },
                Err(err) => err,
            };
            // Until the first message is sent whole, no handler runs.
            let failure = Failure::unsent(err);
            tried.push(address);
            if !may_retry(&failure, &addresses, &tried, options, deadline) {
                return Err(failure.err);
            }
            let err = failure.err;
            tracing::debug!(%err, service, endpoint, address, "retrying to open the stream");
            tokio::time::sleep(options.backoff.delay(tried.len())).await;
        }
    }
}

/// A failed attempt, and how far its request got.
struct Failure {
    err: Error,
    reached: Reached,
}

/// How far a failed request got.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reached {
    /// Not sent whole: no handler can have run, so it is always safe to try elsewhere.
    NotSent,
    /// Sent, and the connection failed or closed with no answer: the node went away (killed,
    /// crashed, cut off). Tried elsewhere, as go-micro retries its transport's failures.
    NoAnswer,
    /// Answered with an error.
    Answered,
}

impl Failure {
    fn sent(err: Error) -> Self {
        Failure {
            err,
            reached: Reached::Answered,
        }
    }

    fn unsent(err: Error) -> Self {
        Failure {
            err,
            reached: Reached::NotSent,
        }
    }
}

/// One request and its response on `conn`. A send that fails has not delivered the whole
/// request, so the server cannot have read it.
async fn send_recv(
    conn: &mut Conn,
    header: &[(Cow<'_, str>, &str)],
    body: &[u8],
) -> std::result::Result<Message, Failure> {
    let header = header.iter().map(|(name, value)| (name.as_ref(), *value));
    conn.send_parts(header, body)
        .await
        .map_err(Failure::unsent)?;
    match conn.answer().await {
        Ok(answer) => answer.map_err(Failure::sent),
        Err(err) => Err(Failure {
            err,
            reached: Reached::NoAnswer,
        }),
    }
}

/// The headers of a call or stream message as name-value pairs: the call's own, then the
/// metadata not naming one of them, so the call's own win.
///
/// Unary calls carry `Micro-Stream` too, unique per call: go-micro's server keys a call's
/// internal socket by it, and without it every call on a connection shares the empty key, so
/// a call sent right after the previous answer is sometimes lost (tests/interop/README.md).
fn call_header<'a>(
    request: &'a RawRequest,
    options: &'a CallOptions,
    id: &'a str,
    timeout: Option<&'a str>,
) -> Vec<(Cow<'a, str>, &'a str)> {
    let content_type = options.content_type.as_str();
    let own = [
        ("Content-Type", content_type),
        ("Accept", content_type),
        ("Micro-Id", id),
        ("Micro-Service", request.service.as_str()),
        ("Micro-Method", request.endpoint.as_str()),
        ("Micro-Endpoint", request.endpoint.as_str()),
        ("Micro-Stream", id),
    ];
    let mut header = Vec::with_capacity(own.len() + 1 + options.metadata.len());
    header.extend(own.map(|(name, value)| (Cow::Borrowed(name), value)));
    if let Some(timeout) = timeout {
        header.push((Cow::Borrowed("Timeout"), timeout));
    }
    for (key, value) in &options.metadata {
        let key = canonical(key);
        // A topic header makes a go-micro server take the call for an event, an error
        // header ends a stream, and a browser's header gets the call refused: none may come
        // from metadata.
        let reserved = ["Micro-Topic", "Micro-Error"]
            .iter()
            .any(|r| key == *r || key.strip_prefix("X-") == Some(r));
        let taken = header.iter().any(|(name, _)| *name == key);
        if !reserved && !taken && !is_browser_header(&key) {
            header.push((Cow::Owned(key), value.as_str()));
        }
    }
    header
}

/// The empty request object as `codec` puts it on the wire: `{}` for JSON kinds, nothing
/// for byte codecs.
fn empty_request(codec: &Codec) -> Bytes {
    codec.frame(codec.encode(&serde_json::Map::new()).unwrap_or_default())
}

/// The codec of a typed call: a JSON kind, else a 415 pointing to raw calls.
fn typed_codec(content_type: &str) -> Result<Codec> {
    let codec = Codec::from_content_type(content_type)?;
    if !codec.is_json() {
        return Err(Error::new(
            ID,
            format!(
                "typed calls and messages need a JSON content type (application/json or application/grpc+json), not {content_type}; use Client::call_raw for other codecs"
            ),
            415,
        ));
    }
    Ok(codec)
}

/// Whether another attempt may follow `failure`, the last of those to `tried`: the call's
/// [`Retry`] wants it, retries are left, and the pause before it ends before the deadline.
fn may_retry(
    failure: &Failure,
    addresses: &[&str],
    tried: &[&str],
    options: &CallOptions,
    deadline: Instant,
) -> bool {
    let wanted = match options.retry {
        Retry::Always => true,
        Retry::OnError => match failure.reached {
            Reached::Answered => failure.err.kind == Kind::Timeout,
            Reached::NotSent | Reached::NoAnswer => {
                failure.err.kind == Kind::Timeout || addresses.iter().any(|a| !tried.contains(a))
            }
        },
    };
    let attempt = tried.len();
    wanted
        && attempt <= options.retries
        && Instant::now() + options.backoff.delay(attempt) < deadline
}

/// No node of `service` to send to: go-micro's 404 from the client on the wire, and
/// [`Kind::NoService`] here, so a caller can tell it from the service's own 404.
fn not_found(service: &str) -> Error {
    Error::of(Kind::NoService, ID, format!("service {service}: not found"))
}

fn timed_out(service: &str, endpoint: &str, timeout: Duration) -> Error {
    Error::timeout(
        ID,
        format!(
            "call to {service} {endpoint} got no answer within {timeout:?}; raise CallOptions::timeout if it needs longer"
        ),
    )
}
