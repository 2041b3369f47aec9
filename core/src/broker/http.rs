//! go-micro's HTTP broker, spoken on the wire exactly as go-micro v5 speaks it, so Rust and Go
//! subscribers and publishers mix freely. Each subscription is a node of the registry service
//! `micro.http.broker` (version = its queue, or `ff.http.broadcast`), pointing at this broker's
//! own HTTP listener. Publishing looks the topic's nodes up in the registry (through a
//! watch-invalidated [`Cache`]) and POSTs `{"Header":{..},"Body":"<base64>"}` to
//! `http://<node>/?id=<node id>`: to every broadcast node, and to one random member of each
//! queue. The listener starts on the first subscribe; nodes are registered with a TTL and
//! registered again on an interval, so a broker that dies leaves the registry within the TTL.
//!
//! Where we differ from go-micro, on purpose and without changing the wire: node ids are unique
//! per subscription (go-micro reuses one per broker and topic, so unsubscribing one of two
//! subscriptions silently stops the other); publishing waits for delivery and reports when no
//! subscriber could be reached (go-micro sends in the background and retries later); a queue
//! member that cannot be reached is skipped for another; publishing with no subscriber at all
//! is `Ok` (go-micro returns the registry's "not found" when no broker node exists anywhere);
//! bad requests are answered 400/404/405/413 rather than 500 or a silent 200; and our own
//! subscriptions are handed their messages directly instead of over the loopback.

use super::{Broker, Handler, Message, SubscribeOptions, Subscription, run};
use crate::errors::{Error, Kind, Result};
use crate::registry::{Cache, Node, Registry, Service};
use async_trait::async_trait;
use axum::Router;
use axum::extract::{Request, State};
use axum::routing::any;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, StatusCode, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rand::seq::SliceRandom;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, OnceCell, watch};

/// The registry service every HTTP broker subscription is a node of.
const SERVICE_NAME: &str = "micro.http.broker";
/// The service version of subscriptions without a queue: every node gets every message.
const BROADCAST_VERSION: &str = "ff.http.broadcast";
/// The message header naming the topic, set by the publisher.
const TOPIC_HEADER: &str = "Micro-Topic";
/// The listen address when none is given.
const DEFAULT_ADDRESS: &str = "127.0.0.1:0";
/// The largest request body the receiving server reads by default (4 MiB).
const DEFAULT_MAX_BODY_SIZE: usize = 4 << 20;

/// The only path go-micro publishes to.
const PATH: &str = "/";
/// The error id go-micro's HTTP broker uses.
const ERROR_ID: &str = "go.micro.broker";
/// How much of a subscriber's answer a publisher reads (answers are empty or an error JSON).
const MAX_ANSWER_SIZE: usize = 64 << 10;

/// Settings of the [`Http`] broker. The defaults are go-micro's.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Where the subscriber server listens, `host:port` (`:port` means every interface);
    /// `127.0.0.1:0` when `None`. On an unspecified host the registry is given the
    /// address of a real interface.
    pub address: Option<String>,
    /// How long a subscriber node stays in the registry without being registered again
    /// (go-micro: one minute).
    pub register_ttl: Duration,
    /// How often subscriber nodes are registered again (go-micro: 30 seconds); keep it well
    /// under `register_ttl`.
    pub register_interval: Duration,
    /// The largest message body (the whole JSON request) the server accepts; larger ones are
    /// answered 413 (default 4 MiB).
    pub max_body_size: usize,
    /// How long a publisher waits for one subscriber to take a message.
    pub publish_timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            address: None,
            register_ttl: Duration::from_secs(60),
            register_interval: Duration::from_secs(30),
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            publish_timeout: Duration::from_secs(30),
        }
    }
}

/// go-micro's HTTP broker: subscribers found through the registry, messages POSTed to them.
///
/// Construction needs no runtime; the subscriber server starts on the first subscribe.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use micro::broker::{handler, Broker, Http, Message};
/// use micro::registry::Memory;
/// use std::sync::Arc;
/// let registry = Arc::new(Memory::new());
/// let broker = Http::new(registry, None);
/// let sub = broker.subscribe("events", handler(|_topic, msg| async move {
///     assert_eq!(msg.body, "hello");
///     Ok(())
/// }), Default::default()).await.unwrap();
/// broker.publish("events", Message::new("hello")).await.unwrap();
/// sub.unsubscribe().await.unwrap();
/// # }
/// ```
#[derive(Clone)]
pub struct Http {
    inner: Arc<Inner>,
}

