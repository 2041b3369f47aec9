//! The server and `Service` over real loopback sockets, spoken to with go-micro's transport
//! messages: unary calls, streams, errors, health, registration, graceful stop, bad input.

use bytes::Bytes;
use micro::broker::{self, Broker};
use micro::registry::{Memory, Registry};
use micro::server::{Context, Limits, Stream};
use micro::transport::{Conn, Header, Message, micro_header};
use micro::{Error, Group, Service};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Deserialize, JsonSchema)]
struct Request {
    name: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Response {
    msg: String,
}

async fn hello(_ctx: Context, req: Request) -> micro::Result<Response> {
    Ok(Response {
        msg: format!("Hello {}", req.name),
    })
}

fn service(registry: &Arc<Memory>) -> Service {
    Service::new("greeter")
        .registry(registry.clone())
        .handle("Greeter.Hello", hello)
        .describe("Greeter.Hello", "Greets a person", r#"{"name":"Alice"}"#)
        .scopes("Greeter.Hello", &["greeter:read"])
        .handle("Greeter.Fail", |_ctx, _req: Request| async move {
            Err::<Response, _>(Error::conflict("greeter", "already greeted"))
        })
        .handle("Greeter.Panic", |_ctx, _req: Request| async move {
            if true {
                panic!("boom");
            }
            Ok(Response { msg: String::new() })
        })
        .handle("Greeter.Slow", |_ctx, req: Request| async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(Response { msg: req.name })
        })
        .stream("Greeter.Count", |_ctx, mut stream: Stream| async move {
            let req: serde_json::Value = stream.recv_json().await?.unwrap_or_default();
            for i in 0..req["count"].as_u64().unwrap_or(0) {
                stream.send_json(&serde_json::json!({ "i": i })).await?;
            }
            Ok(())
        })
        .stream("Greeter.Echo", |_ctx, mut stream: Stream| async move {
            while let Some(payload) = stream.recv().await? {
                stream.send(payload).await?;
            }
            Ok(())
        })
}

fn headers(endpoint: &str, content_type: &str) -> Header {
    Header::from([
        ("Content-Type".to_string(), content_type.to_string()),
        ("Micro-Id".to_string(), "42".to_string()),
        ("Micro-Service".to_string(), "greeter".to_string()),
        ("Micro-Endpoint".to_string(), endpoint.to_string()),
        ("Micro-Method".to_string(), endpoint.to_string()),
    ])
}

async fn dial(address: std::net::SocketAddr) -> Conn {
    Conn::dial(&address.to_string(), Duration::from_secs(2), 1 << 20)
        .await
        .unwrap()
}

async fn call(conn: &mut Conn, endpoint: &str, body: &str) -> Message {
    let message = Message {
        header: headers(endpoint, "application/json"),
        body: Bytes::from(body.to_string()),
    };
    conn.send(&message).await.unwrap();
    conn.recv().await.unwrap()
}

fn error_of(message: &Message) -> Error {
    Error::parse(micro_header(&message.header, "Error").expect("a Micro-Error header"))
}

#[tokio::test]
async fn unary_calls_answer_with_the_call_headers() {
    let registry = Arc::new(Memory::new());
    let running = service(&registry).start().await.unwrap();
    let mut conn = dial(running.address()).await;
    for name in ["Alice", "Bob"] {
        let reply = call(
            &mut conn,
            "Greeter.Hello",
            &format!(r#"{{"name":"{name}"}}"#),
        )
        .await;
        assert_eq!(micro_header(&reply.header, "Error"), None);
        assert_eq!(micro_header(&reply.header, "Id"), Some("42"));
        assert_eq!(reply.header["Content-Type"], "application/json");
        let rsp: Response = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(rsp.msg, format!("Hello {name}"));
    }
    running.stop().await.unwrap();
}

#[tokio::test]
async fn errors_travel_as_go_micro_error_json() {
    let registry = Arc::new(Memory::new());
    let running = service(&registry).start().await.unwrap();
    let mut conn = dial(running.address()).await;

    let reply = call(&mut conn, "Greeter.Fail", r#"{"name":"x"}"#).await;
    assert_eq!(
        error_of(&reply),
        Error::conflict("greeter", "already greeted")
    );
    assert!(reply.body.is_empty());

    let err = error_of(&call(&mut conn, "Greeter.Nope", "{}").await);
    assert_eq!(err.code, 404);
    assert!(
        err.detail.contains("Greeter.Hello"),
        "lists what it serves: {}",
        err.detail
    );

    let err = error_of(&call(&mut conn, "Greeter.Hello", r#"{"name":5}"#).await);
    assert_eq!(err.code, 400, "{err}");

    let mut odd = Message {
        header: headers("Greeter.Hello", "text/yaml"),
        body: Bytes::from_static(b"name: x"),
    };
    conn.send(&odd).await.unwrap();
    let err = error_of(&conn.recv().await.unwrap());
    assert_eq!(err.code, 415, "{err}");

    odd.header.insert(
        "Timeout".into(),
        Duration::from_millis(50).as_nanos().to_string(),
    );
    odd.header
        .insert("Content-Type".into(), "application/json".into());
    odd.header
        .insert("Micro-Endpoint".into(), "Greeter.Slow".into());
    odd.body = Bytes::from_static(br#"{"name":"x"}"#);
    conn.send(&odd).await.unwrap();
    assert_eq!(error_of(&conn.recv().await.unwrap()).code, 408);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_and_the_service_keeps_serving() {
    let registry = Arc::new(Memory::new());
    let running = service(&registry).start().await.unwrap();
    let mut conn = dial(running.address()).await;
    let err = error_of(&call(&mut conn, "Greeter.Panic", r#"{"name":"x"}"#).await);
    assert_eq!(err.code, 500);
    assert!(err.detail.contains("panicked: boom"), "{}", err.detail);
    let reply = call(&mut conn, "Greeter.Hello", r#"{"name":"again"}"#).await;
    assert_eq!(
        serde_json::from_slice::<Response>(&reply.body).unwrap().msg,
        "Hello again"
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn garbage_and_oversize_bodies_are_refused_and_the_service_keeps_serving() {
    let registry = Arc::new(Memory::new());
    let running = service(&registry)
        .max_body_size(1024)
        .start()
        .await
        .unwrap();

    let mut raw = tokio::net::TcpStream::connect(running.address())
        .await
        .unwrap();
    raw.write_all(b"\x16\x03\x01 not http at all\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    raw.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("malformed HTTP message"), "{answer}");

    let mut conn = dial(running.address()).await;
    let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(4096));
    conn.send(&Message {
        header: headers("Greeter.Hello", "application/json"),
        body: big.into(),
    })
    .await
    .unwrap();
    let err = conn.recv().await.unwrap_err();
    assert!(err.detail.contains("HTTP 413"), "{}", err.detail);

    let mut conn = dial(running.address()).await;
    let reply = call(&mut conn, "Greeter.Hello", r#"{"name":"still here"}"#).await;
    assert_eq!(
        serde_json::from_slice::<Response>(&reply.body).unwrap().msg,
        "Hello still here"
    );
    running.stop().await.unwrap();
}

fn stream_message(endpoint: &str, body: &str) -> Message {
    let mut header = headers(endpoint, "application/json");
    header.insert("Micro-Stream".into(), "7".into());
    Message {
        header,
        body: Bytes::from(body.to_string()),
    }
}

#[tokio::test]
async fn server_stream_sends_every_message_then_eos() {
    let registry = Arc::new(Memory::new());
    let running = service(&registry).start().await.unwrap();
    let mut conn = dial(running.address()).await;
    // As go-micro does: an opening message (its body is not the request), then the request.
    conn.send(&stream_message("Greeter.Count", "{}"))
        .await
        .unwrap();
    conn.send(&stream_message("Greeter.Count", r#"{"count":3}"#))
        .await
        .unwrap();
    for i in 0..3 {
        let reply = conn.recv().await.unwrap();
        assert_eq!(micro_header(&reply.header, "Stream"), Some("7"));
        let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(body["i"], i);
    }
    let end = conn.recv().await.unwrap();
    assert_eq!(micro_header(&end.header, "Error"), Some("EOS"));
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_unary_endpoint_called_with_a_stream_id_answers_as_a_call() {
    let registry = Arc::new(Memory::new());
    let running = service(&registry).start().await.unwrap();
    let mut conn = dial(running.address()).await;
    conn.send(&stream_message("Greeter.Hello", r#"{"name":"go"}"#))
        .await
        .unwrap();
    let reply = conn.recv().await.unwrap();
    assert_eq!(
        serde_json::from_slice::<Response>(&reply.body).unwrap().msg,
        "Hello go"
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn bidirectional_stream_echoes_until_the_caller_closes() {
    let registry = Arc::new(Memory::new());
    let running = service(&registry).start().await.unwrap();
    let (mut tx, mut rx) = dial(running.address()).await.split();
    tx.send(&stream_message("Greeter.Echo", "")).await.unwrap();
    for word in ["one", "two"] {
        tx.send(&stream_message("Greeter.Echo", word))
            .await
            .unwrap();
        assert_eq!(rx.recv().await.unwrap().body, word);
    }
    let mut close = stream_message("Greeter.Echo", "");
    close.header.insert("Micro-Error".into(), "EOS".into());
    tx.send(&close).await.unwrap();
    assert_eq!(
        micro_header(&rx.recv().await.unwrap().header, "Error"),
        Some("EOS")
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_caller_that_disconnects_mid_stream_leaves_no_task_running() {
    let alive = Arc::new(AtomicUsize::new(0));
    let counter = alive.clone();
    struct Alive(Arc<AtomicUsize>);
    impl Drop for Alive {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let registry = Arc::new(Memory::new());
    let running = Service::new("forever")
        .registry(registry.clone())
        .stream("Forever.Wait", move |_ctx, mut stream: Stream| {
            counter.fetch_add(1, Ordering::SeqCst);
            let guard = Alive(counter.clone());
            async move {
                let _guard = guard;
                // Waits for a message that never comes.
                stream.recv().await?;
                std::future::pending::<()>().await;
                Ok(())
            }
        })
        .start()
        .await
        .unwrap();
    let mut conn = dial(running.address()).await;
    conn.send(&stream_message("Forever.Wait", ""))
        .await
        .unwrap();
    conn.send(&stream_message("Forever.Wait", "x"))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while alive.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(conn);
    while alive.load(Ordering::SeqCst) != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream task outlived its connection"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    running.stop().await.unwrap();
}

async fn get(address: std::net::SocketAddr, path: &str) -> String {
    let mut raw = tokio::net::TcpStream::connect(address).await.unwrap();
    raw.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = vec![0u8; 1024];
    let n = raw.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn health_endpoints_answer_on_the_service_port() {
    let registry = Arc::new(Memory::new());
    let running = service(&registry).start().await.unwrap();
    assert!(
        get(running.address(), "/health")
            .await
            .starts_with("HTTP/1.1 200")
    );
    assert!(
        get(running.address(), "/health/live")
            .await
            .starts_with("HTTP/1.1 200")
    );
    let ready = get(running.address(), "/health/ready").await;
    assert!(
        ready.starts_with("HTTP/1.1 200") && ready.contains("ready"),
        "{ready}"
    );
    assert!(
        get(running.address(), "/nope")
            .await
            .starts_with("HTTP/1.1 404")
    );
    running.stop().await.unwrap();
}

/// Sends one raw HTTP request to `address`, closes the sending side and reads all that comes
/// back.
async fn exchange_raw(address: std::net::SocketAddr, request: &str) -> String {
    let mut raw = tokio::net::TcpStream::connect(address).await.unwrap();
    raw.write_all(request.as_bytes()).await.unwrap();
    raw.shutdown().await.unwrap();
    let mut reply = Vec::new();
    raw.read_to_end(&mut reply).await.unwrap();
    String::from_utf8_lossy(&reply).into_owned()
}

#[tokio::test]
async fn a_browser_request_is_refused_with_403_and_never_reaches_the_handler() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let running = Service::new("counter")
        .registry(Arc::new(Memory::new()))
        .handle("Counter.Hit", move |_ctx, req: Request| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { Ok(Response { msg: req.name }) }
        })
        .start()
        .await
        .unwrap();
    let body = r#"{"name":"Eve"}"#;
    let post = |extra: &str| {
        format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nMicro-Service: counter\r\nMicro-Endpoint: Counter.Hit\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    for extra in [
        "Origin: http://evil.example\r\n",
        "Sec-Fetch-Site: cross-site\r\n",
        "sec-fetch-mode: no-cors\r\n",
    ] {
        let reply = exchange_raw(running.address(), &post(extra)).await;
        assert!(reply.starts_with("HTTP/1.1 403"), "{extra:?} got {reply}");
        let err = Error::parse(reply.split("\r\n\r\n").nth(1).unwrap_or(""));
        assert_eq!((err.code, err.id.as_str()), (403, "counter"), "{reply}");
        assert!(err.detail.contains("does not serve browsers"), "{reply}");
    }
    let health = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\n\r\n";
    let reply = exchange_raw(running.address(), health).await;
    assert!(reply.starts_with("HTTP/1.1 403"), "{reply}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let reply = exchange_raw(running.address(), &post("")).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with(r#"{"msg":"Eve"}"#), "{reply}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    running.stop().await.unwrap();
}

/// Short limits for the tests of slow, idle and surplus clients.
fn tight(limits: Limits) -> Limits {
    Limits {
        header_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(300),
        ..limits
    }
}

/// Writes `bytes` one every 50 ms, as a slowloris client does, until done or refused.
async fn trickle(writer: &mut tokio::net::tcp::OwnedWriteHalf, bytes: &[u8]) {
    for byte in bytes {
        if writer.write_all(&[*byte]).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_client_that_trickles_a_request_is_cut_off_with_408() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let running = service(&Arc::new(Memory::new()))
        .limits(tight(Limits::default()))
        .wrap(Arc::new(move |ctx, body, next: micro::server::Handler| {
            counter.fetch_add(1, Ordering::SeqCst);
            next(ctx, body)
        }))
        .start()
        .await
        .unwrap();
    let body = r#"{"name":"Slow"}"#;
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nMicro-Endpoint: Greeter.Hello\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    // The head a byte at a time; then a head sent whole and the body a byte at a time.
    for (sent_whole, trickled, part) in [
        ("", format!("{head}{body}"), "head"),
        (head.as_str(), body.to_string(), "body"),
    ] {
        let (mut reader, mut writer) = tokio::net::TcpStream::connect(running.address())
            .await
            .unwrap()
            .into_split();
        writer.write_all(sent_whole.as_bytes()).await.unwrap();
        let slow = async {
            trickle(&mut writer, trickled.as_bytes()).await;
            std::future::pending::<()>().await
        };
        let mut reply = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), async {
            tokio::select! {
                read = reader.read_to_end(&mut reply) => read,
                () = slow => unreachable!(),
            }
        });
        read.await
            .expect("the slow client was never cut off")
            .unwrap();
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 408"), "{part}: {reply}");
        assert!(
            reply.contains(&format!("the message {part} did not arrive within 300ms")),
            "{reply}"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn an_idle_connection_is_closed_but_one_with_an_open_stream_is_kept() {
    let registry = Arc::new(Memory::new());
    let running = service(&registry)
        .limits(tight(Limits::default()))
        .start()
        .await
        .unwrap();
    let mut idle = dial(running.address()).await;
    call(&mut idle, "Greeter.Hello", r#"{"name":"Idle"}"#).await;
    let closed = tokio::time::timeout(Duration::from_secs(10), idle.recv())
        .await
        .expect("the idle connection was never closed");
    assert!(
        closed.unwrap_err().detail.contains("closed the connection"),
        "an idle connection got a message"
    );

    // A stream that stays quiet for longer than the idle timeout keeps its connection.
    let (mut tx, mut rx) = dial(running.address()).await.split();
    tx.send(&stream_message("Greeter.Echo", "")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    tx.send(&stream_message("Greeter.Echo", r#"{"still":"here"}"#))
        .await
        .unwrap();
    assert_eq!(rx.recv().await.unwrap().body, r#"{"still":"here"}"#);

    // A pooled client whose connection was closed for idleness redials without failing.
    let client = micro::Client::new(registry.clone());
    let options = micro::client::CallOptions {
        retries: 0,
        ..Default::default()
    };
    for _ in 0..2 {
        let rsp: Response = client
            .call_with(
                "greeter",
                "Greeter.Hello",
                &serde_json::json!({"name": "Pool"}),
                &options,
            )
            .await
            .unwrap();
        assert_eq!(rsp.msg, "Hello Pool");
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    running.stop().await.unwrap();
}

#[tokio::test]
async fn connections_past_the_cap_are_not_served_until_one_closes() {
    let running = service(&Arc::new(Memory::new()))
        .limits(Limits {
            max_connections: 2,
            ..Limits::default()
        })
        .start()
        .await
        .unwrap();
    let mut first = dial(running.address()).await;
    let mut second = dial(running.address()).await;
    for conn in [&mut first, &mut second] {
        let reply = call(conn, "Greeter.Hello", r#"{"name":"In"}"#).await;
        assert_eq!(micro_header(&reply.header, "Error"), None);
    }
    let mut third = dial(running.address()).await;
    let message = Message {
        header: headers("Greeter.Hello", "application/json"),
        body: Bytes::from(r#"{"name":"Third"}"#),
    };
    third.send(&message).await.unwrap();
    let early = tokio::time::timeout(Duration::from_millis(500), third.recv()).await;
    assert!(early.is_err(), "a connection past the cap was served");
    drop(first);
    let reply = tokio::time::timeout(Duration::from_secs(10), third.recv())
        .await
        .expect("the waiting connection was never served once another closed")
        .unwrap();
    let rsp: Response = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(rsp.msg, "Hello Third");
    // The second is still served as before.
    call(&mut second, "Greeter.Hello", r#"{"name":"Still"}"#).await;
    running.stop().await.unwrap();
}

#[tokio::test]
async fn zero_limits_are_refused_at_start() {
    let err = service(&Arc::new(Memory::new()))
        .limits(Limits {
            max_connections: 0,
            ..Limits::default()
        })
        .start()
        .await
        .err()
        .expect("a service that could serve no one started");
    assert!(
        err.detail.contains("max_connections is zero"),
        "{}",
        err.detail
    );
}

#[tokio::test]
async fn registration_publishes_endpoints_docs_schemas_and_node_then_leaves_on_stop() {
    let registry = Arc::new(Memory::new());
    let running = service(&registry)
        .version("1.2")
        .metadata("team", "core")
        .start()
        .await
        .unwrap();
    let found = registry.get_service("greeter").await.unwrap();
    let svc = &found[0];
    assert_eq!(
        (svc.version.as_str(), svc.metadata["team"].as_str()),
        ("1.2", "core")
    );
    let node = &svc.nodes[0];
    assert!(node.id.starts_with("greeter-"));
    assert_eq!(node.address, running.address().to_string());
    assert_eq!(node.metadata["protocol"], "mucp");
    assert_eq!(node.metadata["server"], "mucp");
    assert_eq!(node.metadata["transport"], "http");
    let hello = svc
        .endpoints
        .iter()
        .find(|e| e.name == "Greeter.Hello")
        .unwrap();
    assert_eq!(hello.metadata["description"], "Greets a person");
    assert_eq!(hello.metadata["example"], r#"{"name":"Alice"}"#);
    assert_eq!(hello.metadata["scopes"], "greeter:read");
    let request = hello.request.as_ref().unwrap();
    assert_eq!(request.values[0].name, "name");
    assert_eq!(request.values[0].kind, "string");
    let count = svc
        .endpoints
        .iter()
        .find(|e| e.name == "Greeter.Count")
        .unwrap();
    assert_eq!(count.metadata["stream"], "true");

    running.stop().await.unwrap();
    assert_eq!(registry.get_service("greeter").await.unwrap_err().code, 404);
}

#[tokio::test]
async fn documenting_an_unknown_endpoint_is_an_error_at_start() {
    let err = Service::new("x")
        .registry(Arc::new(Memory::new()))
        .describe("X.Missing", "nothing", "")
        .start()
        .await
        .err()
        .unwrap();
    assert!(err.detail.contains("X.Missing"), "{}", err.detail);
    let err = Service::new("x")
        .registry(Arc::new(Memory::new()))
        .handle("X.Y", hello)
        .describe("X.Y", "bad example", "{not json")
        .start()
        .await
        .err()
        .unwrap();
    assert!(err.detail.contains("not JSON"), "{}", err.detail);
}

#[tokio::test]
async fn stop_finishes_requests_in_flight() {
    let registry = Arc::new(Memory::new());
    let running = service(&registry).start().await.unwrap();
    let address = running.address();
    let slow = tokio::spawn(async move {
        let mut conn = dial(address).await;
        call(&mut conn, "Greeter.Slow", r#"{"name":"late"}"#).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    running.stop().await.unwrap();
    let reply = slow.await.unwrap();
    assert_eq!(
        serde_json::from_slice::<Response>(&reply.body).unwrap().msg,
        "late"
    );
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn stop_ends_the_input_of_a_stream_left_open_and_lets_it_finish() {
    let registry = Arc::new(Memory::new());
    let running = service(&registry).start().await.unwrap();
    let (mut tx, mut rx) = dial(running.address()).await.split();
    tx.send(&stream_message("Greeter.Echo", "")).await.unwrap();
    tx.send(&stream_message("Greeter.Echo", r#"{"n":1}"#))
        .await
        .unwrap();
    assert_eq!(rx.recv().await.unwrap().body, r#"{"n":1}"#);
    // The caller keeps the stream open and sends nothing more.
    tokio::time::timeout(Duration::from_secs(10), running.stop())
        .await
        .expect("stop waited for a stream whose caller sends nothing")
        .unwrap();
    let end = rx.recv().await.unwrap();
    assert_eq!(micro_header(&end.header, "Error"), Some("EOS"));
}

#[tokio::test]
async fn middleware_runs_outermost_first() {
    let registry = Arc::new(Memory::new());
    let tag = |label: &'static str| -> micro::server::Middleware {
        Arc::new(move |ctx, body: Bytes, next: micro::server::Handler| {
            Box::pin(async move {
                let out = next(ctx, body).await?;
                let mut value: serde_json::Value = serde_json::from_slice(&out).unwrap();
                value["msg"] = format!("{}<{label}>", value["msg"].as_str().unwrap()).into();
                Ok(Bytes::from(serde_json::to_vec(&value).unwrap()))
            })
        })
    };
    let running = Service::new("mw")
        .registry(registry.clone())
        .handle("Mw.Hello", hello)
        .wrap(tag("outer"))
        .wrap(tag("inner"))
        .start()
        .await
        .unwrap();
    let mut conn = dial(running.address()).await;
    let reply = call(&mut conn, "Mw.Hello", r#"{"name":"x"}"#).await;
    assert_eq!(
        serde_json::from_slice::<Response>(&reply.body).unwrap().msg,
        "Hello x<inner><outer>"
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn handlers_keep_the_services_store() {
    let registry = Arc::new(Memory::new());
    let mut svc =
        Service::new("counter")
            .registry(registry.clone())
            .config(micro::config::Config {
                store: Some("memory".into()),
                ..Default::default()
            });
    let store = svc.open_store().unwrap();
    assert!(
        Arc::ptr_eq(&store, &svc.open_store().unwrap()),
        "opened once"
    );
    let running = svc
        .handle("Counter.Save", move |_ctx, req: Request| {
            let store = store.clone();
            async move {
                store
                    .write(
                        micro::store::Record::new("last", req.name.clone()),
                        &Default::default(),
                    )
                    .await?;
                let saved = store.read("last", &Default::default()).await?;
                Ok(Response {
                    msg: String::from_utf8_lossy(&saved[0].value).into_owned(),
                })
            }
        })
        .start()
        .await
        .unwrap();
    let mut conn = dial(running.address()).await;
    let reply = call(&mut conn, "Counter.Save", r#"{"name":"kept"}"#).await;
    assert_eq!(
        serde_json::from_slice::<Response>(&reply.body).unwrap().msg,
        "kept"
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn grpc_json_bodies_are_framed_both_ways() {
    let registry = Arc::new(Memory::new());
    let running = service(&registry).start().await.unwrap();
    let mut conn = dial(running.address()).await;
    let payload = br#"{"name":"grpc"}"#;
    let mut body = vec![0u8];
    body.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    body.extend_from_slice(payload);
    conn.send(&Message {
        header: headers("Greeter.Hello", "application/grpc+json"),
        body: body.into(),
    })
    .await
    .unwrap();
    let reply = conn.recv().await.unwrap();
    assert_eq!(reply.header["Content-Type"], "application/grpc+json");
    assert_eq!(reply.body[0], 0);
    let len = u32::from_be_bytes(reply.body[1..5].try_into().unwrap()) as usize;
    assert_eq!(len, reply.body.len() - 5);
    assert_eq!(
        serde_json::from_slice::<Response>(&reply.body[5..])
            .unwrap()
            .msg,
        "Hello grpc"
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn group_runs_services_side_by_side_and_subscribers_get_messages() {
    let registry = Arc::new(Memory::new());
    let broker: Arc<dyn Broker> = Arc::new(broker::Memory::new());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let subscriber = broker::handler(move |topic, message| {
        let tx = tx.clone();
        async move {
            tx.send((topic, message.body)).unwrap();
            Ok(())
        }
    });
    let running = Group::new()
        .service(service(&registry))
        .service(
            Service::new("listener")
                .registry(registry.clone())
                .broker(broker.clone())
                .subscribe("events", subscriber, None),
        )
        .start()
        .await
        .unwrap();
    assert!(registry.get_service("greeter").await.is_ok());
    let listener = &registry.get_service("listener").await.unwrap()[0];
    let endpoint = &listener.endpoints[0];
    assert_eq!(
        (
            endpoint.metadata["subscriber"].as_str(),
            endpoint.metadata["topic"].as_str()
        ),
        ("true", "events")
    );
    broker
        .publish("events", broker::Message::new("hi"))
        .await
        .unwrap();
    assert_eq!(
        rx.recv().await.unwrap(),
        ("events".to_string(), Bytes::from_static(b"hi"))
    );
    for r in running {
        r.stop().await.unwrap();
    }
    assert!(registry.list_services().await.unwrap().is_empty());
}
