//! The limits of the one HTTP layer, tried over real loopback sockets on a gateway with short
//! limits: a client that trickles its headers or its body (all at once or piece by piece) is
//! cut off, and connections past the cap wait unserved until one closes.

use micro::broker::{self, Broker};
use micro::gateway::Gateway;
use micro::http::Limits;
use micro::registry::{Memory, Registry};
use micro::store::{self, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn gateway(limits: Limits) -> micro::gateway::Running {
    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let store: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
    let broker: Arc<dyn Broker> = Arc::new(broker::Memory::new());
    Gateway::new(registry, store, broker)
        .limits(limits)
        .start("127.0.0.1:0")
        .await
        .unwrap()
}

/// Everything the server sends until it closes the connection (or 5 s pass).
async fn read_all(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_or_its_body_is_cut_off() {
    let limits = Limits {
        header_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let gateway = gateway(limits).await;
    // Headers that never end: the connection is closed.
    let mut slow = TcpStream::connect(gateway.address()).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let _ = slow.write_all(b"a").await;
    let answer = read_all(&mut slow).await;
    assert!(
        !answer.contains("200 OK"),
        "a slow head was served: {answer}"
    );
    // A body that never arrives whole: 408, and nothing written.
    let mut slow = TcpStream::connect(gateway.address()).await.unwrap();
    let head = "POST /micro/store/slow HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n";
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(b"0123456789").await.unwrap();
    let answer = read_all(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // A body trickled in pieces, each soon after the last: the timeout counts the whole body.
    let mut trickle = TcpStream::connect(gateway.address()).await.unwrap();
    trickle.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..6 {
        if trickle.write_all(b"0123456789").await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = read_all(&mut trickle).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // A prompt client is served as ever.
    let mut prompt = TcpStream::connect(gateway.address()).await.unwrap();
    prompt
        .write_all(
            b"GET /micro/store/slow HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let answer = read_all(&mut prompt).await;
    assert!(
        answer.starts_with("HTTP/1.1 404"),
        "the slow body was written: {answer}"
    );
    // Every answer carries a request id.
    assert!(answer.contains("x-request-id: "), "{answer}");
    gateway.stop().await;
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let limits = Limits {
        max_connections: 2,
        ..Limits::default()
    };
    let gateway = gateway(limits).await;
    let request = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(gateway.address()).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut buf = [0u8; 512];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(stream);
    }
    let mut third = TcpStream::connect(gateway.address()).await.unwrap();
    third.write_all(request).await.unwrap();
    let mut buf = [0u8; 512];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a third connection was served past the cap of two"
    );
    drop(held.pop());
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("served once a connection closed")
        .unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    gateway.stop().await;
}
