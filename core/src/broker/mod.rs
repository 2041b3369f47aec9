//! Publish and subscribe: the [`Broker`] trait, go-micro's [`Message`] (headers and a body),
//! and the implementations [`Memory`] (in-process), `Http` (go-micro's HTTP broker, found
//! through the registry) and, with the `rabbitmq` feature, `Rabbitmq` (go-micro's RabbitMQ
//! broker).

mod http;
mod json;
mod memory;
#[cfg(feature = "nats")]
mod nats;
#[cfg(feature = "rabbitmq")]
mod rabbitmq;

pub use http::{Http, HttpOptions};
pub use memory::Memory;
#[cfg(feature = "nats")]
pub use nats::Nats;
#[cfg(feature = "rabbitmq")]
pub use rabbitmq::{Rabbitmq, RabbitmqOptions};

use crate::errors::{Error, Result};
use async_trait::async_trait;
use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// A message on a topic: headers (go-micro adds `Micro-Topic`, `Micro-Id`, `Content-Type`)
/// and an opaque body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Message headers.
    pub header: HashMap<String, String>,
    /// The payload, as the publisher's codec wrote it.
    pub body: Bytes,
}

impl Message {
    /// A message with a body and no headers.
    pub fn new(body: impl Into<Bytes>) -> Self {
        Message {
            header: HashMap::new(),
            body: body.into(),
        }
    }
}

/// What a subscriber runs for each message; an error is logged and, for the HTTP broker,
/// answered to the publisher as a 500.
pub type Handler = Arc<dyn Fn(String, Message) -> BoxFuture<'static, Result<()>> + Send + Sync>;

/// Wraps an async closure `|topic, message| async { ... }` as a [`Handler`].
pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(String, Message) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send + 'static,
{
    Arc::new(move |topic, message| Box::pin(f(topic, message)))
}

/// Runs a handler, turning a panic into an error (with id `id`) so one bad subscriber cannot
/// take its connection, subscription or a local publisher down with it.
async fn run(handler: Handler, topic: String, message: Message, id: &str) -> Result<()> {
    let name = topic.clone();
    match AssertUnwindSafe(async move { handler(topic, message).await })
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(_) => Err(Error::internal(
            id,
            format!("the subscriber of {name} panicked"),
        )),
    }
}

/// Options of [`Broker::subscribe`].
#[derive(Debug, Clone, Default)]
pub struct SubscribeOptions {
    /// Subscribers sharing a queue name share the messages: each goes to one of them. Without a
    /// queue every subscriber gets every message.
    pub queue: Option<String>,
}

/// A message broker.
#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Sends the message to the topic's subscribers.
    async fn publish(&self, topic: &str, message: Message) -> Result<()>;
    /// Runs `handler` for each message on `topic` until the subscription is dropped or
    /// [`Subscription::unsubscribe`]d.
    async fn subscribe(
        &self,
        topic: &str,
        handler: Handler,
        options: SubscribeOptions,
    ) -> Result<Subscription>;
    /// The implementation's name, as `MICRO_BROKER` spells it.
    fn name(&self) -> &'static str;
}

/// A live subscription; it ends when unsubscribed or dropped.
pub struct Subscription {
    topic: String,
    queue: Option<String>,
    end: Option<BoxFuture<'static, Result<()>>>,
}

impl Subscription {
    /// A subscription that runs `end` once when it is unsubscribed or dropped.
    pub fn new(
        topic: &str,
        queue: Option<String>,
        end: impl std::future::Future<Output = Result<()>> + Send + 'static,
    ) -> Self {
        Subscription {
            topic: topic.to_string(),
            queue,
            end: Some(Box::pin(end)),
        }
    }

    /// The topic subscribed to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The queue, if the subscription shares one.
    pub fn queue(&self) -> Option<&str> {
        self.queue.as_deref()
    }

    /// Stops delivery and waits until the broker has let go of the subscription.
    pub async fn unsubscribe(mut self) -> Result<()> {
        match self.end.take() {
            Some(end) => end.await,
            None => Ok(()),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(end) = self.end.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(end);
        }
    }
}
