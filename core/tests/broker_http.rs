//! What is particular to the go-micro compatible HTTP broker, over real loopback sockets with
//! brokers sharing one in-process registry: its registry nodes, queue members that cannot be
//! reached, the exact wire form in both directions, bad requests, and subscriber nodes that
//! die. What every broker does is in the contract suite, tests/broker.rs.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use micro::broker::{Broker, Handler, Http, HttpOptions, Message, SubscribeOptions, handler};
use micro::registry::{Memory, Node, Registry, Service};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const SERVICE: &str = "micro.http.broker";
const WAIT: Duration = Duration::from_secs(5);

type Inbox = mpsc::UnboundedReceiver<(String, Message)>;

/// A handler that hands every message to the returned inbox.
fn inbox() -> (Handler, Inbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    let h = handler(move |topic, msg| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((topic, msg));
            Ok(())
        }
    });
    (h, rx)
}

async fn recv(inbox: &mut Inbox) -> (String, Message) {
    tokio::time::timeout(WAIT, inbox.recv())
        .await
        .expect("no message arrived")
        .expect("inbox closed")
}

/// Nothing more arrives in a short while.
async fn assert_empty(inbox: &mut Inbox) {
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(inbox.try_recv().is_err(), "an unexpected message arrived");
}

fn broker(registry: &Arc<Memory>) -> Http {
    Http::new(registry.clone(), None)
}

fn queue(name: &str) -> SubscribeOptions {
    SubscribeOptions {
        queue: Some(name.to_string()),
    }
}

/// Every node of `micro.http.broker` for `topic`, with the version it is registered under.
async fn nodes(registry: &Memory, topic: &str) -> Vec<(String, Node)> {
    let Ok(services) = registry.get_service(SERVICE).await else {
        return Vec::new();
    };
    services
        .into_iter()
        .flat_map(|s| {
            let version = s.version.clone();
            s.nodes.into_iter().map(move |n| (version.clone(), n))
        })
        .filter(|(_, n)| n.metadata.get("topic").map(String::as_str) == Some(topic))
        .collect()
}

/// A broker node that was registered but whose address refuses connections.
async fn register_dead_node(registry: &Memory, topic: &str, version: &str) -> Node {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let node = Node {
        id: format!("{topic}-dead"),
        address,
        metadata: HashMap::from([
            ("broker".into(), "http".into()),
            ("topic".into(), topic.into()),
            ("secure".into(), "false".into()),
        ]),
    };
    let service = Service {
        name: SERVICE.into(),
        version: version.into(),
        nodes: vec![node.clone()],
        ..Default::default()
    };
    registry.register(&service, None).await.unwrap();
    node
}

/// Sends raw HTTP/1.1 text and returns the status code and body of the answer.
async fn raw(address: &str, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut answer))
        .await
        .expect("no answer")
        .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

