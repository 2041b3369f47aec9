//! go-micro's RabbitMQ broker, laid out on the server as go-micro v5 lays it out, so Rust and
//! Go publishers and subscribers on one RabbitMQ mix freely:
//!
//! - every message goes to one exchange, `micro` by default: a topic exchange, not durable,
//!   declared by every broker when it connects; the routing key is the topic;
//! - each subscription declares a queue (not durable, deleted with its last consumer, not
//!   exclusive) bound to the exchange with the topic as binding key, and consumes it on a
//!   channel of its own. Without a queue name the server names the queue, so every plain
//!   subscription gets every message; subscriptions naming the same queue share it, and the
//!   server hands each message to one of them;
//! - a message's headers are the AMQP message's headers (long strings), its body the AMQP
//!   body; a subscriber is handed the routing key as topic, and a `Micro-Topic` header set to
//!   it when the publisher gave none;
//! - messages are acknowledged as they are delivered (go-micro's auto-ack), so a failing
//!   handler's message is gone; with [`RabbitmqOptions::requeue_on_error`] a message is
//!   acknowledged after its handler succeeds and given back to the queue when it fails
//!   (go-micro's `AckOnSuccess` with `RequeueOnError`).
//!
//! One connection per broker, made on first use and made again after it breaks
//! ([`crate::reconnect`]); a subscription whose connection broke subscribes again by itself,
//! after pauses that double up to five seconds, until it is unsubscribed. Publishing waits for
//! the server to confirm the message (go-micro does not wait), so `Ok` means RabbitMQ has it.
//!
//! TLS with an `amqps://` URL, the server's certificate checked against the system's roots and,
//! with `?cacertfile=/path/ca.pem` (as RabbitMQ's URI spec names it), the CA certificates of
//! that file besides.

