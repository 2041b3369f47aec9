//! The RPC client over real loopback sockets: calls, errors, node selection and retries,
//! timeouts, the connection pool, streams, publishing and middleware.

use bytes::Bytes;
use micro::broker::{self, Broker};
use micro::client::{Backoff, CallOptions, RawRequest, Retry, Selector, middleware};
use micro::errors::Kind;
use micro::registry::{Memory, Registry, Service};
use micro::server::{self, Context};
use micro::service::Running;
use micro::transport::{Header, Message, accept};
use micro::{Client, Error};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Request {
    name: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, PartialEq)]
struct Reply {
    msg: String,
    #[serde(default)]
    node: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct StreamRequest {
    name: String,
    count: usize,
}

/// A running helloworld node: where it listens and how many unary calls it has run.
struct Node {
    address: String,
    requests: Arc<AtomicUsize>,
    _running: Running,
}

/// Starts a real helloworld service on loopback, registered in `registry`, answering with
/// `name` as its node name. On the node named `bad`, `Helloworld.Flaky` fails with a 500 and
/// `Helloworld.Busy` with a 408.
async fn node(registry: &Memory, name: &'static str) -> Node {
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let count: server::Middleware = Arc::new(move |ctx, body, next: server::Handler| {
        counter.fetch_add(1, Ordering::SeqCst);
        next(ctx, body)
    });
    let running = micro::Service::new("helloworld")
        .registry(Arc::new(registry.clone()))
        .address("127.0.0.1:0")
        .wrap(count)
        .handle("Helloworld.Call", move |_ctx, req: Request| async move {
            Ok(Reply {
                msg: format!("Hello {}", req.name),
                node: name.into(),
            })
        })
        .handle(
            "Helloworld.Headers",
            |ctx: Context, _req: Request| async move { Ok(ctx.metadata) },
        )
        .handle("Helloworld.Fail", |_ctx, _req: Request| async move {
            Err::<Reply, _>(Error::conflict("helloworld", "name taken"))
        })
        .handle("Helloworld.Flaky", move |_ctx, _req: Request| async move {
            if name == "bad" {
                return Err(Error::internal("helloworld", "out of order"));
            }
            Ok(Reply {
                msg: "fine".into(),
                node: name.into(),
            })
        })
        .handle("Helloworld.Busy", move |_ctx, _req: Request| async move {
            if name == "bad" {
                return Err(Error::timeout("helloworld", "the database did not answer"));
            }
            Ok(Reply {
                msg: "done".into(),
                node: name.into(),
            })
        })
        .handle("Helloworld.Slow", |_ctx, req: Request| async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Ok(Reply {
                msg: req.name,
                node: String::new(),
            })
        })
        .handle_raw(
            "Helloworld.Raw",
            server::raw(|_ctx, payload| async move { Ok(payload) }),
        )
        .stream(
            "Helloworld.Stream",
            |_ctx, mut stream: server::Stream| async move {
                let Some(req) = stream.recv_json::<StreamRequest>().await? else {
                    return Ok(());
                };
                for i in 0..req.count {
                    let reply = Reply {
                        msg: format!("Hello {} {i}", req.name),
                        node: String::new(),
                    };
                    stream.send_json(&reply).await?;
                }
                Ok(())
            },
        )
        .stream(
            "Helloworld.Echo",
            |_ctx, mut stream: server::Stream| async move {
                while let Some(payload) = stream.recv().await? {
                    stream.send(payload).await?;
                }
                Ok(())
            },
        )
        .start()
        .await
        .unwrap();
    Node {
        address: running.address().to_string(),
        requests,
        _running: running,
    }
}

/// A server that answers every call with a `Micro-Error` that is not error JSON, as a
/// misbehaving peer might.
async fn plain_error_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (mut reader, responder) = accept(stream, 1 << 20);
            while let Ok(Some(_)) = reader.read().await {
                let header =
                    Header::from([("Micro-Error".to_string(), "plain failure".to_string())]);
                let reply = Message {
                    header,
                    body: Bytes::new(),
                };
                responder.send(&reply).await.unwrap();
            }
        }
    });
    address
}