/// A POST as Go's net/http client writes it, closing the connection after the answer.
fn post(target: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {target} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Go-http-client/1.1\r\n\
         Content-Length: {}\r\nContent-Type: application/json\r\nAccept-Encoding: gzip\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// One subscription on `topic`, ready for raw requests.
struct Subscribed {
    registry: Arc<Memory>,
    address: String,
    id: String,
    inbox: Inbox,
    _sub: micro::broker::Subscription,
}

async fn subscribed(topic: &str, options: HttpOptions) -> Subscribed {
    let registry = Arc::new(Memory::new());
    let broker = Http::with_options(registry.clone(), options);
    let (h, inbox) = inbox();
    let sub = broker
        .subscribe(topic, h, Default::default())
        .await
        .unwrap();
    let (_, node) = nodes(&registry, topic).await.remove(0);
    Subscribed {
        address: broker.address().unwrap(),
        id: node.id,
        registry,
        inbox,
        _sub: sub,
    }
}

impl Subscribed {
    /// A message published by another broker still arrives.
    async fn assert_still_delivers(&mut self, topic: &str) {
        let publisher = broker(&self.registry);
        publisher
            .publish(topic, Message::new("still here"))
            .await
            .unwrap();
        assert_eq!(recv(&mut self.inbox).await.1.body, "still here");
    }

    async fn send(&self, body: &str) -> (u16, micro::Error) {
        let (status, text) = raw(&self.address, &post(&format!("/?id={}", self.id), body)).await;
        (status, micro::Error::parse(&text))
    }
}

fn assert_error(status: u16, err: &micro::Error, code: u16, mentions: &str) {
    assert_eq!(status, code, "{err}");
    assert_eq!(err.code, i32::from(code));
    assert_eq!(err.id, "go.micro.broker");
    assert!(
        err.detail.contains(mentions),
        "{:?} does not mention {mentions:?}",
        err.detail
    );
}

#[tokio::test]
async fn subscriber_is_registered_as_go_micro_expects() {
    let registry = Arc::new(Memory::new());
    let broker = broker(&registry);
    assert_eq!(broker.name(), "http");
    assert_eq!(
        broker.address(),
        None,
        "the server starts on the first subscribe"
    );
    let _all = broker
        .subscribe("events", inbox().0, Default::default())
        .await
        .unwrap();
    let _q = broker
        .subscribe("events", inbox().0, queue("workers"))
        .await
        .unwrap();
    let address = broker.address().unwrap();
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    let mut found = nodes(&registry, "events").await;
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let versions: Vec<&str> = found.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(versions, ["ff.http.broadcast", "workers"]);
    for (_, node) in &found {
        let uuid = node
            .id
            .strip_prefix("events-")
            .expect("id is <topic>-<uuid>");
        assert_eq!(uuid.len(), 36, "{uuid}");
        assert_eq!(node.address, address);
        let want: HashMap<String, String> =
            [("broker", "http"), ("topic", "events"), ("secure", "false")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        assert_eq!(node.metadata, want);
    }
    assert_ne!(found[0].1.id, found[1].1.id);
}

#[tokio::test]
async fn queue_skips_a_member_that_cannot_be_reached() {
    let registry = Arc::new(Memory::new());
    register_dead_node(&registry, "jobs", "workers").await;
    let (h, mut inbox) = inbox();
    let _sub = broker(&registry)
        .subscribe("jobs", h, queue("workers"))
        .await
        .unwrap();
    let publisher = broker(&registry);
    for i in 0..10 {
        publisher
            .publish("jobs", Message::new(i.to_string()))
            .await
            .unwrap();
        assert_eq!(recv(&mut inbox).await.1.body, i.to_string());
    }
}

#[tokio::test]
async fn publish_fails_when_no_subscriber_can_be_reached() {
    let registry = Arc::new(Memory::new());
    let dead = register_dead_node(&registry, "alerts", "ff.http.broadcast").await;
    let err = broker(&registry)
        .publish("alerts", Message::new("x"))
        .await
        .unwrap_err();
    assert!(err.detail.contains("alerts"), "{err}");
    assert!(err.detail.contains(&dead.address), "{err}");
}

#[tokio::test]
async fn unsubscribe_stops_delivery_and_removes_the_node() {
    let registry = Arc::new(Memory::new());
    let (a, publisher) = (broker(&registry), broker(&registry));
    let (h1, mut inbox1) = inbox();
    let (h2, mut inbox2) = inbox();
    let s1 = a.subscribe("t", h1, Default::default()).await.unwrap();
    let _s2 = a.subscribe("t", h2, Default::default()).await.unwrap();
    publisher.publish("t", Message::new("both")).await.unwrap();
    assert_eq!(recv(&mut inbox1).await.1.body, "both");
    assert_eq!(recv(&mut inbox2).await.1.body, "both");
    assert_eq!(nodes(&registry, "t").await.len(), 2);

    s1.unsubscribe().await.unwrap();
    assert_eq!(
        nodes(&registry, "t").await.len(),
        1,
        "its node left the registry"
    );
    publisher.publish("t", Message::new("one")).await.unwrap();
    assert_eq!(
        recv(&mut inbox2).await.1.body,
        "one",
        "the other subscription on the topic lives on"
    );
    assert_empty(&mut inbox1).await;
}

#[tokio::test]
async fn dropping_a_subscription_removes_its_node() {
    let registry = Arc::new(Memory::new());
    let sub = broker(&registry)
        .subscribe("t", inbox().0, Default::default())
        .await
        .unwrap();
    assert_eq!(nodes(&registry, "t").await.len(), 1);
    drop(sub);
    let deadline = tokio::time::Instant::now() + WAIT;
    while !nodes(&registry, "t").await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "node still registered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_broker_delivers_to_its_own_subscribers() {
    let registry = Arc::new(Memory::new());
    let broker = broker(&registry);
    let (h, mut inbox) = inbox();
    let _sub = broker
        .subscribe("self", h, Default::default())
        .await
        .unwrap();
    broker.publish("self", Message::new("me")).await.unwrap();
    let (_, got) = recv(&mut inbox).await;
    assert_eq!(got.body, "me");
    assert_eq!(got.header["Micro-Topic"], "self");
}

#[tokio::test]
async fn empty_topic_is_refused() {
    let registry = Arc::new(Memory::new());
    let broker = broker(&registry);
    assert_eq!(
        broker
            .publish("", Message::new("x"))
            .await
            .unwrap_err()
            .code,
        400
    );
    let err = broker
        .subscribe("", inbox().0, Default::default())
        .await
        .err()
        .unwrap();
    assert_eq!(err.code, 400);
}

#[tokio::test]
async fn go_micro_post_is_delivered() {
    // What a go-micro v5 publisher sends for client.Publish of {"name":"John"} on "greetings".
    let mut s = subscribed("greetings", HttpOptions::default()).await;
    let body = r#"{"Header":{"Content-Type":"application/json","Micro-Id":"5c8b2e1e-8c4e-4c3a-9a61-2d1f1f0e2b11","Micro-Topic":"greetings"},"Body":"eyJuYW1lIjoiSm9obiJ9"}"#;
    let (status, answer) = raw(&s.address, &post(&format!("/?id={}", s.id), body)).await;
    assert_eq!((status, answer.as_str()), (200, ""));
    let (topic, got) = recv(&mut s.inbox).await;
    assert_eq!(topic, "greetings");
    assert_eq!(got.body, r#"{"name":"John"}"#);
    assert_eq!(
        got.header["Micro-Id"],
        "5c8b2e1e-8c4e-4c3a-9a61-2d1f1f0e2b11"
    );
    assert_eq!(got.header["Content-Type"], "application/json");
}

#[tokio::test]
async fn publish_posts_go_micro_json_to_the_node() {
    // A stand-in subscriber node written with plain hyper, capturing what the broker sends.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let service =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let tx = tx.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let body = body.collect().await.unwrap().to_bytes();
                    tx.send((parts, body)).unwrap();
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::new())))
                }
            });
        let io = hyper_util::rt::TokioIo::new(stream);
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(io, service)
            .await;
    });
    let topic = "odd topic/with space";
    let node = Node {
        id: format!("{topic}-123"),
        address,
        metadata: HashMap::from([
            ("broker".into(), "http".into()),
            ("topic".into(), topic.into()),
            ("secure".into(), "false".into()),
        ]),
    };
    let registry = Arc::new(Memory::new());
    let service = Service {
        name: SERVICE.into(),
        version: "ff.http.broadcast".into(),
        nodes: vec![node],
        ..Default::default()
    };
    registry.register(&service, None).await.unwrap();
    let mut message = Message::new(vec![0u8, 1, 2, 255]);
    message.header.insert("Foo".into(), "bar".into());
    broker(&registry).publish(topic, message).await.unwrap();

    let (parts, body) = rx.recv().await.unwrap();
    assert_eq!(parts.method, hyper::Method::POST);
    assert_eq!(parts.uri.path(), "/");
    assert_eq!(
        parts.uri.query(),
        Some("id=odd+topic%2Fwith+space-123"),
        "url.Values encoding"
    );
    assert_eq!(parts.headers["content-type"], "application/json");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"Header": {"Foo": "bar", "Micro-Topic": topic}, "Body": "AAEC/w=="})
    );
}

