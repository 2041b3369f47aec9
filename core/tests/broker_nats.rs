//! What the NATS broker does beyond the broker contract (tests/broker.rs), against a real NATS
//! (`scripts/servers.sh`): go-micro's message on the wire, and JetStream's promises: a message
//! is acknowledged only once its handler succeeded, comes again when the handler failed or its
//! process died, goes to a dead letter after its last attempt, and waits for a durable queue's
//! members while they are away.

mod support;

use futures::StreamExt;
use micro::broker::{Broker, Handler, Message, Nats, SubscribeOptions, handler};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

/// A topic no other test (or earlier run) uses.
fn topic(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

fn broker(options: &str) -> Nats {
    let address = support::server("nats");
    let address = if options.is_empty() {
        address
    } else {
        format!("{address}?{options}")
    };
    Nats::new(Some(&address)).unwrap()
}

fn queue(name: &str) -> SubscribeOptions {
    SubscribeOptions {
        queue: Some(name.into()),
    }
}

/// A handler sending each body to `tx`, failing while `failures` is above 0 (counting down).
fn handler_failing(tx: mpsc::UnboundedSender<String>, failures: Arc<AtomicI64>) -> Handler {
    handler(move |_, message: Message| {
        let _ = tx.send(String::from_utf8_lossy(&message.body).into_owned());
        let fail = failures.fetch_sub(1, Ordering::SeqCst) > 0;
        async move {
            if fail {
                Err(micro::Error::internal("test", "not yet"))
            } else {
                Ok(())
            }
        }
    })
}

async fn next(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("no message within the wait")
        .unwrap()
}

async fn nothing_more(rx: &mut mpsc::UnboundedReceiver<String>, within: Duration) {
    if let Ok(Some(body)) = tokio::time::timeout(within, rx.recv()).await {
        panic!("unexpected message {body:?}");
    }
}

#[tokio::test]
async fn messages_are_go_micros_json_both_ways() {
    let nats = broker("");
    let raw = async_nats::connect(support::server("nats")).await.unwrap();
    let topic = topic("wire");
    let mut seen = raw.subscribe(topic.clone()).await.unwrap();
    raw.flush().await.unwrap();
    let mut message = Message::new("hello");
    message.header.insert("Micro-Topic".into(), topic.clone());
    nats.publish(&topic, message).await.unwrap();
    let sent: serde_json::Value =
        serde_json::from_slice(&seen.next().await.unwrap().payload).unwrap();
    assert_eq!(
        sent,
        serde_json::json!({"Header": {"Micro-Topic": topic}, "Body": "aGVsbG8="})
    );

    // What go-micro's NATS broker publishes, a nil header and all.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _sub = nats
        .subscribe(
            &topic,
            handler_failing(tx, Arc::default()),
            SubscribeOptions::default(),
        )
        .await
        .unwrap();
    raw.publish(topic.clone(), r#"{"Header":null,"Body":"aGk="}"#.into())
        .await
        .unwrap();
    assert_eq!(next(&mut rx).await, "hi");
}

#[tokio::test]
async fn jetstream_acknowledges_only_after_the_handler_succeeded() {
    let nats = broker("jetstream=true");
    let topic = topic("retried");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _sub = nats
        .subscribe(
            &topic,
            handler_failing(tx, Arc::new(AtomicI64::new(2))),
            queue("workers"),
        )
        .await
        .unwrap();
    nats.publish(&topic, Message::new("job")).await.unwrap();
    for _ in 0..3 {
        assert_eq!(next(&mut rx).await, "job");
    }
    nothing_more(&mut rx, Duration::from_secs(1)).await;
}

#[tokio::test]
async fn jetstream_sends_a_dead_letter_after_the_last_attempt() {
    let nats = broker("jetstream=true&max_deliver=3");
    let topic = topic("doomed");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _sub = nats
        .subscribe(
            &topic,
            handler_failing(tx, Arc::new(AtomicI64::new(i64::MAX))),
            queue("workers"),
        )
        .await
        .unwrap();
    let (dead_tx, mut dead_rx) = mpsc::unbounded_channel();
    let _dead = nats
        .subscribe(
            &format!("dead-letter.{topic}"),
            handler(move |_, message: Message| {
                let _ = dead_tx.send(message);
                async { Ok(()) }
            }),
            queue("inspect"),
        )
        .await
        .unwrap();
    let mut message = Message::new("poison");
    message.header.insert("Order".into(), "7".into());
    nats.publish(&topic, message).await.unwrap();
    for _ in 0..3 {
        assert_eq!(next(&mut rx).await, "poison");
    }
    let dead = tokio::time::timeout(WAIT, dead_rx.recv())
        .await
        .expect("no dead letter")
        .unwrap();
    assert_eq!(dead.body, "poison");
    assert_eq!(dead.header["Order"], "7");
    assert_eq!(dead.header["Micro-Attempts"], "3");
    assert!(dead.header["Micro-Error"].contains("not yet"), "{dead:?}");
    nothing_more(&mut rx, Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_durable_queue_keeps_messages_while_its_members_are_away() {
    let nats = broker("jetstream=true");
    let topic = topic("kept");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let first = nats
        .subscribe(
            &topic,
            handler_failing(tx.clone(), Arc::default()),
            queue("billing"),
        )
        .await
        .unwrap();
    first.unsubscribe().await.unwrap();
    // Published by another process, with nobody of the queue listening.
    let publisher = broker("jetstream=true");
    for i in 0..5 {
        publisher
            .publish(&topic, Message::new(i.to_string()))
            .await
            .unwrap();
    }
    nothing_more(&mut rx, Duration::from_millis(300)).await;
    let _back = nats
        .subscribe(
            &topic,
            handler_failing(tx, Arc::default()),
            queue("billing"),
        )
        .await
        .unwrap();
    let mut got: Vec<String> = Vec::new();
    for _ in 0..5 {
        got.push(next(&mut rx).await);
    }
    got.sort();
    assert_eq!(got, ["0", "1", "2", "3", "4"]);
}

/// A member that took a message and died before answering: after `ack_wait` the message goes
/// to another member.
#[tokio::test]
async fn a_message_whose_handler_died_comes_again_after_ack_wait() {
    let topic = topic("orphaned");
    let options = "jetstream=true&ack_wait=1s";
    let (taken_tx, mut taken_rx) = mpsc::unbounded_channel();
    let dying = broker(options);
    let hung = dying
        .subscribe(
            &topic,
            handler(move |_, message: Message| {
                let _ = taken_tx.send(message.body);
                std::future::pending()
            }),
            queue("crashy"),
        )
        .await
        .unwrap();
    broker(options)
        .publish(&topic, Message::new("important"))
        .await
        .unwrap();
    assert_eq!(
        tokio::time::timeout(WAIT, taken_rx.recv())
            .await
            .unwrap()
            .unwrap(),
        "important"
    );
    drop((hung, dying));

    let (tx, mut rx) = mpsc::unbounded_channel();
    let _survivor = broker(options)
        .subscribe(&topic, handler_failing(tx, Arc::default()), queue("crashy"))
        .await
        .unwrap();
    assert_eq!(next(&mut rx).await, "important");
    nothing_more(&mut rx, Duration::from_millis(1500)).await;
}

/// go-micro's NATS broker publishes on core NATS; a stream on the subject keeps what it
/// publishes for our durable subscribers.
#[tokio::test]
async fn core_nats_publishers_feed_jetstream_subscribers() {
    let topic = topic("mixed");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _sub = broker("jetstream=true")
        .subscribe(&topic, handler_failing(tx, Arc::default()), queue("audit"))
        .await
        .unwrap();
    broker("")
        .publish(&topic, Message::new("from core"))
        .await
        .unwrap();
    assert_eq!(next(&mut rx).await, "from core");
}
