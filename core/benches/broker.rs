//! Memory broker speed: at least 1M messages/s to one subscriber.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use micro::broker::{Broker, Memory, Message, handler};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

fn memory_broker(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let broker = Memory::new();
    let received = Arc::new(AtomicU64::new(0));
    let count = received.clone();
    let _sub = rt.block_on(async {
        broker
            .subscribe(
                "events",
                handler(move |_, msg| {
                    count.fetch_add(msg.body.len() as u64, Ordering::Relaxed);
                    async { Ok(()) }
                }),
                Default::default(),
            )
            .await
            .unwrap()
    });
    let body = bytes::Bytes::from_static(b"{\"event\":\"user.created\",\"id\":42}");
    let mut group = c.benchmark_group("memory_broker");
    group.throughput(Throughput::Elements(1));
    group.bench_function("publish_one_subscriber", |b| {
        b.to_async(&rt).iter(|| {
            let message = Message::new(body.clone());
            let broker = &broker;
            async move { broker.publish(black_box("events"), message).await.unwrap() }
        })
    });
    group.finish();
    assert!(received.load(Ordering::Relaxed) > 0);
}

criterion_group!(benches, memory_broker);
criterion_main!(benches);
