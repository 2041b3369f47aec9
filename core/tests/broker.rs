//! The broker contract, run against every broker implementation: what go-micro users expect of
//! publish and subscribe. Delivery on a networked broker is asynchronous, so a test waits
//! (bounded) until the messages it expects have arrived and then checks that nothing more
//! arrives within a short grace period. Each test takes topics and queues of its own, so
//! tests on one shared server never see each other's messages.

mod support;

use micro::broker::{self, Broker, Handler, Message, SubscribeOptions, Subscription};
use std::sync::Arc;
use std::time::Duration;
use support::inbox::{Inbox, per_handler};

/// How long a subscription dropped (ended in the background) may take to end.
const SETTLE: Duration = Duration::from_millis(500);

/// Makes the brokers of one test: `broker()` is a new broker instance, as another process
/// would have, wherever the broker is networked (the in-process broker has only one).
struct Fixture {
    make: Box<dyn Fn() -> Arc<dyn Broker> + Send + Sync>,
    /// Makes this test's topic and queue names its own.
    prefix: String,
}

impl Fixture {
    fn new(make: impl Fn() -> Arc<dyn Broker> + Send + Sync + 'static) -> Self {
        Fixture {
            make: Box::new(make),
            prefix: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    fn broker(&self) -> Arc<dyn Broker> {
        (self.make)()
    }

    /// A topic or queue name of this test's own.
    fn name(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }
}

fn memory() -> Fixture {
    let broker: Arc<dyn Broker> = Arc::new(broker::Memory::new());
    Fixture::new(move || broker.clone())
}

/// HTTP brokers finding each other's subscribers through one in-process registry.
fn http() -> Fixture {
    let registry = Arc::new(micro::registry::Memory::new());
    Fixture::new(move || Arc::new(broker::Http::new(registry.clone(), None)))
}

/// NATS brokers on the test server (`scripts/servers.sh`), as go-micro's NATS broker works.
#[cfg(feature = "nats")]
fn nats() -> Fixture {
    let address = support::server("nats");
    Fixture::new(move || Arc::new(broker::Nats::new(Some(&address)).unwrap()))
}

/// NATS brokers storing messages in JetStream.
#[cfg(feature = "nats")]
fn nats_jetstream() -> Fixture {
    let address = format!("{}?jetstream=true", support::server("nats"));
    Fixture::new(move || Arc::new(broker::Nats::new(Some(&address)).unwrap()))
}

/// Brokers on the test RabbitMQ server, each with a connection of its own.
#[cfg(feature = "rabbitmq")]
fn rabbitmq() -> Fixture {
    let url = support::server("rabbitmq");
    Fixture::new(move || {
        let options = broker::RabbitmqOptions {
            address: Some(url.clone()),
            ..Default::default()
        };
        Arc::new(broker::Rabbitmq::new(options).unwrap())
    })
}

/// Subscribes, failing the test when the broker refuses.
async fn subscribe(
    broker: &dyn Broker,
    topic: &str,
    handler: Handler,
    options: SubscribeOptions,
) -> Subscription {
    broker.subscribe(topic, handler, options).await.unwrap()
}

fn queue(name: String) -> SubscribeOptions {
    SubscribeOptions { queue: Some(name) }
}

fn body(message: &Message) -> String {
    String::from_utf8(message.body.to_vec()).unwrap()
}

async fn topic_header_and_body_arrive_intact(f: &Fixture) {
    let (subscriber, publisher) = (f.broker(), f.broker());
    let (topic, other) = (f.name("orders"), f.name("other"));
    let mut inbox = Inbox::new();
    let _sub = subscribe(
        &*subscriber,
        &topic,
        inbox.handler(0),
        SubscribeOptions::default(),
    )
    .await;
    let mut message = Message::new(vec![b'{', 0, 0xff, b'}', b'\n']);
    for (key, value) in [
        ("Content-Type", "application/json"),
        ("X-Trace", "a b\tc=d;é"),
        ("x-lower", ""),
    ] {
        message.header.insert(key.into(), value.into());
    }
    publisher
        .publish(&other, Message::new("not ours"))
        .await
        .unwrap();
    publisher.publish(&topic, message.clone()).await.unwrap();
    let (_, got_topic, got) = inbox.expect(1).await.remove(0);
    assert_eq!(got_topic, topic);
    assert_eq!(got.body, message.body);
    for (key, value) in &message.header {
        assert_eq!(got.header.get(key), Some(value), "header {key}: {got:?}");
    }
}

async fn broadcast_reaches_every_subscriber_and_a_queue_one_member(f: &Fixture) {
    let (one, two, publisher) = (f.broker(), f.broker(), f.broker());
    let topic = f.name("jobs");
    let workers = f.name("workers");
    let mut inbox = Inbox::new();
    let plain = SubscribeOptions::default;
    let _subs = [
        subscribe(&*one, &topic, inbox.handler(0), plain()).await,
        subscribe(&*two, &topic, inbox.handler(1), plain()).await,
        subscribe(&*one, &topic, inbox.handler(2), queue(workers.clone())).await,
        subscribe(&*two, &topic, inbox.handler(3), queue(workers.clone())).await,
    ];
    const N: usize = 40;
    for i in 0..N {
        publisher
            .publish(&topic, Message::new(i.to_string()))
            .await
            .unwrap();
    }
    let got = inbox.expect(3 * N).await;
    let counts = per_handler(&got);
    assert_eq!((counts[&0], counts[&1]), (N, N), "broadcast: {counts:?}");
    let mut queued: Vec<usize> = got
        .iter()
        .filter(|(id, _, _)| *id >= 2)
        .map(|(_, _, m)| body(m).parse().unwrap())
        .collect();
    queued.sort();
    assert_eq!(
        queued,
        (0..N).collect::<Vec<_>>(),
        "each message to exactly one queue member"
    );
    assert!(
        counts.contains_key(&2) && counts.contains_key(&3),
        "the queue's members share the messages: {counts:?}"
    );
}

async fn unsubscribed_or_dropped_subscriptions_get_nothing(f: &Fixture) {
    let (subscriber, publisher) = (f.broker(), f.broker());
    let topic = f.name("t");
    let mut inbox = Inbox::new();
    let plain = SubscribeOptions::default;
    let _kept = subscribe(&*subscriber, &topic, inbox.handler(0), plain()).await;
    let ended = subscribe(&*subscriber, &topic, inbox.handler(1), plain()).await;
    assert_eq!(ended.topic(), topic);
    ended.unsubscribe().await.unwrap();
    let dropped = subscribe(&*subscriber, &topic, inbox.handler(2), plain()).await;
    let dropped_queue = subscribe(&*subscriber, &topic, inbox.handler(3), queue(f.name("q"))).await;
    assert_eq!(dropped_queue.queue(), Some(f.name("q").as_str()));
    drop((dropped, dropped_queue));
    tokio::time::sleep(SETTLE).await;
    publisher.publish(&topic, Message::new("x")).await.unwrap();
    let got = inbox.expect(1).await;
    assert_eq!(got[0].0, 0, "only the kept subscription gets it");
}

async fn a_failing_handler_does_not_stop_the_others(f: &Fixture) {
    let (subscriber, publisher) = (f.broker(), f.broker());
    let topic = f.name("t");
    let mut inbox = Inbox::new();
    let plain = SubscribeOptions::default;
    let _failing = subscribe(&*subscriber, &topic, inbox.failing(0), plain()).await;
    let _fine = subscribe(&*subscriber, &topic, inbox.handler(1), plain()).await;
    for i in 0..3 {
        publisher
            .publish(&topic, Message::new(i.to_string()))
            .await
            .unwrap();
    }
    let counts = per_handler(&inbox.expect(6).await);
    assert_eq!(
        (counts[&0], counts[&1]),
        (3, 3),
        "the failing subscription lives on, and no message comes twice"
    );
}

async fn publishing_to_a_topic_nobody_subscribes_to_is_ok(f: &Fixture) {
    f.broker()
        .publish(&f.name("nobody"), Message::new("x"))
        .await
        .unwrap();
}

/// Runs every contract test against brokers from a fresh `$make` fixture.
macro_rules! contract {
    ($module:ident, $make:expr) => {
        mod $module {
            use super::*;
            contract!(@tests $make;
                topic_header_and_body_arrive_intact,
                broadcast_reaches_every_subscriber_and_a_queue_one_member,
                unsubscribed_or_dropped_subscriptions_get_nothing,
                a_failing_handler_does_not_stop_the_others,
                publishing_to_a_topic_nobody_subscribes_to_is_ok);
        }
    };
    (@tests $make:expr; $($test:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let fixture = $make;
                super::$test(&fixture).await;
            }
        )*
    };
}

contract!(memory_broker, memory());
contract!(http_broker, http());
#[cfg(feature = "rabbitmq")]
contract!(rabbitmq_broker, rabbitmq());
#[cfg(feature = "nats")]
contract!(nats_broker, nats());
/// On JetStream a failing handler gets its message again (tests/broker_nats.rs); the rest holds.
#[cfg(feature = "nats")]
mod nats_jetstream_broker {
    use super::*;
    contract!(@tests nats_jetstream();
        topic_header_and_body_arrive_intact,
        broadcast_reaches_every_subscriber_and_a_queue_one_member,
        unsubscribed_or_dropped_subscriptions_get_nothing,
        publishing_to_a_topic_nobody_subscribes_to_is_ok);
}