use super::{Broker, Handler, Message, SubscribeOptions, Subscription, run};
use crate::backend::{Server, option};
use crate::errors::{Error, Result};
use crate::reconnect::Reconnecting;
use crate::retry::{FIRST_PAUSE, next_pause};
use crate::tls;
use async_trait::async_trait;
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::tcp::OwnedTLSConfig;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::uri::{AMQPScheme, AMQPUri};
use lapin::{
    BasicProperties, Channel, Confirmation, Connect, Connection, ConnectionProperties, Consumer,
    ErrorKind, ExchangeKind,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

const RABBITMQ: Server = Server {
    id: "micro.broker.rabbitmq",
    component: "broker",
    name: "rabbitmq",
    example: "amqp://user:password@host:5672/vhost",
};
/// Where the broker connects when given no address (go-micro's default).
pub const DEFAULT_ADDRESS: &str = "amqp://guest:guest@127.0.0.1:5672";
/// The exchange go-micro publishes to by default.
const DEFAULT_EXCHANGE: &str = "micro";
/// The header naming the topic, which subscribers are given when the publisher set none.
const TOPIC_HEADER: &str = "Micro-Topic";
/// The heartbeat asked of the server, in seconds, unless the address sets one (go-micro's).
const HEARTBEAT: u16 = 10;
/// How long connecting may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of the [`Rabbitmq`] broker. The defaults are go-micro's.
#[derive(Debug, Clone)]
pub struct RabbitmqOptions {
    /// The server's URL, `amqp://user:password@host:5672/vhost` (vhost `/` when left out), or
    /// `amqps://` for TLS, with `?cacertfile=/path/ca.pem` to trust a private CA;
    /// [`DEFAULT_ADDRESS`] when `None`. The password is never printed.
    pub address: Option<String>,
    /// The topic exchange messages go through (go-micro: `micro`).
    pub exchange: String,
    /// Acknowledge a message only once its handler succeeded, and give it back to its queue
    /// when the handler fails, to be delivered again (go-micro's `AckOnSuccess` and
    /// `RequeueOnError`). Off (go-micro's default): messages are acknowledged on delivery.
    pub requeue_on_error: bool,
}

impl Default for RabbitmqOptions {
    fn default() -> Self {
        RabbitmqOptions {
            address: None,
            exchange: DEFAULT_EXCHANGE.to_string(),
            requeue_on_error: false,
        }
    }
}

/// go-micro's RabbitMQ broker: topics as routing keys on one topic exchange.
///
/// Construction checks the address and needs no runtime; the connection is made on first use.
///
/// ```
/// use micro::broker::{Broker, Rabbitmq, RabbitmqOptions};
/// let broker = Rabbitmq::new(RabbitmqOptions {
///     address: Some("amqp://app:secret@rabbit.internal:5672/shop".into()),
///     ..Default::default()
/// })
/// .unwrap();
/// assert_eq!(broker.name(), "rabbitmq");
/// assert_eq!(broker.address(), "rabbit.internal:5672/shop");
/// ```
#[derive(Clone)]
pub struct Rabbitmq {
    inner: Arc<Inner>,
}

struct Inner {
    uri: AMQPUri,
    /// The CA certificates of `?cacertfile=`, trusted besides the system's roots.
    tls: OwnedTLSConfig,
    /// Where the server is, for messages: host, port and virtual host, no credentials.
    place: String,
    exchange: ShortString,
    requeue_on_error: bool,
    link: Reconnecting<Link>,
}

/// The broker's connection and the channel it publishes on.
#[derive(Clone)]
struct Link {
    connection: Arc<Connection>,
    publisher: Channel,
}

/// What a subscription consumes, kept to subscribe again after the connection broke.
struct Spec {
    topic: ShortString,
    queue: Option<ShortString>,
    handler: Handler,
}

impl Rabbitmq {
    /// A broker on the server at `options.address`; connects on first use.
    pub fn new(options: RabbitmqOptions) -> Result<Rabbitmq> {
        let address = options.address.as_deref().unwrap_or(DEFAULT_ADDRESS);
        // The parser's error may quote the whole address, password and all.
        let mut uri: AMQPUri = address
            .parse()
            .map_err(|e: String| RABBITMQ.bad_url(e.replace(address, "the address")))?;
        // lapin reads no cacertfile: it is read here, and handed to lapin's TLS.
        let cacertfile = option(Some(address), "cacertfile");
        if cacertfile.is_some() && uri.scheme != AMQPScheme::AMQPS {
            return Err(RABBITMQ.bad_url("cacertfile is for TLS: use amqps://"));
        }
        let ca = cacertfile
            .map(|path| tls::read_ca(&RABBITMQ, "cacertfile", path))
            .transpose()?;
        let tls = OwnedTLSConfig {
            identity: None,
            cert_chain: ca.map(|pem| String::from_utf8_lossy(&pem).into_owned()),
        };
        // `amqp://host:5672/` names the default virtual host `/` for go-micro's AMQP client,
        // while lapin would read an empty one.
        if uri.vhost.is_empty() {
            uri.vhost = "/".into();
        }
        uri.query.heartbeat.get_or_insert(HEARTBEAT);
        let vhost = uri.vhost.trim_start_matches('/');
        let place = format!("{}:{}/{vhost}", uri.authority.host, uri.authority.port);
        Ok(Rabbitmq {
            inner: Arc::new(Inner {
                exchange: named("exchange", &options.exchange)?,
                requeue_on_error: options.requeue_on_error,
                uri,
                tls,
                place,
                link: Reconnecting::new(),
            }),
        })
    }

    /// Where the server is: `host:port/vhost`, without credentials.
    pub fn address(&self) -> &str {
        &self.inner.place
    }
}

impl Inner {
    /// The live connection, made anew when it broke (after a pause when the last try failed).
    async fn link(&self) -> Result<Link> {
        let healthy = |link: &Link| {
            link.connection.status().connected() && link.publisher.status().connected()
        };
        self.link.get(healthy, || self.connect()).await
    }

    /// Connects, opens the publishing channel and declares the exchange.
    async fn connect(&self) -> Result<Link> {
        let properties = ConnectionProperties::default().with_connection_name("libmicro".into());
        let runtime = lapin::runtime::default_runtime().map_err(|e| self.failed("start", e))?;
        let connect = self
            .uri
            .clone()
            .connect_with_config(properties, self.tls.clone(), runtime);
        let connection = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| {
                let why = format!("no answer within {} s", CONNECT_TIMEOUT.as_secs());
                RABBITMQ.unreachable(&self.place, why)
            })?
            .map_err(|err| {
                let why = tls::explain(&err, "cacertfile").unwrap_or_else(|| err.to_string());
                RABBITMQ.unreachable(&self.place, why)
            })?;
        let publisher = connection
            .create_channel()
            .await
            .map_err(|e| self.failed("open a channel", e))?;
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| self.failed("turn on publisher confirms", e))?;
        publisher
            .exchange_declare(
                self.exchange.clone(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| self.failed(&format!("declare the exchange {}", self.exchange), e))?;
        tracing::debug!(server = %self.place, "rabbitmq broker connected");
        Ok(Link {
            connection: Arc::new(connection),
            publisher,
        })
    }

    /// The error for a request that could not `what`: a 503 when the connection or channel is
    /// what broke, else a 500 with the server's reason.
    fn failed(&self, what: &str, err: lapin::Error) -> Error {
        let broke = !matches!(err.kind(), ErrorKind::ProtocolError(_));
        RABBITMQ.failed(&self.place, what, broke, err)
    }

    /// Declares and binds the subscription's queue and starts consuming it, on a channel of
    /// its own.
    async fn consume(&self, spec: &Spec) -> Result<(Channel, Consumer)> {
        let link = self.link().await?;
        let channel = link
            .connection
            .create_channel()
            .await
            .map_err(|e| self.failed("open a channel", e))?;
        let shared = QueueDeclareOptions {
            auto_delete: true,
            ..Default::default()
        };
        let name = spec.queue.clone().unwrap_or_default();
        let queue = channel
            .queue_declare(name, shared, FieldTable::default())
            .await
            .map_err(|e| self.failed("declare the subscription's queue", e))?;
        let queue = queue.name().clone();
        channel
            .queue_bind(
                queue.clone(),
                self.exchange.clone(),
                spec.topic.clone(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| self.failed(&format!("bind {queue} to {}", spec.topic), e))?;
        let options = BasicConsumeOptions {
            no_ack: !self.requeue_on_error,
            ..Default::default()
        };
        let consumer = channel
            .basic_consume(queue.clone(), "".into(), options, FieldTable::default())
            .await
            .map_err(|e| self.failed(&format!("consume {queue}"), e))?;
        Ok((channel, consumer))
    }

    /// Delivers the subscription's messages, subscribing again whenever its consumer ends
    /// (the connection broke, or the queue went away), until `stop` fires or its sender is
    /// dropped; then closes the channel, which ends the consumer on the server.
    async fn serve(
        self: Arc<Self>,
        spec: Spec,
        (mut channel, mut consumer): (Channel, Consumer),
        mut stop: oneshot::Receiver<()>,
    ) {
        loop {
            if self.deliver(&spec, &mut consumer, &mut stop).await {
                let _ = channel.close(200, "OK".into()).await;
                return;
            }
            tracing::warn!(topic = %spec.topic, server = %self.place, "rabbitmq subscription interrupted; subscribing again");
            let mut pause = FIRST_PAUSE;
            (channel, consumer) = loop {
                let again = tokio::select! {
                    _ = &mut stop => return,
                    again = self.consume(&spec) => again,
                };
                match again {
                    Ok(consuming) => break consuming,
                    Err(err) => {
                        let wait = pause;
                        pause = next_pause(pause);
                        tracing::debug!(topic = %spec.topic, %err, ?wait, "rabbitmq subscription not back yet");
                        tokio::select! {
                            _ = &mut stop => return,
                            () = tokio::time::sleep(wait) => {}
                        }
                    }
                }
            };
            tracing::info!(topic = %spec.topic, server = %self.place, "rabbitmq subscription resumed");
        }
    }

    /// Hands `consumer`'s messages to the handler one at a time: `true` once the subscription
    /// is to stop, `false` when the consumer ended first.
    async fn deliver(
        &self,
        spec: &Spec,
        consumer: &mut Consumer,
        stop: &mut oneshot::Receiver<()>,
    ) -> bool {
        loop {
            let next = tokio::select! {
                _ = &mut *stop => return true,
                next = consumer.next() => next,
            };
            match next {
                Some(Ok(delivery)) => self.handle(spec, delivery).await,
                Some(Err(err)) => {
                    tracing::debug!(topic = %spec.topic, %err, "rabbitmq consumer failed");
                    return false;
                }
                None => return false,
            }
        }
    }

    /// Runs the handler on one delivery, and acknowledges it or gives it back when the
    /// subscription acknowledges after handling.
    async fn handle(&self, spec: &Spec, delivery: Delivery) {
        let topic = delivery.routing_key.to_string();
        let mut header: HashMap<String, String> = delivery
            .properties
            .headers()
            .iter()
            .flat_map(|table| table.inner())
            .map(|(key, value)| (key.to_string(), header_text(value)))
            .collect();
        let named = header.entry(TOPIC_HEADER.to_string()).or_default();
        if named.is_empty() {
            named.clone_from(&topic);
        }
        let message = Message {
            header,
            body: delivery.data.into(),
        };
        let result = run(spec.handler.clone(), topic.clone(), message, RABBITMQ.id).await;
        if let Err(err) = &result {
            tracing::warn!(topic, %err, "subscriber failed");
        }
        if !self.requeue_on_error {
            return;
        }
        let settled = match result {
            Ok(()) => delivery.acker.ack(BasicAckOptions::default()).await,
            Err(_) => {
                let again = BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                };
                delivery.acker.nack(again).await
            }
        };
        if let Err(err) = settled {
            tracing::debug!(topic, %err, "rabbitmq could not settle a message; it comes again");
        }
    }
}