struct Inner {
    options: HttpOptions,
    registry: Cache,
    subscribers: Subscribers,
    /// Held while subscriber nodes are (re-)registered or removed, so a heartbeat never
    /// brings back a node that was just unsubscribed.
    registering: Arc<Mutex<()>>,
    client: Client<HttpConnector, Full<Bytes>>,
    /// The advertised `host:port` of the subscriber server, once it runs.
    server: OnceCell<String>,
    /// Dropping the broker drops this sender, which stops the server and the heartbeat.
    stop: watch::Sender<()>,
}

/// This broker's subscriptions by node id.
type Subscribers = Arc<RwLock<HashMap<String, Subscriber>>>;

#[derive(Clone)]
struct Subscriber {
    topic: String,
    handler: Handler,
    /// The registry entry of this subscription (one node).
    service: Service,
}

/// What the subscriber server needs to answer a request.
struct Receiver {
    subscribers: Subscribers,
    max_body_size: usize,
}

impl Http {
    /// A broker over `registry`, listening on `address` once something subscribes
    /// (`127.0.0.1:0` when `None`), with go-micro's other defaults.
    pub fn new(registry: Arc<dyn Registry>, address: Option<String>) -> Self {
        Self::with_options(
            registry,
            HttpOptions {
                address,
                ..HttpOptions::default()
            },
        )
    }

    /// A broker over `registry` with the given settings.
    pub fn with_options(registry: Arc<dyn Registry>, options: HttpOptions) -> Self {
        let registry = Cache::with_ttl(registry, options.register_ttl);
        Http {
            inner: Arc::new(Inner {
                client: pooled_client(),
                registry,
                subscribers: Arc::new(RwLock::new(HashMap::new())),
                registering: Arc::new(Mutex::new(())),
                server: OnceCell::new(),
                stop: watch::channel(()).0,
                options,
            }),
        }
    }

    /// The `host:port` subscribers are registered with, once the server runs (after the
    /// first subscribe).
    pub fn address(&self) -> Option<String> {
        self.inner.server.get().cloned()
    }

    /// The advertised address of the subscriber server, starting it on first use.
    async fn start(&self) -> Result<String> {
        let inner = &self.inner;
        let address = inner.server.get_or_try_init(|| inner.listen()).await?;
        Ok(address.clone())
    }
}

impl Inner {
    /// Binds the subscriber server and starts it and the registration heartbeat.
    async fn listen(&self) -> Result<String> {
        let wanted = listen_address(self.options.address.as_deref());
        let listener = TcpListener::bind(&wanted).await.map_err(|err| {
            Error::internal(
                ERROR_ID,
                format!("http broker cannot listen on {wanted}: {err}; give it a free host:port"),
            )
        })?;
        let local = listener.local_addr().map_err(|err| {
            Error::internal(
                ERROR_ID,
                format!("http broker listener has no address: {err}"),
            )
        })?;
        let receiver = Arc::new(Receiver {
            subscribers: self.subscribers.clone(),
            max_body_size: self.options.max_body_size,
        });
        let limits = crate::http::Limits {
            max_body_size: self.options.max_body_size,
            ..Default::default()
        };
        let running = crate::http::serve(listener, router(receiver), limits, None)?;
        let mut stop = self.stop.subscribe();
        tokio::spawn(async move {
            let _ = stop.changed().await;
            running.stop().await;
        });
        tokio::spawn(heartbeat(
            self.registry.clone(),
            self.subscribers.clone(),
            self.registering.clone(),
            self.options.clone(),
            self.stop.subscribe(),
        ));
        let advertised = advertise(local, &interface_ips());
        tracing::debug!(%local, %advertised, "http broker listening");
        Ok(advertised)
    }

    /// Removes a subscription here and its node from the registry.
    async fn unsubscribe(&self, id: &str) -> Result<()> {
        let _guard = self.registering.lock().await;
        let removed = self.subscribers.write().unwrap().remove(id);
        match removed {
            Some(sub) => self.registry.deregister(&sub.service).await,
            None => Ok(()),
        }
    }

