//! The client's hot path over loopback: a typed call and a raw call through the registry
//! cache, the selector and a pooled connection, and one message round trip on an open stream.
//! Compare with `rpc/loopback_call` (bare transport) to see what the client layer costs.

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use micro::client::{CallOptions, RawRequest};
use micro::registry::Memory;
use micro::server::{Context, Stream};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::hint::black_box;
use std::sync::Arc;

#[derive(Serialize, Deserialize, JsonSchema)]
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

async fn echo(_ctx: Context, mut stream: Stream) -> micro::Result<()> {
    while let Some(payload) = stream.recv().await? {
        stream.send(payload).await?;
    }
    Ok(())
}

fn client(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let registry = Arc::new(Memory::new());
    let running = rt
        .block_on(
            micro::Service::new("helloworld")
                .registry(registry.clone())
                .handle("Helloworld.Call", hello)
                .stream("Helloworld.Echo", echo)
                .start(),
        )
        .unwrap();
    let client = micro::Client::new(registry);
    let request = Request {
        name: "Alice".into(),
    };
    let mut group = c.benchmark_group("client");
    group.throughput(Throughput::Elements(1));

    group.bench_function("call_json", |b| {
        b.to_async(&rt).iter(|| async {
            let rsp: Response = client
                .call("helloworld", "Helloworld.Call", black_box(&request))
                .await
                .unwrap();
            black_box(rsp)
        })
    });

    let options = CallOptions::default();
    let raw = RawRequest {
        service: "helloworld".into(),
        endpoint: "Helloworld.Call".into(),
        body: Bytes::from_static(br#"{"name":"Alice"}"#),
    };
    group.bench_function("call_raw", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(client.call_raw(raw.clone(), &options).await.unwrap()) })
    });

    let stream = rt
        .block_on(client.stream("helloworld", "Helloworld.Echo", &options))
        .unwrap();
    let stream = tokio::sync::Mutex::new(stream);
    let payload = Bytes::from_static(br#"{"name":"Alice"}"#);
    group.bench_function("stream_round_trip", |b| {
        b.to_async(&rt).iter(|| async {
            let mut stream = stream.lock().await;
            stream.send(payload.clone()).await.unwrap();
            black_box(stream.recv().await.unwrap().unwrap())
        })
    });
    group.finish();
    drop(stream);
    rt.block_on(running.stop()).unwrap();
}

criterion_group!(benches, client);
criterion_main!(benches);
