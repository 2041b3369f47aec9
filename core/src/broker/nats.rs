//! A broker on NATS, in two modes chosen by the address.
//!
//! **Core NATS** (the default), as go-micro's NATS broker: a message goes out on the topic's
//! subject as go-micro's JSON broker message, a queue is a NATS queue group, and delivery is at
//! most once. go-micro services on the same NATS publish and subscribe with us unchanged.
//!
//! **JetStream** (`nats://host:4222?jetstream=true`): delivery at least once. Each topic has a
//! stream of its own capturing its subject (named after the topic, as go-micro's JetStream
//! packages name streams, see [`crate::nats::jetstream_name`]), kept while a consumer still
//! needs a message (interest retention). Publishing waits for the server to have stored the
//! message. A subscription with a queue is the durable consumer of that name: its members share
//! the messages, and what none of them acknowledged survives their crash and is delivered
//! again. Without a queue, a subscription gets the messages published from now on. A message
//! is acknowledged only after the handler returned `Ok`; a failing handler gets it again after
//! a short pause, and after `max_deliver` attempts (default 5) it goes to the topic
//! `dead-letter.<topic>` with the headers `Micro-Error` and `Micro-Attempts` added. One that no
//! handler answered within `ack_wait` (default 30s: the process died) is delivered again.
//! Core NATS publishers' messages on a stream's subject are stored too, so a go-micro service
//! publishing with its NATS broker feeds our durable subscribers.

use super::{Broker, Handler, Message, SubscribeOptions, Subscription, json, run};
use crate::errors::{Error, Result};
use crate::nats::{Link, jetstream_name};
use crate::retry::{FIRST_PAUSE, next_pause};
use async_nats::jetstream::consumer::pull::MessagesErrorKind;
use async_nats::jetstream::{self, AckKind, consumer, stream};
use async_trait::async_trait;
use futures::StreamExt;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

const ID: &str = "micro.broker.nats";
/// How many times JetStream delivers a message to failing handlers before its dead letter.
pub const DEFAULT_MAX_DELIVER: i64 = 5;
/// How long JetStream waits for a handler before it delivers the message again.
pub const DEFAULT_ACK_WAIT: Duration = Duration::from_secs(30);
/// The prefix of the topic a message goes to when its handlers kept failing: a prefix, so that
/// a subscription to `orders.>` never receives the dead letters of its own messages.
pub const DEAD_LETTER: &str = "dead-letter.";
/// How long a JetStream subscription without a queue lingers on the server once gone.
const EPHEMERAL_LINGER: Duration = Duration::from_secs(30);

/// The NATS broker.
pub struct Nats {
    inner: Arc<Inner>,
}

struct Inner {
    link: Link,
    jetstream: Option<JetStreamOptions>,
    /// The topics whose stream is known to exist.
    streams: tokio::sync::Mutex<HashSet<String>>,
}

#[derive(Clone, Copy)]
struct JetStreamOptions {
    max_deliver: i64,
    ack_wait: Duration,
}

impl Nats {
    /// A broker on the NATS servers at `address` (comma-separated
    /// `[nats://][user:password@]host[:port]`, default `nats://127.0.0.1:4222`), with the
    /// options `jetstream=true`, `max_deliver=5` and `ack_wait=30s` after a `?` besides the TLS
    /// ones every NATS address takes ([`crate::nats`]); connects on first use.
    pub fn new(address: Option<&str>) -> Result<Nats> {
        let jetstream = if crate::nats::flag(ID, address, "jetstream")? {
            Some(JetStreamOptions {
                max_deliver: match crate::backend::option(address, "max_deliver") {
                    None => DEFAULT_MAX_DELIVER,
                    Some(text) => text.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        Error::bad_request(
                            ID,
                            format!("NATS option max_deliver={text:?} is not a count above 0"),
                        )
                    })?,
                },
                ack_wait: crate::nats::duration(ID, address, "ack_wait", DEFAULT_ACK_WAIT)?,
            })
        } else {
            None
        };
        Ok(Nats {
            inner: Arc::new(Inner {
                link: Link::new(ID, "broker", address)?,
                jetstream,
                streams: tokio::sync::Mutex::default(),
            }),
        })
    }
}