    /// Delivers to one node of `nodes`, trying them in order until one takes the message.
    async fn deliver_to_one(
        &self,
        nodes: Vec<&Node>,
        topic: &str,
        message: &Message,
        json: &Bytes,
    ) -> Result<()> {
        let mut last = None;
        for node in nodes {
            match self.send(node, topic, message, json).await {
                Sent::Delivered => return Ok(()),
                Sent::Unreached(err) => {
                    tracing::warn!(topic, node = %node.id, address = %node.address, %err, "broker node unreachable");
                    last = Some(err);
                }
                Sent::Lost(err) => return Err(err),
            }
        }
        Err(last.unwrap_or_else(|| Error::internal(ERROR_ID, format!("no node for topic {topic}"))))
    }

    /// Sends the message to one node: directly when it is one of our own subscriptions,
    /// else by POSTing go-micro's JSON to it.
    async fn send(&self, node: &Node, topic: &str, message: &Message, json: &Bytes) -> Sent {
        let local = self.subscribers.read().unwrap().get(&node.id).cloned();
        if let Some(sub) = local {
            if sub.topic != topic {
                return Sent::Unreached(unknown_subscription(&node.id, topic));
            }
            if let Err(err) = run(sub.handler, topic.to_string(), message.clone(), ERROR_ID).await {
                tracing::warn!(topic, %err, "subscriber failed");
            }
            return Sent::Delivered;
        }
        if node.metadata.get("secure").is_some_and(|s| s == "true") {
            return Sent::Unreached(Error::internal(
                ERROR_ID,
                format!(
                    "broker node {} wants https, which this broker does not speak",
                    node.id
                ),
            ));
        }
        self.post(node, topic, json.clone()).await
    }

    /// POSTs the encoded message to a remote node and reads what it answered, all within
    /// the publish timeout.
    async fn post(&self, node: &Node, topic: &str, json: Bytes) -> Sent {
        let request = match post_request(node, json) {
            Ok(request) => request,
            Err(err) => return Sent::Unreached(err),
        };
        let timeout = self.options.publish_timeout;
        let exchange = async {
            let response = self.client.request(request).await?;
            let status = response.status();
            Ok::<_, hyper_util::client::legacy::Error>((
                status,
                read_answer(response.into_body()).await,
            ))
        };
        let peer = format!("broker node {} at {}", node.id, node.address);
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok((status, answer))) => judge(status, answer, &peer, topic),
            Ok(Err(err)) if err.is_connect() => Sent::Unreached(Error::new(
                ERROR_ID,
                format!("cannot connect to {peer}: {}", causes(&err)),
                503,
            )),
            Ok(Err(err)) => Sent::Lost(Error::internal(
                ERROR_ID,
                format!(
                    "sending to {peer} failed, the message may be lost: {}",
                    causes(&err)
                ),
            )),
            Err(_) => Sent::Lost(Error::timeout(
                ERROR_ID,
                format!("{peer} took longer than {timeout:?} to take a message on {topic}"),
            )),
        }
    }
}

/// An error and its causes, joined with `: `.
fn causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// How one delivery attempt ended.
enum Sent {
    /// The subscriber took the message (its handler may still have failed; that is logged).
    Delivered,
    /// The message surely did not arrive: another queue member may take it.
    Unreached(Error),
    /// The message may or may not have arrived: not retried.
    Lost(Error),
}

/// Turns a subscriber's HTTP answer into the outcome of the delivery.
fn judge(status: StatusCode, answer: String, peer: &str, topic: &str) -> Sent {
    if status.is_success() {
        return Sent::Delivered;
    }
    let detail = format!("{peer} answered {status}: {answer}");
    if status == StatusCode::NOT_FOUND {
        return Sent::Unreached(Error::not_found(ERROR_ID, detail));
    }
    if status.is_server_error() {
        // The subscriber had the message and its handler failed: as with the memory broker,
        // that is the subscriber's to deal with.
        tracing::warn!(topic, %detail, "subscriber failed");
        return Sent::Delivered;
    }
    Sent::Lost(Error::new(ERROR_ID, detail, i32::from(status.as_u16())))
}

/// The POST go-micro sends: `http://<address>/?id=<node id>`, JSON body.
fn post_request(node: &Node, json: Bytes) -> Result<Request<Full<Bytes>>> {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("id", &node.id)
        .finish();
    let uri = format!("http://{}{PATH}?{query}", node.address);
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(json))
        .map_err(|err| {
            Error::internal(
                ERROR_ID,
                format!(
                    "broker node {} has an unusable address {:?}: {err}",
                    node.id, node.address
                ),
            )
        })
}

