//! HTTP broker speed over loopback: one publish is a POST to another broker's server and the
//! subscriber's handler running before the answer, on a pooled keep-alive connection; and a
//! publish to the broker's own subscriber, which skips the network.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use micro::broker::{Broker, Http, Message, handler};
use micro::registry::Memory;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

fn http_broker(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let registry = Arc::new(Memory::new());
    let subscriber = Http::new(registry.clone(), None);
    let publisher = Http::new(registry.clone(), None);
    let received = Arc::new(AtomicU64::new(0));
    let count = received.clone();
    let counting = handler(move |_, _| {
        count.fetch_add(1, Ordering::Relaxed);
        async { Ok(()) }
    });
    let _subs = rt.block_on(async {
        let remote = subscriber
            .subscribe("remote", counting.clone(), Default::default())
            .await
            .unwrap();
        let local = publisher
            .subscribe("local", counting, Default::default())
            .await
            .unwrap();
        (remote, local)
    });
    let mut group = c.benchmark_group("http_broker");
    group.throughput(Throughput::Elements(1));
    for (name, size) in [
        ("publish_remote_64B", 64),
        ("publish_remote_64KiB", 64 << 10),
    ] {
        let body = bytes::Bytes::from(vec![b'x'; size]);
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let message = Message::new(body.clone());
                let publisher = &publisher;
                async move { publisher.publish("remote", message).await.unwrap() }
            })
        });
    }
    let body = bytes::Bytes::from_static(&[b'x'; 64]);
    group.bench_function("publish_own_subscriber_64B", |b| {
        b.to_async(&rt).iter(|| {
            let message = Message::new(body.clone());
            let publisher = &publisher;
            async move { publisher.publish("local", message).await.unwrap() }
        })
    });
    group.finish();
    assert!(received.load(Ordering::Relaxed) > 0);
}

criterion_group!(benches, http_broker);
criterion_main!(benches);