impl Drop for Inner {
    /// Sends what publishers queued before the broker went away (the connection closes when
    /// its last handle is dropped, and would drop what it had not written yet).
    fn drop(&mut self) {
        if let (Some(client), Ok(runtime)) =
            (self.link.connected(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(async move {
                let _ = client.flush().await;
            });
        }
    }
}

impl Inner {
    async fn publish(&self, topic: &str, message: &Message) -> Result<()> {
        check_topic(topic, true)?;
        let client = self.link.client().await?;
        if self.jetstream.is_none() {
            // Queued on the connection, which writes it at once unless more are coming (then
            // together, as go-micro's client does); what is still queued when the broker is
            // dropped is flushed then. A flush per message would cost a third of the rate.
            return client
                .publish(topic.to_string(), json::encode(message))
                .await
                .map_err(|e| self.link.unavailable(e));
        }
        let context = jetstream::new(client);
        if !self.streams.lock().await.contains(topic) {
            self.stream(&context, topic).await?;
        }
        let stored = context
            .publish(topic.to_string(), json::encode(message))
            .await
            .map_err(|e| self.link.unavailable(e))?;
        stored
            .await
            .map(|_| ())
            .map_err(|e| self.link.refused(&format!("store a message on {topic}"), e))
    }

    /// The topic's stream, made when it does not exist yet.
    async fn stream(&self, context: &jetstream::Context, topic: &str) -> Result<stream::Stream> {
        let config = stream::Config {
            name: jetstream_name(topic),
            subjects: vec![topic.to_string()],
            retention: stream::RetentionPolicy::Interest,
            ..Default::default()
        };
        let made = context
            .get_or_create_stream(config)
            .await
            .map_err(|e| self.link.refused(&format!("make the stream of {topic}"), e))?;
        self.streams.lock().await.insert(topic.to_string());
        Ok(made)
    }

    /// The subscription's consumer: the durable one named after `queue`, or one of its own.
    async fn consumer(
        &self,
        options: JetStreamOptions,
        topic: &str,
        queue: Option<&str>,
    ) -> Result<consumer::PullConsumer> {
        let context = jetstream::new(self.link.client().await?);
        let stream = self.stream(&context, topic).await?;
        let config = consumer::pull::Config {
            durable_name: queue.map(jetstream_name),
            filter_subject: topic.to_string(),
            deliver_policy: consumer::DeliverPolicy::New,
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: options.ack_wait,
            // Unlimited on the server: this broker counts the attempts that failed.
            max_deliver: -1,
            inactive_threshold: if queue.is_some() {
                Duration::ZERO
            } else {
                EPHEMERAL_LINGER
            },
            ..Default::default()
        };
        match &config.durable_name {
            Some(name) => stream.get_or_create_consumer(name, config.clone()).await,
            None => stream.create_consumer(config.clone()).await,
        }
        .map_err(|e| self.link.refused(&format!("subscribe to {topic}"), e))
    }

    /// Consumes until the subscription ends; when the consumer is lost (NATS went away for
    /// long, or someone deleted it) it is made again after a pause, as a connection is.
    async fn consume(
        self: Arc<Self>,
        mut consumer: Option<consumer::PullConsumer>,
        options: JetStreamOptions,
        topic: String,
        queue: Option<String>,
        handler: Handler,
    ) {
        let mut pause = FIRST_PAUSE;
        loop {
            let messages = match consumer.take() {
                Some(made) => made.messages().await.ok(),
                None => None,
            };
            if let Some(mut messages) = messages {
                pause = FIRST_PAUSE;
                while let Some(next) = messages.next().await {
                    match next {
                        Ok(delivered) => {
                            self.deliver(options, &topic, &handler, delivered).await;
                        }
                        // Heartbeats missed while NATS was away: the stream asks again itself.
                        Err(err) if err.kind() == MessagesErrorKind::MissingHeartbeat => {}
                        Err(err) => {
                            tracing::warn!(topic, %err, "the subscription's consumer broke; making it again");
                            break;
                        }
                    }
                }
            }
            tokio::time::sleep(pause).await;
            pause = next_pause(pause);
            consumer = self.consumer(options, &topic, queue.as_deref()).await.ok();
        }
    }