/// Reads at most [`MAX_ANSWER_SIZE`] of a subscriber's answer, for logs and errors.
async fn read_answer(body: Incoming) -> String {
    match Limited::new(body, MAX_ANSWER_SIZE).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes())
            .trim()
            .to_string(),
        Err(err) => format!("(unreadable answer: {err})"),
    }
}

/// The publisher's connection pool: keep-alive connections reused per subscriber address.
fn pooled_client() -> Client<HttpConnector, Full<Bytes>> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .build(connector)
}

#[async_trait]
impl Broker for Http {
    async fn publish(&self, topic: &str, mut message: Message) -> Result<()> {
        check_topic(topic)?;
        let services = match self.inner.registry.lookup(SERVICE_NAME).await {
            Ok(services) => services,
            // No HTTP broker subscriber anywhere: nobody to tell.
            Err(err) if err.kind == Kind::NotFound => return Ok(()),
            Err(err) => return Err(err),
        };
        let groups = recipients(&services, topic);
        if groups.is_empty() {
            return Ok(());
        }
        message
            .header
            .insert(TOPIC_HEADER.to_string(), topic.to_string());
        let json = super::json::encode(&message);
        let sends = groups
            .into_iter()
            .map(|nodes| self.inner.deliver_to_one(nodes, topic, &message, &json));
        let results = futures::future::join_all(sends).await;
        if results.iter().any(Result::is_ok) {
            return Ok(());
        }
        let last = results.into_iter().filter_map(Result::err).next_back();
        Err(last.map_or_else(
            || {
                Error::internal(
                    ERROR_ID,
                    format!("no subscriber of {topic} took the message"),
                )
            },
            |err| {
                Error::new(
                    ERROR_ID,
                    format!(
                        "no subscriber of {topic} could take the message; last: {}",
                        err.detail
                    ),
                    err.code,
                )
            },
        ))
    }

    async fn subscribe(
        &self,
        topic: &str,
        handler: Handler,
        options: SubscribeOptions,
    ) -> Result<Subscription> {
        check_topic(topic)?;
        let address = self.start().await?;
        let queue = options.queue.filter(|q| !q.is_empty());
        let id = format!("{topic}-{}", uuid::Uuid::new_v4());
        let service = subscriber_service(topic, &id, &address, queue.as_deref());
        let inner = &self.inner;
        {
            let _guard = inner.registering.lock().await;
            // Known locally before the registry shows it, so no publisher finds it missing.
            inner.subscribers.write().unwrap().insert(
                id.clone(),
                Subscriber {
                    topic: topic.to_string(),
                    handler,
                    service: service.clone(),
                },
            );
            if let Err(err) = inner
                .registry
                .register(&service, Some(inner.options.register_ttl))
                .await
            {
                inner.subscribers.write().unwrap().remove(&id);
                return Err(err);
            }
        }
        let owner = self.inner.clone();
        Ok(Subscription::new(topic, queue, async move {
            owner.unsubscribe(&id).await
        }))
    }

    fn name(&self) -> &'static str {
        "http"
    }
}

/// The registry entry of one subscription, as go-micro writes it.
fn subscriber_service(topic: &str, id: &str, address: &str, queue: Option<&str>) -> Service {
    let metadata = HashMap::from([
        ("broker".to_string(), "http".to_string()),
        ("topic".to_string(), topic.to_string()),
        ("secure".to_string(), "false".to_string()),
    ]);
    Service {
        name: SERVICE_NAME.to_string(),
        version: queue.unwrap_or(BROADCAST_VERSION).to_string(),
        nodes: vec![Node {
            id: id.to_string(),
            address: address.to_string(),
            metadata,
        }],
        ..Service::default()
    }
}

/// Who gets a message on `topic`, as groups of which exactly one node must take it: each
/// broadcast node alone, and the members of each queue in random order.
fn recipients<'a>(services: &'a [Service], topic: &str) -> Vec<Vec<&'a Node>> {
    let mut rng = rand::rng();
    let mut groups = Vec::new();
    for service in services {
        let mut nodes: Vec<&Node> = service
            .nodes
            .iter()
            .filter(|n| n.metadata.get("broker").is_some_and(|b| b == "http"))
            .filter(|n| n.metadata.get("topic").is_some_and(|t| t == topic))
            .collect();
        if nodes.is_empty() {
            continue;
        }
        if service.version == BROADCAST_VERSION {
            groups.extend(nodes.into_iter().map(|n| vec![n]));
        } else {
            nodes.shuffle(&mut rng);
            groups.push(nodes);
        }
    }
    groups
}

