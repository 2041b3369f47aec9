//! What is particular to the RabbitMQ broker, on the test RabbitMQ server (scripts/servers.sh):
//! acknowledgement as go-micro does it, its address, and errors and logs that name the server
//! but never its password. What every broker does is in the contract suite, tests/broker.rs;
//! a restart of the server is in broker_rabbitmq_restart.rs.

mod support;

use micro::broker::{Broker, Message, Rabbitmq, RabbitmqOptions, SubscribeOptions};
use micro::errors::Kind;
use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use support::inbox::{Inbox, per_handler};

fn broker(requeue_on_error: bool) -> Rabbitmq {
    Rabbitmq::new(RabbitmqOptions {
        address: Some(support::server("rabbitmq")),
        requeue_on_error,
        ..Default::default()
    })
    .unwrap()
}

/// A topic and a queue name of this test's own.
fn names(test: &str) -> (String, SubscribeOptions) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let queue = Some(format!("{test}-workers-{id}"));
    (format!("{test}-{id}"), SubscribeOptions { queue })
}

/// Publishes messages `0` to `n - 1` on `topic`.
async fn publish_numbers(broker: &Rabbitmq, topic: &str, n: usize) {
    for i in 0..n {
        broker
            .publish(topic, Message::new(i.to_string()))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_handler_loses_its_message_as_with_go_micros_auto_ack() {
    let (topic, queue) = names("autoack");
    let (subscriber, publisher) = (broker(false), broker(false));
    let mut inbox = Inbox::new();
    let _sub = subscriber
        .subscribe(&topic, inbox.failing(0), queue)
        .await
        .unwrap();
    publish_numbers(&publisher, &topic, 3).await;
    let got = inbox.expect(3).await;
    assert_eq!(per_handler(&got)[&0], 3, "each message once, never again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_requeue_on_error_a_failed_message_comes_again_until_handled() {
    let (topic, queue) = names("requeue");
    let (subscriber, publisher) = (broker(true), broker(true));
    let mut inbox = Inbox::new();
    // Fails the first time it sees a message, succeeds the second.
    let seen = Mutex::new(HashSet::new());
    let once = inbox.answering(0, move |message| {
        if seen.lock().unwrap().insert(message.body.clone()) {
            Err(micro::Error::internal("test", "not this time"))
        } else {
            Ok(())
        }
    });
    let _sub = subscriber.subscribe(&topic, once, queue).await.unwrap();
    publish_numbers(&publisher, &topic, 3).await;
    let got = inbox.expect(6).await;
    let mut bodies: Vec<String> = got
        .iter()
        .map(|(_, _, m)| String::from_utf8(m.body.to_vec()).unwrap())
        .collect();
    bodies.sort();
    assert_eq!(
        bodies,
        ["0", "0", "1", "1", "2", "2"],
        "each failed once, came again, and was acknowledged once handled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subscriber_is_given_the_topic_header_when_the_publisher_set_none() {
    let (topic, _) = names("topic-header");
    let mut inbox = Inbox::new();
    let broker = broker(false);
    let _sub = broker
        .subscribe(&topic, inbox.handler(0), SubscribeOptions::default())
        .await
        .unwrap();
    broker.publish(&topic, Message::new("x")).await.unwrap();
    let (_, got_topic, message) = inbox.expect(1).await.remove(0);
    assert_eq!(message.header.get("Micro-Topic"), Some(&got_topic));
    assert_eq!(got_topic, topic);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_rabbitmq_cannot_take_are_refused() {
    let broker = broker(false);
    let long = "t".repeat(256);
    for topic in ["", long.as_str()] {
        let err = broker.publish(topic, Message::new("x")).await.unwrap_err();
        assert_eq!(err.code, 400, "{err}");
        assert!(err.detail.contains("topic"), "{err}");
    }
    let mut message = Message::new("x");
    message.header.insert(long.clone(), "v".into());
    let err = broker.publish("t", message).await.unwrap_err();
    assert!(err.detail.contains("header name"), "{err}");
    let queue = SubscribeOptions {
        queue: Some(long.clone()),
    };
    let err = broker
        .subscribe("t", Inbox::new().handler(0), queue)
        .await
        .err()
        .unwrap();
    assert!(err.detail.contains("queue name"), "{err}");
}

/// The log lines written while the test runs, at every level.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A broker whose server cannot be reached says where it tried, never with the password, in
/// its errors and its logs; an address that is not an AMQP URL says what to give.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_logs_name_the_server_but_never_the_password() {
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();

    let unreachable = Rabbitmq::new(RabbitmqOptions {
        address: Some("amqp://app:s3cret@127.0.0.1:1/shop".into()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(unreachable.address(), "127.0.0.1:1/shop");
    let published = unreachable
        .publish("t", Message::new("x"))
        .await
        .unwrap_err();
    let subscribed = unreachable
        .subscribe("t", Inbox::new().handler(0), SubscribeOptions::default())
        .await
        .err()
        .unwrap();
    for err in [&published, &subscribed] {
        assert_eq!(err.kind, Kind::Unavailable, "{err}");
        assert!(
            err.detail
                .contains("cannot reach rabbitmq at 127.0.0.1:1/shop"),
            "{err}"
        );
        assert!(err.detail.contains("MICRO_BROKER_ADDRESS"), "{err}");
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    // A real server refusing the password: its answer, without the password.
    let url = support::server("rabbitmq").replace("guest:guest", "guest:s3cret");
    let refused = Rabbitmq::new(RabbitmqOptions {
        address: Some(url),
        ..Default::default()
    })
    .unwrap();
    let err = refused.publish("t", Message::new("x")).await.unwrap_err();
    assert_eq!(err.kind, Kind::Unavailable, "{err}");
    assert!(!err.to_string().contains("s3cret"), "{err}");

    for (address, mentions) in [
        ("http://127.0.0.1:5672", "amqp://"),
        (
            "amqp://app:s3cret@127.0.0.1:5672?cacertfile=/ca.pem",
            "amqps://",
        ),
        (
            "amqps://app:s3cret@127.0.0.1:5671?cacertfile=/no/such/ca.pem",
            "cacertfile=/no/such/",
        ),
        ("not a url", "amqp://"),
        ("amqp:app:s3cret@127.0.0.1", "amqp://"),
    ] {
        let err = Rabbitmq::new(RabbitmqOptions {
            address: Some(address.into()),
            ..Default::default()
        })
        .err()
        .unwrap();
        assert_eq!(err.code, 400, "{err}");
        assert!(err.detail.contains(mentions), "{address}: {err}");
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(!logged.is_empty(), "the test saw no log lines");
    assert!(!logged.contains("s3cret"), "{logged}");
}

#[test]
fn the_default_address_is_go_micros() {
    let broker = Rabbitmq::new(RabbitmqOptions::default()).unwrap();
    assert_eq!(broker.address(), "127.0.0.1:5672/");
    let config = micro::config::Config {
        broker: Some("rabbitmq".into()),
        broker_address: Some("amqp://u:p@rabbit:5673/v".into()),
        ..Default::default()
    };
    let registry = Arc::new(micro::registry::Memory::new());
    assert_eq!(config.broker(registry).unwrap().name(), "rabbitmq");
}