#[async_trait]
impl Broker for Rabbitmq {
    async fn publish(&self, topic: &str, message: Message) -> Result<()> {
        let inner = &self.inner;
        let routing_key = named("topic", topic)?;
        let headers = message
            .header
            .iter()
            .map(|(key, value)| {
                let value = AMQPValue::LongString(LongString::from(value.as_bytes()));
                Ok((short("header name", key)?, value))
            })
            .collect::<Result<BTreeMap<_, _>>>()?;
        let link = inner.link().await?;
        let what = format!("publish to {topic}");
        let confirmation = link
            .publisher
            .basic_publish(
                inner.exchange.clone(),
                routing_key,
                BasicPublishOptions::default(),
                &message.body,
                BasicProperties::default().with_headers(FieldTable::from(headers)),
            )
            .await
            .map_err(|e| inner.failed(&what, e))?
            .await
            .map_err(|e| inner.failed(&what, e))?;
        match confirmation {
            Confirmation::Nack(_) => {
                Err(RABBITMQ.failed(&inner.place, &what, false, "the server refused the message"))
            }
            _ => Ok(()),
        }
    }

    async fn subscribe(
        &self,
        topic: &str,
        handler: Handler,
        options: SubscribeOptions,
    ) -> Result<Subscription> {
        let spec = Spec {
            topic: named("topic", topic)?,
            queue: options
                .queue
                .as_deref()
                .map(|q| named("queue", q))
                .transpose()?,
            handler,
        };
        // The first consumer before returning: messages published once this returns arrive,
        // and a server that cannot be reached is said here.
        let consuming = self.inner.consume(&spec).await?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(self.inner.clone().serve(spec, consuming, stopped));
        Ok(Subscription::new(topic, options.queue, async move {
            let _ = stop.send(());
            let _ = task.await;
            Ok(())
        }))
    }