fn check_topic(topic: &str) -> Result<()> {
    if topic.is_empty() {
        return Err(Error::bad_request(
            ERROR_ID,
            "the topic is empty; name the topic to use",
        ));
    }
    Ok(())
}

/// Reads a received body into its topic and message.
fn decode(json: &[u8]) -> Result<(String, Message)> {
    let message = super::json::decode(json).map_err(|why| Error::bad_request(ERROR_ID, why))?;
    let topic = message
        .header
        .get(TOPIC_HEADER)
        .cloned()
        .unwrap_or_default();
    if topic.is_empty() {
        return Err(Error::bad_request(
            ERROR_ID,
            format!("the message has no {TOPIC_HEADER} header; say which topic it is for"),
        ));
    }
    Ok((topic, message))
}

fn unknown_subscription(id: &str, topic: &str) -> Error {
    Error::not_found(
        ERROR_ID,
        format!("no subscription {id:?} for topic {topic:?} here; it may have unsubscribed"),
    )
}

/// The receiving server's routes: go-micro publishes to `POST /?id=<node id>` only.
fn router(receiver: Arc<Receiver>) -> Router {
    Router::new()
        .route(PATH, any(receive))
        .fallback(|request: Request| async move {
            let err = Error::not_found(
                ERROR_ID,
                format!(
                    "no such path {:?}; the http broker takes POST {PATH}?id=<node id>",
                    request.uri().path()
                ),
            );
            reply_error(StatusCode::NOT_FOUND, &err)
        })
        .with_state(receiver)
}

/// Answers one POST: 200 and an empty body once the handler has taken the message; else the
/// error JSON with 400 (bad message), 404 (unknown path or subscription), 405 (not a POST),
/// 413 (too large) or 500 (the handler failed).
async fn receive(
    State(receiver): State<Arc<Receiver>>,
    request: Request,
) -> axum::response::Response {
    let (handler, topic, message) = match accept(&receiver, request).await {
        Ok(accepted) => accepted,
        Err(err) => {
            return reply_error(
                StatusCode::from_u16(err.code as u16).unwrap_or(StatusCode::BAD_REQUEST),
                &err,
            );
        }
    };
    match run(handler, topic.clone(), message, ERROR_ID).await {
        Ok(()) => axum::response::Response::default(),
        Err(err) => {
            tracing::warn!(topic, %err, "subscriber failed");
            reply_error(StatusCode::INTERNAL_SERVER_ERROR, &err)
        }
    }
}

/// Checks a request and finds the subscription it is for.
async fn accept(receiver: &Receiver, request: Request) -> Result<(Handler, String, Message)> {
    if request.method() != Method::POST {
        return Err(Error::new(
            ERROR_ID,
            format!(
                "method {} not allowed; the http broker takes POST {PATH}?id=<node id>",
                request.method()
            ),
            405,
        ));
    }
    let id = query_id(request.uri().query().unwrap_or(""))?;
    let json = crate::http::read_body(request.into_body(), receiver.max_body_size)
        .await
        .map_err(|failure| failure.into_error(ERROR_ID))?;
    let (topic, message) = decode(&json)?;
    let found = receiver.subscribers.read().unwrap().get(&id).cloned();
    match found {
        Some(sub) if sub.topic == topic => Ok((sub.handler, topic, message)),
        _ => Err(unknown_subscription(&id, &topic)),
    }
}

/// The `id` query parameter: the node id of the subscription addressed.
fn query_id(query: &str) -> Result<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "id")
        .map(|(_, value)| value.into_owned())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            Error::bad_request(
                ERROR_ID,
                format!("the request has no id; the http broker takes POST {PATH}?id=<node id>"),
            )
        })
}

/// go-micro's error JSON with `status`.
fn reply_error(status: StatusCode, err: &Error) -> axum::response::Response {
    crate::http::json(status, err.to_json())
}

