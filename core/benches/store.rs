//! Memory store speed on one thread: at least 1M reads/s and 500k writes/s.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use micro::store::{Memory, Options, ReadOptions, Record, Store, WriteOptions};
use std::hint::black_box;

const KEYS: usize = 10_000;

fn memory_store(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = Memory::new(Options::default());
    let keys: Vec<String> = (0..KEYS).map(|i| format!("user/{i:06}")).collect();
    rt.block_on(async {
        for key in &keys {
            store
                .write(
                    Record::new(key.clone(), vec![7u8; 100]),
                    &WriteOptions::default(),
                )
                .await
                .unwrap();
        }
    });
    let mut group = c.benchmark_group("memory_store");
    group.throughput(Throughput::Elements(1));
    let read = ReadOptions::default();
    let mut i = 0;
    group.bench_function("read", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 1) % KEYS;
            let key = &keys[i];
            let (store, read) = (&store, &read);
            async move { black_box(store.read(key, read).await.unwrap()) }
        })
    });
    let write = WriteOptions::default();
    let value = bytes::Bytes::from(vec![7u8; 100]);
    let mut i = 0;
    group.bench_function("write", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 1) % KEYS;
            let record = Record::new(keys[i].clone(), value.clone());
            let (store, write) = (&store, &write);
            async move { store.write(record, write).await.unwrap() }
        })
    });
    group.finish();
}

criterion_group!(benches, memory_store);
criterion_main!(benches);
