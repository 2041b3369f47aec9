//! The agent playground's streaming delay: from the moment a model provider writes the first
//! token of its answer to the moment the client of `POST /api/agent/prompt` reads it as an
//! `Event::Text`, through the gateway (auth off, the dashboard on) and the agent. Target: under
//! 50 ms (issue 18); `bench/results/ai.md` keeps the figures.
//!
//! The provider speaks OpenAI's streaming chat completions on loopback: it writes the role and
//! the first token, notes when, and holds the rest of the answer back until the client has read
//! that token, so nothing but the first token can carry it.

use axum::body::Body;
use axum::response::Response;
use axum::serve::ListenerExt;
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use micro::gateway::{Gateway, Running};
use micro::registry::Memory;
use micro::{broker, store};
use serde_json::json;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc};

/// What the provider shares with the bench: when it wrote the last first token, and the
/// signal to finish the answer.
#[derive(Default)]
struct Provider {
    wrote_first_token: Mutex<Option<Instant>>,
    finish: Notify,
}

/// One chunk of OpenAI's stream.
fn chunk(delta: serde_json::Value, finish: Option<&str>) -> Bytes {
    let chunk = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
        "model": "bench", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    Bytes::from(format!("data: {chunk}\n\n"))
}

/// Starts the provider on loopback; its base URL.
async fn start_provider(shared: Arc<Provider>) -> String {
    let app = axum::Router::new().fallback(move || {
        let shared = shared.clone();
        async move {
            let (sender, receiver) = mpsc::channel::<Result<Bytes, Infallible>>(8);
            tokio::spawn(async move {
                let _ = sender
                    .send(Ok(chunk(json!({"role": "assistant", "content": ""}), None)))
                    .await;
                *shared.wrote_first_token.lock().unwrap() = Some(Instant::now());
                let _ = sender
                    .send(Ok(chunk(json!({"content": "Hello"}), None)))
                    .await;
                shared.finish.notified().await;
                let _ = sender.send(Ok(chunk(json!({}), Some("stop")))).await;
                let _ = sender.send(Ok(Bytes::from("data: [DONE]\n\n"))).await;
            });
            let body = futures::stream::unfold(receiver, |mut receiver| async move {
                receiver.recv().await.map(|chunk| (chunk, receiver))
            });
            Response::builder()
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(body))
                .unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // As a provider's server would: a token is written when it is ready, not after Nagle's wait.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A dashboard gateway whose playground talks to the provider at `url`.
async fn start_gateway(url: &str) -> Running {
    let gateway = Gateway::new(
        Arc::new(Memory::new()),
        Arc::new(store::Memory::new(store::Options::default())),
        Arc::new(broker::Memory::new()),
    )
    .dashboard(None)
    .start("127.0.0.1:0")
    .await
    .unwrap();
    let settings =
        json!({"provider": "openai", "model": "bench", "api_key": "sk-bench", "base_url": url});
    let (status, _) = exchange(gateway.address(), "/api/agent/settings", &settings, None).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    gateway
}

/// Posts `body` to `path` and reads the answer to its end; its status line and body. With
/// `first_token`, notes when the first text event arrived and then lets the provider finish.
async fn exchange(
    address: std::net::SocketAddr,
    path: &str,
    body: &serde_json::Value,
    first_token: Option<(&Provider, &mut Option<Instant>)>,
) -> (String, String) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 8192];
    let mut waiting = first_token;
    loop {
        let read = stream.read(&mut buffer).await.unwrap();
        if read == 0 {
            break;
        }
        answer.extend_from_slice(&buffer[..read]);
        let arrived = waiting.is_some()
            && String::from_utf8_lossy(&answer).contains(r#"{"type":"text","text":"Hello"}"#);
        if arrived && let Some((provider, read_at)) = waiting.take() {
            *read_at = Some(Instant::now());
            provider.finish.notify_one();
        }
    }
    assert!(
        waiting.is_none(),
        "no first token in {:?}",
        String::from_utf8_lossy(&answer)
    );
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    )
}

fn first_token(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let provider = Arc::new(Provider::default());
    let gateway = runtime.block_on(async {
        let url = start_provider(provider.clone()).await;
        start_gateway(&url).await
    });
    let address = gateway.address();
    let prompt = json!({"prompt": "Say hello"});
    let mut group = c.benchmark_group("agent");
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("first_token_provider_to_sse_client", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let provider = provider.clone();
            let prompt = prompt.clone();
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut read_at = None;
                    let (status, _) = exchange(
                        address,
                        "/api/agent/prompt",
                        &prompt,
                        Some((&provider, &mut read_at)),
                    )
                    .await;
                    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
                    let wrote = provider.wrote_first_token.lock().unwrap().take().unwrap();
                    total += read_at.unwrap() - wrote;
                }
                total
            }
        });
    });
    group.finish();
    runtime.block_on(gateway.stop());
}

criterion_group!(benches, first_token);
criterion_main!(benches);
