//! RPC hot path: dispatch of a typed handler through the router, and a whole unary call over
//! loopback (client transport -> server -> handler -> reply) on one kept-alive connection.

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use micro::registry::Memory;
use micro::server::{Context, Route};
use micro::transport::{Conn, Header, Message};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize, JsonSchema)]
struct Request {
    name: String,
}

#[derive(Serialize, JsonSchema)]
struct Response {
    msg: String,
}

async fn hello(_ctx: Context, req: Request) -> micro::Result<Response> {
    Ok(Response {
        msg: format!("Hello {}", req.name),
    })
}

fn service() -> micro::Service {
    micro::Service::new("helloworld")
        .registry(Arc::new(Memory::new()))
        .handle("Helloworld.Call", hello)
}

fn rpc(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("rpc");
    group.throughput(Throughput::Elements(1));

    let svc = service();
    let router = svc.router().clone();
    let Route::Unary(handler) = &router.get("Helloworld.Call").unwrap().route else {
        unreachable!()
    };
    let ctx = Context {
        service: "helloworld".into(),
        endpoint: "Helloworld.Call".into(),
        content_type: "application/json".into(),
        metadata: Header::new(),
    };
    let body = Bytes::from_static(br#"{"name":"Alice"}"#);
    group.bench_function("dispatch_typed", |b| {
        b.to_async(&rt)
            .iter(|| router.call(handler, ctx.clone(), black_box(body.clone())))
    });

    let running = rt.block_on(svc.start()).unwrap();
    let address = running.address().to_string();
    let header: Header = [
        ("Content-Type", "application/json"),
        ("Micro-Service", "helloworld"),
        ("Micro-Endpoint", "Helloworld.Call"),
        ("Micro-Id", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let message = Message { header, body };
    let conn = rt
        .block_on(Conn::dial(&address, Duration::from_secs(1), 1 << 20))
        .unwrap();
    let conn = tokio::sync::Mutex::new(conn);
    group.bench_function("loopback_call", |b| {
        b.to_async(&rt).iter(|| async {
            let mut conn = conn.lock().await;
            conn.send(&message).await.unwrap();
            black_box(conn.recv().await.unwrap())
        })
    });
    group.finish();
    rt.block_on(running.stop()).unwrap();
}

criterion_group!(benches, rpc);
criterion_main!(benches);
