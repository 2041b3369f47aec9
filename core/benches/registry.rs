//! Registry speed: a cached lookup must take under 1 µs.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use micro::registry::{Cache, Endpoint, Memory, Node, Registry, Service};
use std::hint::black_box;

fn service() -> Service {
    Service {
        name: "helloworld".into(),
        version: "latest".into(),
        endpoints: ["Helloworld.Call", "Helloworld.Stream"]
            .map(|name| Endpoint {
                name: name.into(),
                ..Default::default()
            })
            .to_vec(),
        nodes: (0..3)
            .map(|i| Node {
                id: format!("helloworld-{i}"),
                address: format!("127.0.0.1:{}", 9000 + i),
                metadata: [("protocol".to_string(), "mucp".to_string())].into(),
            })
            .collect(),
        ..Default::default()
    }
}

fn cached_lookup(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cache = Cache::new(Memory::new());
    rt.block_on(async {
        cache.register(&service(), None).await.unwrap();
        cache.lookup("helloworld").await.unwrap();
    });
    let mut group = c.benchmark_group("registry");
    group.throughput(Throughput::Elements(1));
    group.bench_function("cached_lookup", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(cache.lookup(black_box("helloworld")).await.unwrap()) })
    });
    group.bench_function("memory_get_service", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                cache
                    .registry()
                    .get_service(black_box("helloworld"))
                    .await
                    .unwrap(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, cached_lookup);
criterion_main!(benches);