/// A TCP relay in front of a node: counts the connections it accepts and can cut them all,
/// as a server closing idle connections would.
struct Relay {
    address: String,
    accepts: Arc<AtomicUsize>,
    links: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let accepts = Arc::new(AtomicUsize::new(0));
        let links = Arc::new(Mutex::new(Vec::new()));
        let (count, held) = (accepts.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let target = target.clone();
                let link = tokio::spawn(async move {
                    let mut outbound = TcpStream::connect(target).await.unwrap();
                    tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                        .await
                        .ok();
                });
                held.lock().unwrap().push(link.abort_handle());
            }
        });
        Relay {
            address,
            accepts,
            links,
        }
    }

    fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }

    /// Closes every open connection.
    async fn cut(&self) {
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
        // Let the aborted tasks drop their sockets.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Registers a `helloworld` node at `address` beside the running ones.
async fn register_node(registry: &Memory, address: &str) {
    let service = Service {
        name: "helloworld".into(),
        version: "extra".into(),
        nodes: vec![micro::registry::Node {
            id: format!("helloworld-{address}"),
            address: address.into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    registry.register(&service, None).await.unwrap();
}

/// One node and a client that finds it through the registry.
async fn one_node() -> (Client, Node) {
    let registry = Memory::new();
    let node = node(&registry, "a").await;
    (Client::new(Arc::new(registry)), node)
}

/// Options that call `address` directly.
fn at(address: &str) -> CallOptions {
    CallOptions {
        address: vec![address.to_string()],
        ..Default::default()
    }
}

/// An address where nothing listens.
async fn dead_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().to_string()
}

fn alice() -> Request {
    Request {
        name: "Alice".into(),
    }
}

#[tokio::test]
async fn call_decodes_the_reply_of_a_registered_node() {
    let (client, _node) = one_node().await;
    let reply: Reply = client
        .call("helloworld", "Helloworld.Call", &alice())
        .await
        .unwrap();
    assert_eq!(reply.msg, "Hello Alice");
}

#[tokio::test]
async fn call_carries_metadata_timeout_and_call_headers() {
    let (client, _node) = one_node().await;
    let options = CallOptions {
        metadata: [
            ("trace-id".to_string(), "t-1".to_string()),
            // Never sent: it would make a go-micro server take the call for an event.
            ("Micro-Topic".to_string(), "events".to_string()),
        ]
        .into(),
        ..Default::default()
    };
    let header: Header = client
        .call_with("helloworld", "Helloworld.Headers", &alice(), &options)
        .await
        .unwrap();
    assert_eq!(header["Trace-Id"], "t-1");
    assert!(!header.contains_key("Micro-Topic"), "{header:?}");
    assert_eq!(header["Content-Type"], "application/json");
    assert_eq!(header["Accept"], "application/json");
    assert_eq!(header["Micro-Service"], "helloworld");
    assert_eq!(header["Micro-Endpoint"], "Helloworld.Headers");
    assert_eq!(header["Micro-Method"], "Helloworld.Headers");
    assert!(!header["Micro-Id"].is_empty());
    assert_eq!(header["Micro-Stream"], header["Micro-Id"]);
    let timeout: u64 = header["Timeout"].parse().unwrap();
    assert!(
        (1_000_000_000..=30_000_000_000).contains(&timeout),
        "Timeout {timeout} ns is not the call's remaining time"
    );
}

#[tokio::test]
async fn a_browsers_headers_in_metadata_are_left_out_so_a_gateway_call_is_not_refused() {
    let (client, _node) = one_node().await;
    // What a gateway passing on a browser's request headers would give as metadata.
    let options = CallOptions {
        metadata: [
            ("Origin", "http://localhost:8080"),
            ("sec-fetch-site", "same-origin"),
            ("Sec-Fetch-Mode", "cors"),
            ("trace-id", "t-2"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into(),
        ..Default::default()
    };
    let header: Header = client
        .call_with("helloworld", "Helloworld.Headers", &alice(), &options)
        .await
        .unwrap();
    assert_eq!(header["Trace-Id"], "t-2");
    assert!(
        !header
            .keys()
            .any(|k| k == "Origin" || k.starts_with("Sec-Fetch-")),
        "{header:?}"
    );
}

#[tokio::test]
async fn server_error_json_comes_back_as_micro_error() {
    let (client, _node) = one_node().await;
    let err = client
        .call::<_, Reply>("helloworld", "Helloworld.Fail", &alice())
        .await
        .unwrap_err();
    assert_eq!(err, Error::conflict("helloworld", "name taken"));

    let err = client
        .call::<_, Reply>("helloworld", "Helloworld.Missing", &alice())
        .await
        .unwrap_err();
    assert_eq!((err.code, err.id.as_str()), (404, "helloworld"));
    assert_eq!(
        err.kind,
        Kind::NotFound,
        "the service's own 404 is no missing service"
    );
}

#[tokio::test]
async fn error_text_that_is_not_json_is_a_500_carrying_it() {
    let client = Client::new(Arc::new(Memory::new()));
    let options = CallOptions {
        retries: 0,
        ..at(&plain_error_server().await)
    };
    let err = client
        .call_with::<_, Reply>("odd", "Odd.Call", &alice(), &options)
        .await
        .unwrap_err();
    assert_eq!((err.code, err.detail.as_str()), (500, "plain failure"));
}

#[tokio::test]
async fn a_refused_dial_keeps_the_socket_error_as_its_source() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let client = Client::new(Arc::new(Memory::new()));
    let options = CallOptions {
        retries: 0,
        ..at(&address)
    };
    let err = client
        .call_with::<_, Reply>("gone", "Gone.Call", &alice(), &options)
        .await
        .unwrap_err();
    assert_eq!(err.code, 500, "{err:?}");
    let source = std::error::Error::source(&err).expect("the dial's own error is kept");
    let io = source
        .downcast_ref::<std::io::Error>()
        .expect("an io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(
        !err.to_json().contains("source"),
        "the cause stays off the wire"
    );
}

#[tokio::test]
async fn unknown_service_fails_at_once_with_404() {
    let registry = Memory::new();
    let client = Client::new(Arc::new(registry.clone()));
    let request = alice();
    let call = client.call::<_, Reply>("nobody", "Nobody.Call", &request);
    // The call's own timeout is 30 s; a lookup failure must not wait for it.
    let err = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("an unknown service fails without waiting")
        .unwrap_err();
    assert_eq!((err.code, err.id.as_str()), (404, "go.micro.client"));
    assert_eq!(err.detail, "service nobody: not found");
    assert_eq!(err.kind, Kind::NoService);

    // A registered service without nodes is just as absent.
    let empty = Service {
        name: "empty".into(),
        ..Default::default()
    };
    registry.register(&empty, None).await.unwrap();
    let err = client
        .call::<_, Reply>("empty", "Empty.Call", &alice())
        .await
        .unwrap_err();
    assert_eq!(err.code, 404);

    let err = client
        .stream("nobody", "Nobody.Stream", &CallOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(err.code, 404);
}

/// Four calls, round-robin between the node named `live` and the one at `other`, with no
/// pause between attempts: every other first attempt goes to `other`, and each must end on
/// the live node. The client and options, for more calls.
async fn live_answers_every_call(registry: Memory, other: &str) -> (Client, CallOptions) {
    register_node(&registry, other).await;
    let client = Client::new(Arc::new(registry)).selector(Selector::RoundRobin);
    let options = CallOptions {
        backoff: Backoff::None,
        ..Default::default()
    };
    for _ in 0..4 {
        let reply: Reply = client
            .call_with("helloworld", "Helloworld.Call", &alice(), &options)
            .await
            .unwrap();
        assert_eq!(reply.node, "live");
    }
    (client, options)
}

#[tokio::test]
async fn retry_goes_to_another_node_when_one_is_dead() {
    let registry = Memory::new();
    let _live = node(&registry, "live").await;
    let dead = dead_address().await;
    let (client, options) = live_answers_every_call(registry, &dead).await;

    // Streams open on the live node the same way.
    for _ in 0..2 {
        let mut stream = client
            .stream("helloworld", "Helloworld.Echo", &options)
            .await
            .unwrap();
        stream.send(Bytes::from("ping")).await.unwrap();
        assert_eq!(stream.recv().await.unwrap().unwrap(), "ping");
    }

    // Without retries the dead node's connection failure is the answer.
    let only_dead = CallOptions {
        retries: 0,
        ..at(&dead)
    };
    let err = client
        .call_with::<_, Reply>("helloworld", "Helloworld.Call", &alice(), &only_dead)
        .await
        .unwrap_err();
    assert_eq!(err.code, 500);
    assert!(err.detail.contains(&dead), "{}", err.detail);
}

/// A node that reads each request and goes away without answering, as a node killed mid-call
/// does; counts the requests it took.
async fn vanishing_node() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let taken = Arc::new(AtomicUsize::new(0));
    let count = taken.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            if tokio::io::AsyncReadExt::read(&mut conn, &mut buf)
                .await
                .unwrap_or(0)
                > 0
            {
                count.fetch_add(1, Ordering::SeqCst);
            }
            // Dropped: the connection closes with no answer.
        }
    });
    (address, taken)
}

#[tokio::test]
async fn a_call_whose_node_goes_away_unanswered_is_retried_on_another() {
    let registry = Memory::new();
    let live = node(&registry, "live").await;
    let (vanishing, taken) = vanishing_node().await;
    live_answers_every_call(registry, &vanishing).await;
    assert!(
        taken.load(Ordering::SeqCst) >= 2,
        "the vanishing node got no calls"
    );
    assert_eq!(
        live.requests.load(Ordering::SeqCst),
        4,
        "each call ran once"
    );
}

#[tokio::test]
async fn a_failing_handler_runs_once_per_call_by_default() {
    let registry = Memory::new();
    let bad = node(&registry, "bad").await;
    let client = Client::new(Arc::new(registry));
    for call in 1..=3 {
        let err = client
            .call::<_, Reply>("helloworld", "Helloworld.Flaky", &alice())
            .await
            .unwrap_err();
        assert_eq!(err, Error::internal("helloworld", "out of order"));
        assert_eq!(bad.requests.load(Ordering::SeqCst), call);
    }
}

/// An answer that is an HTTP error (as a proxy, or go-micro's transport failing, gives), on a
/// pooled connection, is the call's answer: the call is not sent again on a new connection,
/// which would run the handler twice.
#[tokio::test]
async fn an_http_error_answered_on_a_pooled_connection_is_not_sent_again() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = requests.clone();
    // Answers the first request of each connection 200 and every later one 503, keeping the
    // connection open.
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                for n in 0.. {
                    let (mut line, mut length) = (String::new(), 0);
                    loop {
                        line.clear();
                        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    stream.read_exact(&mut vec![0; length]).await.unwrap();
                    seen.fetch_add(1, Ordering::SeqCst);
                    let answer: &[u8] = if n == 0 {
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                    } else {
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"
                    };
                    stream.get_mut().write_all(answer).await.unwrap();
                }
            });
        }
    });
    let client = Client::new(Arc::new(Memory::new()));
    let options = CallOptions {
        retries: 0,
        ..at(&address)
    };
    let ok: serde_json::Value = client
        .call_with("any", "Any.Call", &alice(), &options)
        .await
        .unwrap();
    assert_eq!(ok, serde_json::json!({}));
    let err = client
        .call_with::<_, serde_json::Value>("any", "Any.Call", &alice(), &options)
        .await
        .unwrap_err();
    assert!(err.detail.contains("503"), "{err}");
    assert_eq!(
        requests.load(Ordering::SeqCst),
        2,
        "the second call was sent once"
    );
}