    /// Hands one stored message to the handler and tells JetStream how it went.
    async fn deliver(
        &self,
        options: JetStreamOptions,
        topic: &str,
        handler: &Handler,
        delivered: jetstream::Message,
    ) {
        let attempt = delivered.info().map_or(1, |info| info.delivered);
        let subject = delivered.subject.to_string();
        let (why, message, hopeless) = match json::decode(&delivered.payload) {
            Ok(message) => match run(handler.clone(), subject.clone(), message.clone(), ID).await {
                Ok(()) => return self.acknowledge(topic, &delivered, AckKind::Ack).await,
                Err(err) => (err.to_string(), message, false),
            },
            // Bytes that are no broker message never will be: a dead letter at once.
            Err(why) => (why, Message::new(delivered.payload.clone()), true),
        };
        let ack = if hopeless || attempt >= options.max_deliver {
            let mut dead = message;
            dead.header.insert("Micro-Error".into(), why);
            dead.header
                .insert("Micro-Attempts".into(), attempt.to_string());
            match self
                .publish(&format!("{DEAD_LETTER}{subject}"), &dead)
                .await
            {
                Ok(()) => AckKind::Term,
                Err(err) => {
                    tracing::warn!(topic, %err, "cannot send a dead letter; the message comes again");
                    AckKind::Nak(Some(options.ack_wait))
                }
            }
        } else {
            tracing::warn!(
                topic,
                attempt,
                error = why,
                "the handler failed; the message comes again"
            );
            let backoff = u32::try_from(attempt.clamp(1, 50)).unwrap_or(50);
            AckKind::Nak(Some(Duration::from_millis(100) * backoff))
        };
        self.acknowledge(topic, &delivered, ack).await;
    }

    async fn acknowledge(&self, topic: &str, delivered: &jetstream::Message, ack: AckKind) {
        if let Err(err) = delivered.ack_with(ack).await {
            tracing::warn!(topic, %err, "cannot answer JetStream for a message; it comes again");
        }
    }
}

#[async_trait]
impl Broker for Nats {
    async fn publish(&self, topic: &str, message: Message) -> Result<()> {
        self.inner.publish(topic, &message).await
    }

    async fn subscribe(
        &self,
        topic: &str,
        handler: Handler,
        options: SubscribeOptions,
    ) -> Result<Subscription> {
        check_topic(topic, false)?;
        let inner = &self.inner;
        let task = if let Some(jetstream) = inner.jetstream {
            let consumer = inner
                .consumer(jetstream, topic, options.queue.as_deref())
                .await?;
            tokio::spawn(inner.clone().consume(
                Some(consumer),
                jetstream,
                topic.to_string(),
                options.queue.clone(),
                handler,
            ))
        } else {
            let client = inner.link.client().await?;
            let subscribed = match &options.queue {
                Some(queue) => {
                    client
                        .queue_subscribe(topic.to_string(), queue.clone())
                        .await
                }
                None => client.subscribe(topic.to_string()).await,
            };
            let mut messages = subscribed.map_err(|e| inner.link.unavailable(e))?;
            inner.link.settle(&client).await?;
            tokio::spawn(async move {
                while let Some(delivered) = messages.next().await {
                    let subject = delivered.subject.to_string();
                    let result = match json::decode(&delivered.payload) {
                        Ok(message) => run(handler.clone(), subject.clone(), message, ID).await,
                        Err(why) => Err(Error::bad_request(ID, why)),
                    };
                    if let Err(err) = result {
                        tracing::warn!(topic = subject, %err, "a message on NATS was not handled");
                    }
                }
            })
        };
        Ok(Subscription::new(topic, options.queue, async move {
            task.abort();
            Ok(())
        }))
    }

    fn name(&self) -> &'static str {
        "nats"
    }
}

/// A topic is a NATS subject: dot-separated words without spaces; a subscription may use the
/// wildcards `*` (one word) and `>` (the rest), a publication not.
fn check_topic(topic: &str, publishing: bool) -> Result<()> {
    let words_ok = topic
        .split('.')
        .all(|word| !word.is_empty() && !word.contains(char::is_whitespace));
    let wildcard = topic.split('.').any(|word| word == "*" || word == ">");
    if words_ok && !(publishing && wildcard) {
        return Ok(());
    }
    let what = if words_ok {
        "a topic to publish on, which takes no wildcards"
    } else {
        "a NATS subject"
    };
    Err(Error::bad_request(
        ID,
        format!(
            "topic {topic:?} is not {what}: use dot-separated words without spaces, such as orders.placed"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_nats_subjects() {
        assert!(check_topic("orders.placed", true).is_ok());
        assert!(check_topic("orders.*", false).is_ok());
        assert!(check_topic("orders.>", true).is_err());
        for bad in ["", "a..b", ".a", "a b", "a."] {
            assert!(check_topic(bad, false).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn options_are_checked() {
        assert!(Nats::new(Some("nats://h?jetstream=true&max_deliver=3&ack_wait=2s")).is_ok());
        for bad in [
            "jetstream=yes",
            "jetstream=true&max_deliver=0",
            "jetstream=true&ack_wait=soon",
        ] {
            let err = Nats::new(Some(&format!("nats://h?{bad}"))).err().unwrap();
            assert_eq!(err.code, 400, "{bad}: {err}");
        }
    }
}