#[tokio::test]
async fn body_that_is_not_json_is_answered_400() {
    let mut s = subscribed("t", HttpOptions::default()).await;
    let (status, err) = s.send("this is not json").await;
    assert_error(status, &err, 400, "not a broker message");
    s.assert_still_delivers("t").await;
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_answered_400() {
    let mut s = subscribed("t", HttpOptions::default()).await;
    for body in [
        r#"{"Header":"Micro-Topic","Body":""}"#,
        r#"{"Header":{"Micro-Topic":"t"},"Body":12}"#,
        r#"{"Header":{"Micro-Topic":7},"Body":""}"#,
        r#"[1,2,3]"#,
        "null",
    ] {
        let (status, err) = s.send(body).await;
        assert_error(status, &err, 400, "not a broker message");
    }
    s.assert_still_delivers("t").await;
}

#[tokio::test]
async fn body_that_is_not_base64_is_answered_400() {
    let mut s = subscribed("t", HttpOptions::default()).await;
    let (status, err) = s
        .send(r#"{"Header":{"Micro-Topic":"t"},"Body":"not base64!"}"#)
        .await;
    assert_error(status, &err, 400, "base64");
    s.assert_still_delivers("t").await;
}

#[tokio::test]
async fn message_without_topic_header_is_answered_400() {
    let mut s = subscribed("t", HttpOptions::default()).await;
    let (status, err) = s.send(r#"{"Header":{"Foo":"bar"},"Body":"aGk="}"#).await;
    assert_error(status, &err, 400, "Micro-Topic");
    s.assert_still_delivers("t").await;
}

#[tokio::test]
async fn unknown_subscription_id_is_answered_404() {
    let mut s = subscribed("t", HttpOptions::default()).await;
    let body = r#"{"Header":{"Micro-Topic":"t"},"Body":"aGk="}"#;
    let (status, text) = raw(&s.address, &post("/?id=t-nobody", body)).await;
    assert_error(status, &micro::Error::parse(&text), 404, "t-nobody");
    // The right id with another topic is no match either.
    let other = format!("/?id={}", s.id);
    let (status, text) = raw(
        &s.address,
        &post(&other, r#"{"Header":{"Micro-Topic":"u"},"Body":""}"#),
    )
    .await;
    assert_error(status, &micro::Error::parse(&text), 404, "no subscription");
    assert_empty(&mut s.inbox).await;
    s.assert_still_delivers("t").await;
}

#[tokio::test]
async fn request_without_id_is_answered_400() {
    let mut s = subscribed("t", HttpOptions::default()).await;
    let (status, text) = raw(
        &s.address,
        &post("/", r#"{"Header":{"Micro-Topic":"t"},"Body":""}"#),
    )
    .await;
    assert_error(status, &micro::Error::parse(&text), 400, "no id");
    s.assert_still_delivers("t").await;
}

#[tokio::test]
async fn oversize_body_is_answered_413() {
    let options = HttpOptions {
        max_body_size: 1024,
        ..HttpOptions::default()
    };
    let mut s = subscribed("t", options).await;
    let big = format!(
        r#"{{"Header":{{"Micro-Topic":"t"}},"Body":"{}"}}"#,
        "A".repeat(4000)
    );
    let (status, err) = s.send(&big).await;
    assert_error(status, &err, 413, "1024 bytes");
    // Chunked, so the size is only known while reading.
    let chunked = format!(
        "POST /?id={} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
        s.id,
        big.len()
    );
    let (status, text) = raw(&s.address, chunked.as_bytes()).await;
    assert_error(status, &micro::Error::parse(&text), 413, "1024 bytes");
    // A publisher is told too.
    let publisher = broker(&s.registry);
    let err = publisher
        .publish("t", Message::new(vec![b'x'; 4000]))
        .await
        .unwrap_err();
    assert_eq!(err.code, 413, "{err}");
    s.assert_still_delivers("t").await;
}

#[tokio::test]
async fn get_is_answered_405() {
    let mut s = subscribed("t", HttpOptions::default()).await;
    let request = format!(
        "GET /?id={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        s.id
    );
    let (status, text) = raw(&s.address, request.as_bytes()).await;
    assert_error(status, &micro::Error::parse(&text), 405, "POST");
    s.assert_still_delivers("t").await;
}

#[tokio::test]
async fn other_path_is_answered_404() {
    let mut s = subscribed("t", HttpOptions::default()).await;
    let body = r#"{"Header":{"Micro-Topic":"t"},"Body":""}"#;
    let (status, text) = raw(&s.address, &post(&format!("/publish?id={}", s.id), body)).await;
    assert_error(status, &micro::Error::parse(&text), 404, "/publish");
    s.assert_still_delivers("t").await;
}

#[tokio::test]
async fn failing_or_panicking_handler_is_answered_500_and_the_subscription_lives_on() {
    let registry = Arc::new(Memory::new());
    let broker = broker(&registry);
    let (ok, mut inbox) = inbox();
    let h = handler(move |topic, msg: Message| {
        let ok = ok.clone();
        async move {
            match &msg.body[..] {
                b"fail" => Err(micro::Error::bad_request(
                    "orders",
                    "cannot take this order",
                )),
                b"panic" => panic!("subscriber bug"),
                _ => ok(topic, msg).await,
            }
        }
    });
    let _sub = broker.subscribe("t", h, Default::default()).await.unwrap();
    let (_, node) = nodes(&registry, "t").await.remove(0);
    let address = broker.address().unwrap();
    let target = format!("/?id={}", node.id);
    let (status, text) = raw(
        &address,
        &post(
            &target,
            r#"{"Header":{"Micro-Topic":"t"},"Body":"ZmFpbA=="}"#,
        ),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(
        micro::Error::parse(&text),
        micro::Error::bad_request("orders", "cannot take this order")
    );
    let (status, text) = raw(
        &address,
        &post(
            &target,
            r#"{"Header":{"Micro-Topic":"t"},"Body":"cGFuaWM="}"#,
        ),
    )
    .await;
    assert_error(status, &micro::Error::parse(&text), 500, "panicked");
    // The publisher reached the subscriber: a failing handler is the subscriber's business.
    let publisher = Http::new(registry.clone(), None);
    publisher.publish("t", Message::new("fail")).await.unwrap();
    publisher.publish("t", Message::new("fine")).await.unwrap();
    assert_eq!(recv(&mut inbox).await.1.body, "fine");
}

#[test]
fn broker_is_built_without_a_runtime() {
    let registry = Arc::new(Memory::new());
    let broker = Http::new(registry, Some("127.0.0.1:0".into()));
    assert_eq!(broker.name(), "http");
    assert_eq!(broker.address(), None);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn killed_subscriber_leaves_the_registry_within_its_ttl() {
    const TTL: Duration = Duration::from_secs(1);
    let options = HttpOptions {
        register_ttl: TTL,
        register_interval: Duration::from_millis(200),
        ..HttpOptions::default()
    };
    let registry = Arc::new(Memory::new());
    let main = runtime();
    // The publisher's broker, on the runtime that outlives the killed one.
    let publisher = Http::with_options(registry.clone(), options.clone());
    let _other = main
        .block_on(publisher.subscribe("other", inbox().0, Default::default()))
        .unwrap();

    // The subscriber lives on a runtime of its own, which is killed without a goodbye.
    let doomed = runtime();
    let subscriber = Http::with_options(registry.clone(), options);
    let (h, mut inbox) = inbox();
    let sub = doomed
        .block_on(subscriber.subscribe("t", h, Default::default()))
        .unwrap();
    std::mem::forget(sub);

    main.block_on(async {
        tokio::time::sleep(TTL * 2 + TTL / 2).await;
        assert_eq!(
            nodes(&registry, "t").await.len(),
            1,
            "re-registered while alive"
        );
        publisher.publish("t", Message::new("alive")).await.unwrap();
        assert_eq!(recv(&mut inbox).await.1.body, "alive");
    });

    drop(doomed); // kill: its tasks stop, nothing deregisters
    main.block_on(async {
        publisher
            .publish("t", Message::new("dead"))
            .await
            .unwrap_err();
        let deadline = tokio::time::Instant::now() + TTL + Duration::from_secs(1);
        while !nodes(&registry, "t").await.is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "dead node outlived its TTL"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Once it is gone, publishing to the topic is publishing to nobody.
        let deadline = tokio::time::Instant::now() + WAIT;
        while publisher.publish("t", Message::new("x")).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "publisher still sees the dead node"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}