#[tokio::test]
async fn a_timeout_answered_by_a_service_is_retried_on_another_node() {
    let registry = Memory::new();
    let (bad, good) = (node(&registry, "bad").await, node(&registry, "good").await);
    let client = Client::new(Arc::new(registry)).selector(Selector::RoundRobin);
    let options = CallOptions {
        backoff: Backoff::None,
        ..Default::default()
    };
    for _ in 0..4 {
        let reply: Reply = client
            .call_with("helloworld", "Helloworld.Busy", &alice(), &options)
            .await
            .unwrap();
        assert_eq!(reply.node, "good");
    }
    assert_eq!(bad.requests.load(Ordering::SeqCst), 2);
    assert_eq!(good.requests.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_caller_who_opts_in_gets_failed_handlers_retried() {
    let registry = Memory::new();
    let (bad, good) = (node(&registry, "bad").await, node(&registry, "good").await);
    let client = Client::new(Arc::new(registry)).selector(Selector::RoundRobin);
    let always = CallOptions {
        retry: Retry::Always,
        backoff: Backoff::None,
        ..Default::default()
    };
    for _ in 0..4 {
        let reply: Reply = client
            .call_with("helloworld", "Helloworld.Flaky", &alice(), &always)
            .await
            .unwrap();
        assert_eq!(reply.node, "good");
    }
    assert_eq!(bad.requests.load(Ordering::SeqCst), 2);
    assert_eq!(good.requests.load(Ordering::SeqCst), 4);

    // With one node, each retry runs the handler there again, as many times as asked.
    let only_bad = CallOptions {
        retries: 2,
        address: vec![bad.address.clone()],
        ..always
    };
    let err = client
        .call_with::<_, Reply>("helloworld", "Helloworld.Flaky", &alice(), &only_bad)
        .await
        .unwrap_err();
    assert_eq!(err.code, 500);
    assert_eq!(bad.requests.load(Ordering::SeqCst), 2 + 3);
}

#[tokio::test]
async fn errors_below_500_are_not_retried() {
    let (client, node) = one_node().await;
    let options = CallOptions {
        retries: 3,
        backoff: Backoff::None,
        ..Default::default()
    };
    let err = client
        .call_with::<_, Reply>("helloworld", "Helloworld.Fail", &alice(), &options)
        .await
        .unwrap_err();
    assert_eq!(err.code, 409);
    assert_eq!(node.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn call_past_its_timeout_is_a_408_from_the_client() {
    let (client, _node) = one_node().await;
    let options = CallOptions {
        timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let err = client
        .call_with::<_, Reply>("helloworld", "Helloworld.Slow", &alice(), &options)
        .await
        .unwrap_err();
    assert_eq!((err.code, err.id.as_str()), (408, "go.micro.client"));
    assert!(err.detail.contains("Helloworld.Slow"), "{}", err.detail);
}

#[tokio::test]
async fn pool_reuses_one_connection_for_sequential_calls() {
    let (client, node) = one_node().await;
    let relay = Relay::start(node.address.clone()).await;
    for _ in 0..5 {
        let _: Reply = client
            .call_with(
                "helloworld",
                "Helloworld.Call",
                &alice(),
                &at(&relay.address),
            )
            .await
            .unwrap();
    }
    assert_eq!(relay.accepts(), 1);
}

#[tokio::test]
async fn pooled_connection_closed_by_the_server_does_not_fail_the_call() {
    let (client, node) = one_node().await;
    let relay = Relay::start(node.address.clone()).await;
    let no_retries = CallOptions {
        retries: 0,
        ..at(&relay.address)
    };
    let _: Reply = client
        .call_with("helloworld", "Helloworld.Call", &alice(), &no_retries)
        .await
        .unwrap();
    relay.cut().await;
    let reply: Reply = client
        .call_with("helloworld", "Helloworld.Call", &alice(), &no_retries)
        .await
        .unwrap();
    assert_eq!(reply.msg, "Hello Alice");
    assert_eq!(relay.accepts(), 2);
}

#[tokio::test]
async fn server_stream_is_received_until_the_servers_eos() {
    let (client, _node) = one_node().await;
    let mut stream = client
        .stream("helloworld", "Helloworld.Stream", &CallOptions::default())
        .await
        .unwrap();
    let request = StreamRequest {
        name: "Bob".into(),
        count: 3,
    };
    stream.send_json(&request).await.unwrap();
    let mut got = Vec::new();
    while let Some(reply) = stream.recv_json::<Reply>().await.unwrap() {
        got.push(reply.msg);
    }
    assert_eq!(got, ["Hello Bob 0", "Hello Bob 1", "Hello Bob 2"]);
    // The end stays the end.
    assert!(stream.recv().await.unwrap().is_none());
}

#[tokio::test]
async fn bidirectional_stream_sends_receives_and_closes() {
    let (client, _node) = one_node().await;
    let mut stream = client
        .stream("helloworld", "Helloworld.Echo", &CallOptions::default())
        .await
        .unwrap();
    for word in ["one", "two", "three"] {
        stream.send_json(&alice()).await.unwrap();
        stream.send(Bytes::from(word)).await.unwrap();
        let echoed: Request = stream.recv_json().await.unwrap().unwrap();
        assert_eq!(echoed.name, "Alice");
        assert_eq!(stream.recv().await.unwrap().unwrap(), word);
    }
    stream.close().await.unwrap();
    // Our server ends its side when the caller's EOS arrives.
    assert!(stream.recv().await.unwrap().is_none());
    let err = stream.send(Bytes::from("late")).await.unwrap_err();
    assert_eq!(err.code, 400);
}

#[tokio::test]
async fn split_stream_sends_and_receives_from_two_tasks() {
    let (client, _node) = one_node().await;
    let stream = client
        .stream("helloworld", "Helloworld.Echo", &CallOptions::default())
        .await
        .unwrap();
    let (mut sender, mut receiver) = stream.split();
    let sending = tokio::spawn(async move {
        for i in 0..10 {
            sender.send(Bytes::from(format!("m{i}"))).await.unwrap();
        }
        sender.close().await.unwrap();
    });
    let mut got = Vec::new();
    while let Some(body) = receiver.recv().await.unwrap() {
        got.push(String::from_utf8(body.to_vec()).unwrap());
    }
    sending.await.unwrap();
    let sent: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    assert_eq!(got, sent);
}

#[tokio::test]
async fn calling_a_stream_endpoint_as_a_call_is_refused_at_once() {
    let (client, _node) = one_node().await;
    let err = client
        .call::<_, Reply>("helloworld", "Helloworld.Stream", &alice())
        .await
        .unwrap_err();
    assert_eq!(err.code, 400);
    assert!(err.detail.contains("Client::stream"), "{}", err.detail);
}

#[tokio::test]
async fn grpc_bodies_are_framed_and_unframed_by_the_client() {
    let (client, _node) = one_node().await;
    let options = CallOptions {
        content_type: "application/grpc+json".into(),
        ..Default::default()
    };
    let reply: Reply = client
        .call_with("helloworld", "Helloworld.Call", &alice(), &options)
        .await
        .unwrap();
    assert_eq!(reply.msg, "Hello Alice");

    // Raw calls carry payloads; the 5-byte prefix is the client's business, and the raw
    // handler sees the payload without it.
    let raw = RawRequest {
        service: "helloworld".into(),
        endpoint: "Helloworld.Raw".into(),
        body: Bytes::from_static(b"\x08\x01"),
    };
    let grpc = CallOptions {
        content_type: "application/grpc".into(),
        ..Default::default()
    };
    let response = client.call_raw(raw, &grpc).await.unwrap();
    assert_eq!(response.body, Bytes::from_static(b"\x08\x01"));
    assert_eq!(response.header["Content-Type"], "application/grpc");
}

#[tokio::test]
async fn typed_call_with_a_byte_codec_is_refused_with_415() {
    let (client, node) = one_node().await;
    let options = CallOptions {
        content_type: "application/protobuf".into(),
        ..Default::default()
    };
    let err = client
        .call_with::<_, Reply>("helloworld", "Helloworld.Call", &alice(), &options)
        .await
        .unwrap_err();
    assert_eq!(err.code, 415);
    assert!(err.detail.contains("call_raw"), "{}", err.detail);
    assert_eq!(node.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn round_robin_spreads_calls_over_every_node() {
    let registry = Memory::new();
    let (_a, _b) = (node(&registry, "a").await, node(&registry, "b").await);
    let client = Client::new(Arc::new(registry)).selector(Selector::RoundRobin);
    let mut seen = Vec::new();
    for _ in 0..4 {
        let reply: Reply = client
            .call("helloworld", "Helloworld.Call", &alice())
            .await
            .unwrap();
        seen.push(reply.node);
    }
    seen.sort();
    assert_eq!(seen, ["a", "a", "b", "b"]);
}

#[tokio::test]
async fn address_option_skips_the_registry() {
    let direct = node(&Memory::new(), "direct").await;
    let client = Client::new(Arc::new(Memory::new()));
    let reply: Reply = client
        .call_with(
            "unregistered",
            "Helloworld.Call",
            &alice(),
            &at(&direct.address),
        )
        .await
        .unwrap();
    assert_eq!(reply.node, "direct");
}

#[tokio::test]
async fn publish_reaches_a_subscriber_with_go_micro_headers() {
    let broker = Arc::new(broker::Memory::new());
    let (got, mut received) = mpsc::unbounded_channel();
    let _subscription = broker
        .subscribe(
            "greetings",
            broker::handler(move |topic, message| {
                let got = got.clone();
                async move {
                    got.send((topic, message)).ok();
                    Ok(())
                }
            }),
            Default::default(),
        )
        .await
        .unwrap();
    let client = Client::new(Arc::new(Memory::new())).broker(broker);
    client.publish("greetings", &alice()).await.unwrap();
    let (topic, message) = received.recv().await.unwrap();
    assert_eq!(topic, "greetings");
    assert_eq!(message.header["Content-Type"], "application/json");
    assert_eq!(message.header["Micro-Topic"], "greetings");
    assert_eq!(message.header["Micro-Id"].len(), 36);
    assert_eq!(message.body, r#"{"name":"Alice"}"#);

    let err = Client::new(Arc::new(Memory::new()))
        .publish("greetings", &alice())
        .await
        .unwrap_err();
    assert!(err.detail.contains("no broker"), "{}", err.detail);
}

#[tokio::test]
async fn middleware_runs_outermost_first_and_can_add_metadata() {
    let (client, _node) = one_node().await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let layer = |name: &'static str| {
        let log = log.clone();
        middleware(move |request, mut options, next| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(format!("{name} in"));
                options
                    .metadata
                    .insert(format!("Layer-{name}"), "yes".into());
                let response = next(request, options).await;
                log.lock().unwrap().push(format!("{name} out"));
                response
            }
        })
    };
    let client = client.wrap(layer("outer")).wrap(layer("inner"));
    let header: Header = client
        .call("helloworld", "Helloworld.Headers", &alice())
        .await
        .unwrap();
    assert_eq!(header["Layer-Outer"], "yes");
    assert_eq!(header["Layer-Inner"], "yes");
    assert_eq!(
        *log.lock().unwrap(),
        ["outer in", "inner in", "inner out", "outer out"]
    );
}

#[tokio::test]
async fn from_config_uses_the_chosen_registry_and_broker() {
    let config = micro::config::Config {
        registry: Some("memory".into()),
        broker: Some("memory".into()),
        ..Default::default()
    };
    let client = Client::from_config(&config).unwrap();
    client.publish("nobody-listens", &alice()).await.unwrap();
    let err = client
        .call::<_, Reply>("helloworld", "Helloworld.Call", &alice())
        .await
        .unwrap_err();
    assert_eq!(err.code, 404);

    let bad = micro::config::Config {
        registry: Some("zookeeper".into()),
        ..Default::default()
    };
    let err = Client::from_config(&bad).err().unwrap();
    assert!(err.detail.contains("unknown registry"), "{}", err.detail);
}
