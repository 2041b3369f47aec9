//! The in-process broker: broadcast, queues, unsubscribe and failing handlers.

use micro::broker::{Broker, Memory, Message, SubscribeOptions, handler};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn counter(count: &Arc<AtomicUsize>) -> micro::broker::Handler {
    let count = count.clone();
    handler(move |_, _| {
        let count = count.clone();
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    })
}

fn queue(name: &str) -> SubscribeOptions {
    SubscribeOptions {
        queue: Some(name.into()),
    }
}

#[tokio::test]
async fn subscriber_gets_topic_header_and_body() {
    let broker = Memory::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _sub = broker
        .subscribe(
            "orders",
            handler(move |topic, msg| {
                let tx = tx.clone();
                async move {
                    tx.send((topic, msg)).unwrap();
                    Ok(())
                }
            }),
            SubscribeOptions::default(),
        )
        .await
        .unwrap();
    let mut message = Message::new("{\"id\":1}");
    message
        .header
        .insert("Content-Type".into(), "application/json".into());
    broker.publish("orders", message.clone()).await.unwrap();
    broker
        .publish("other", Message::new("not for us"))
        .await
        .unwrap();
    assert_eq!(rx.recv().await.unwrap(), ("orders".to_string(), message));
    assert!(rx.try_recv().is_err());
}

#[tokio::test]
async fn broadcast_reaches_all_and_a_queue_reaches_one_member() {
    let broker = Memory::new();
    let [all_a, all_b, q1, q2]: [Arc<AtomicUsize>; 4] = Default::default();
    let _subs = [
        broker
            .subscribe("t", counter(&all_a), SubscribeOptions::default())
            .await
            .unwrap(),
        broker
            .subscribe("t", counter(&all_b), SubscribeOptions::default())
            .await
            .unwrap(),
        broker
            .subscribe("t", counter(&q1), queue("workers"))
            .await
            .unwrap(),
        broker
            .subscribe("t", counter(&q2), queue("workers"))
            .await
            .unwrap(),
    ];
    for _ in 0..100 {
        broker.publish("t", Message::new("x")).await.unwrap();
    }
    assert_eq!(all_a.load(Ordering::SeqCst), 100);
    assert_eq!(all_b.load(Ordering::SeqCst), 100);
    let (q1, q2) = (q1.load(Ordering::SeqCst), q2.load(Ordering::SeqCst));
    assert_eq!(
        q1 + q2,
        100,
        "each message goes to exactly one queue member"
    );
    assert!(q1 > 0 && q2 > 0, "the queue spreads messages ({q1}/{q2})");
}

#[tokio::test]
async fn unsubscribed_or_dropped_subscriptions_get_nothing() {
    let broker = Memory::new();
    let [kept, ended, dropped]: [Arc<AtomicUsize>; 3] = Default::default();
    let _kept = broker
        .subscribe("t", counter(&kept), SubscribeOptions::default())
        .await
        .unwrap();
    let sub = broker
        .subscribe("t", counter(&ended), SubscribeOptions::default())
        .await
        .unwrap();
    assert_eq!(sub.topic(), "t");
    sub.unsubscribe().await.unwrap();
    drop(
        broker
            .subscribe("t", counter(&dropped), queue("q"))
            .await
            .unwrap(),
    );
    tokio::task::yield_now().await;
    broker.publish("t", Message::new("x")).await.unwrap();
    assert_eq!(
        (
            kept.load(Ordering::SeqCst),
            ended.load(Ordering::SeqCst),
            dropped.load(Ordering::SeqCst)
        ),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn a_failing_handler_does_not_stop_the_others() {
    let broker = Memory::new();
    let count = Arc::new(AtomicUsize::new(0));
    let failing = handler(|_, _| async { Err(micro::Error::internal("test", "handler failed")) });
    let _a = broker
        .subscribe("t", failing, SubscribeOptions::default())
        .await
        .unwrap();
    let _b = broker
        .subscribe("t", counter(&count), SubscribeOptions::default())
        .await
        .unwrap();
    broker.publish("t", Message::new("x")).await.unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 1);
}