    fn name(&self) -> &'static str {
        "rabbitmq"
    }
}

/// `value` as an AMQP short string (at most 255 bytes), the `what` of a message.
fn short(what: &str, value: &str) -> Result<ShortString> {
    ShortString::try_new(value).map_err(|err| {
        Error::bad_request(
            RABBITMQ.id,
            format!("the {what} {value:.40}... is too long for RabbitMQ: {err}"),
        )
    })
}

/// A topic, queue or exchange name: a short string that is not empty.
fn named(what: &str, value: &str) -> Result<ShortString> {
    if value.is_empty() {
        return Err(Error::bad_request(
            RABBITMQ.id,
            format!("the {what} name is empty; give it a name"),
        ));
    }
    short(&format!("{what} name"), value)
}

/// A header value as text, as go-micro prints it (`%v`): strings as they are, numbers and
/// booleans spelled out, anything else debug-printed.
fn header_text(value: &AMQPValue) -> String {
    match value {
        AMQPValue::LongString(s) => s.to_string(),
        AMQPValue::ShortString(s) => s.to_string(),
        AMQPValue::ByteArray(b) => String::from_utf8_lossy(b.as_slice()).into_owned(),
        AMQPValue::Boolean(b) => b.to_string(),
        AMQPValue::ShortShortInt(n) => n.to_string(),
        AMQPValue::ShortShortUInt(n) => n.to_string(),
        AMQPValue::ShortInt(n) => n.to_string(),
        AMQPValue::ShortUInt(n) => n.to_string(),
        AMQPValue::LongInt(n) => n.to_string(),
        AMQPValue::LongUInt(n) => n.to_string(),
        AMQPValue::LongLongInt(n) => n.to_string(),
        AMQPValue::Timestamp(n) => n.to_string(),
        AMQPValue::Float(n) => n.to_string(),
        AMQPValue::Double(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}
