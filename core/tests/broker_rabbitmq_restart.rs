//! The RabbitMQ broker recovers by itself: one made while the server is down says so and works
//! once the server is up, and after the server is killed and started again its subscription
//! resumes and publishing works again, without making anything anew. Its own test binary: it
//! takes down the RabbitMQ other tests use.

mod support;

use micro::broker::{Broker, Message, Rabbitmq, RabbitmqOptions, SubscribeOptions};
use micro::errors::Kind;
use std::time::Duration;
use support::inbox::Inbox;

/// How long the broker may take to be back once the server is.
const RECOVERY: Duration = Duration::from_secs(60);

/// Runs `attempt` until it succeeds, for at most [`RECOVERY`].
async fn until_ok<T>(what: &str, mut attempt: impl AsyncFnMut() -> micro::Result<T>) -> T {
    let deadline = tokio::time::Instant::now() + RECOVERY;
    loop {
        match attempt().await {
            Ok(done) => return done,
            Err(err) if tokio::time::Instant::now() > deadline => {
                panic!("{what} still failed after {RECOVERY:?}: {err}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_resume_and_publishing_works_again_when_the_server_comes_back() {
    let url = support::server("rabbitmq"); // installs and starts it
    support::servers(&["kill", "rabbitmq"]);
    let broker = Rabbitmq::new(RabbitmqOptions {
        address: Some(url),
        ..Default::default()
    })
    .unwrap();
    let topic = format!("restart-{}", std::process::id());
    let mut inbox = Inbox::new();

    // Down at start: a clear error, then it works once the server is up.
    let err = broker.publish(&topic, Message::new("x")).await.unwrap_err();
    assert_eq!(err.kind, Kind::Unavailable, "{err}");
    assert!(err.detail.contains("cannot reach rabbitmq"), "{err}");
    let err = broker
        .subscribe(&topic, inbox.handler(0), SubscribeOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind, Kind::Unavailable, "{err}");
    support::servers(&["start", "rabbitmq"]);
    let _sub = until_ok("subscribing", async || {
        broker
            .subscribe(&topic, inbox.handler(0), SubscribeOptions::default())
            .await
    })
    .await;
    broker
        .publish(&topic, Message::new("before"))
        .await
        .unwrap();
    assert_eq!(inbox.expect(1).await[0].2.body, "before");

    // Gone while subscribed and publishing, then back.
    support::servers(&["kill", "rabbitmq"]);
    until_ok("noticing the server is gone", async || {
        match broker.publish(&topic, Message::new("lost")).await {
            Err(err) if err.kind == Kind::Unavailable => Ok(()),
            other => Err(micro::Error::internal("test", format!("{other:?}"))),
        }
    })
    .await;
    support::servers(&["start", "rabbitmq"]);
    // Messages published before the subscription is back are lost, as with go-micro: publish
    // until one arrives.
    until_ok("a message reaching the resumed subscription", async || {
        broker.publish(&topic, Message::new("after")).await?;
        tokio::time::timeout(Duration::from_millis(500), inbox.next())
            .await
            .map_err(|_| micro::Error::internal("test", "nothing arrived yet"))
    })
    .await;
    broker.publish(&topic, Message::new("again")).await.unwrap();
    // Late copies of "after" may come first.
    while inbox.next().await.2.body != "again" {}
}
