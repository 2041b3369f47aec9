//! An in-process broker: publish runs the topic's handlers directly, no copy for the last one.

use super::{Broker, Handler, Message, SubscribeOptions, Subscription};
use crate::errors::Result;
use async_trait::async_trait;
use rand::Rng;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The in-process broker.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use micro::broker::{handler, Broker, Memory, Message};
/// let broker = Memory::new();
/// let sub = broker.subscribe("events", handler(|topic, msg| async move {
///     assert_eq!(topic, "events");
///     Ok(())
/// }), Default::default()).await.unwrap();
/// broker.publish("events", Message::new("hello")).await.unwrap();
/// sub.unsubscribe().await.unwrap();
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Memory {
    /// topic -> subscribers
    topics: Arc<RwLock<HashMap<String, Vec<Subscriber>>>>,
}

#[derive(Clone)]
struct Subscriber {
    id: u64,
    queue: Option<String>,
    handler: Handler,
}

impl Memory {
    /// A broker with no subscribers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Who gets a message on `topic`: every subscriber without a queue, and one random member
    /// of each queue.
    fn recipients(&self, topic: &str) -> Vec<Handler> {
        let topics = self.topics.read().unwrap();
        let Some(subscribers) = topics.get(topic) else {
            return Vec::new();
        };
        let mut out: Vec<Handler> = Vec::with_capacity(subscribers.len());
        let mut queues: HashMap<&str, Vec<&Handler>> = HashMap::new();
        for s in subscribers {
            match &s.queue {
                None => out.push(s.handler.clone()),
                Some(q) => queues.entry(q).or_default().push(&s.handler),
            }
        }
        let mut rng = rand::rng();
        for members in queues.values() {
            out.push(members[rng.random_range(0..members.len())].clone());
        }
        out
    }
}

#[async_trait]
impl Broker for Memory {
    async fn publish(&self, topic: &str, message: Message) -> Result<()> {
        let mut recipients = self.recipients(topic);
        let Some(last) = recipients.pop() else {
            return Ok(());
        };
        for handler in recipients {
            if let Err(err) = handler(topic.to_string(), message.clone()).await {
                tracing::warn!(topic, %err, "subscriber failed");
            }
        }
        if let Err(err) = last(topic.to_string(), message).await {
            tracing::warn!(topic, %err, "subscriber failed");
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        topic: &str,
        handler: Handler,
        options: SubscribeOptions,
    ) -> Result<Subscription> {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.topics
            .write()
            .unwrap()
            .entry(topic.to_string())
            .or_default()
            .push(Subscriber {
                id,
                queue: options.queue.clone(),
                handler,
            });
        let topics = self.topics.clone();
        let name = topic.to_string();
        Ok(Subscription::new(topic, options.queue, async move {
            let mut topics = topics.write().unwrap();
            if let Some(subscribers) = topics.get_mut(&name) {
                subscribers.retain(|s| s.id != id);
                if subscribers.is_empty() {
                    topics.remove(&name);
                }
            }
            Ok(())
        }))
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}