/// Registers every subscription again each interval, until the broker is dropped.
async fn heartbeat(
    registry: Cache,
    subscribers: Subscribers,
    registering: Arc<Mutex<()>>,
    options: HttpOptions,
    mut stop: watch::Receiver<()>,
) {
    let start = tokio::time::Instant::now() + options.register_interval;
    let mut tick = tokio::time::interval_at(start, options.register_interval);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        let _guard = registering.lock().await;
        let services: Vec<Service> = subscribers
            .read()
            .unwrap()
            .values()
            .map(|s| s.service.clone())
            .collect();
        for service in services {
            if let Err(err) = registry
                .register(&service, Some(options.register_ttl))
                .await
            {
                tracing::warn!(%err, node = %service.nodes[0].id, "http broker cannot re-register a subscriber");
            }
        }
    }
}

/// The address to bind: the configured one (Go's `:port` meaning every interface), else
/// `127.0.0.1:0`.
fn listen_address(configured: Option<&str>) -> String {
    match configured.filter(|a| !a.is_empty()) {
        None => DEFAULT_ADDRESS.to_string(),
        Some(a) if a.starts_with(':') => format!("0.0.0.0{a}"),
        Some(a) => a.to_string(),
    }
}

/// The address others should use: the bound one, or, when bound to every interface, the
/// port on a real interface address.
fn advertise(local: SocketAddr, interfaces: &[IpAddr]) -> String {
    if !local.ip().is_unspecified() {
        return local.to_string();
    }
    let ip = pick_ip(interfaces, local.is_ipv4()).unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    SocketAddr::new(ip, local.port()).to_string()
}

/// Like go-micro: a private address first, then any other routable one, then loopback.
/// Link-local IPv6 addresses are skipped (they need a zone to be dialled).
fn pick_ip(ips: &[IpAddr], ipv4_only: bool) -> Option<IpAddr> {
    let usable = |ip: &&IpAddr| match ip {
        IpAddr::V4(v4) => !v4.is_unspecified() && !v4.is_link_local(),
        IpAddr::V6(v6) => {
            !ipv4_only && !v6.is_unspecified() && (v6.segments()[0] & 0xffc0) != 0xfe80
        }
    };
    let private = |ip: &&IpAddr| matches!(ip, IpAddr::V4(v4) if v4.is_private());
    let candidates: Vec<&IpAddr> = ips.iter().filter(usable).collect();
    candidates
        .iter()
        .find(|ip| private(ip))
        .or_else(|| candidates.iter().find(|ip| !ip.is_loopback()))
        .or_else(|| candidates.iter().find(|ip| ip.is_loopback()))
        .map(|ip| **ip)
}

/// The addresses of this machine's interfaces (empty if they cannot be read).
fn interface_ips() -> Vec<IpAddr> {
    match if_addrs::get_if_addrs() {
        Ok(interfaces) => interfaces.iter().map(|i| i.ip()).collect(),
        Err(err) => {
            tracing::warn!(%err, "cannot list network interfaces; advertising loopback");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_messages_without_topic() {
        assert_eq!(
            decode(br#"{"Header":null,"Body":"aGk="}"#)
                .unwrap_err()
                .code,
            400
        );
        assert_eq!(decode(b"null").unwrap_err().code, 400);
    }

    #[test]
    fn reads_percent_encoded_ids() {
        assert_eq!(query_id("id=a%2Fb-1&x=y").unwrap(), "a/b-1");
        assert_eq!(query_id("x=y").unwrap_err().code, 400);
        assert_eq!(query_id("id=").unwrap_err().code, 400);
    }

    #[test]
    fn advertises_a_private_interface_when_bound_to_all() {
        let ips: Vec<IpAddr> = ["127.0.0.1", "fe80::1", "8.8.4.4", "192.168.1.7"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let all: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(advertise(all, &ips), "192.168.1.7:8080");
        assert_eq!(advertise(all, &ips[..3]), "8.8.4.4:8080");
        assert_eq!(advertise(all, &ips[..2]), "127.0.0.1:8080");
        assert_eq!(advertise(all, &[]), "127.0.0.1:8080");
        let bound: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        assert_eq!(advertise(bound, &ips), "127.0.0.1:9000");
    }

    #[test]
    fn go_style_port_only_address_listens_everywhere() {
        assert_eq!(listen_address(Some(":8001")), "0.0.0.0:8001");
        assert_eq!(listen_address(None), DEFAULT_ADDRESS);
        assert_eq!(listen_address(Some("")), DEFAULT_ADDRESS);
        assert_eq!(listen_address(Some("[::1]:0")), "[::1]:0");
    }
}
