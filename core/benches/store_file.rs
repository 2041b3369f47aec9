//! File store speed: reads per second on one thread (target at least 300k/s for a small
//! record), single durable writes per second (one fsync each), and writes per second when 64
//! writers share group commits.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use micro::store::{File, Options, ReadOptions, Record, Store, WriteOptions};
use std::hint::black_box;
use std::time::{Duration, Instant};

const KEYS: usize = 4096;
const WRITERS: usize = 64;

fn open(dir: &tempfile::TempDir) -> File {
    File::new(Options {
        address: Some(dir.path().display().to_string()),
        ..Default::default()
    })
    .unwrap()
}

fn file_store(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let keys: Vec<String> = (0..KEYS).map(|i| format!("user/{i:06}")).collect();
    let value = bytes::Bytes::from(vec![7u8; 100]);
    rt.block_on(async {
        let writes = keys.iter().map(|key| {
            let record = Record::new(key.clone(), value.clone());
            let store = &store;
            async move { store.write(record, &WriteOptions::default()).await.unwrap() }
        });
        futures::future::join_all(writes).await;
    });

    let mut group = c.benchmark_group("file_store");
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
    let mut i = 0;
    group.bench_function("write_durable", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 1) % KEYS;
            let record = Record::new(keys[i].clone(), value.clone());
            let (store, write) = (&store, &write);
            async move { store.write(record, write).await.unwrap() }
        })
    });

    group.throughput(Throughput::Elements(WRITERS as u64));
    let mut i = 0;
    group.bench_function("write_64_concurrent", |b| {
        b.to_async(&rt).iter_custom(|rounds| {
            let (store, write, keys, value) = (&store, &write, &keys, &value);
            let first = i;
            i += rounds as usize;
            async move { concurrent_writes(store, write, keys, value, first, rounds).await }
        })
    });
    group.finish();
}

/// `rounds` times, `WRITERS` writes at once; the time they took.
async fn concurrent_writes(
    store: &File,
    write: &WriteOptions,
    keys: &[String],
    value: &bytes::Bytes,
    first: usize,
    rounds: u64,
) -> Duration {
    let start = Instant::now();
    for round in 0..rounds as usize {
        let writes = (0..WRITERS).map(|w| {
            let key = &keys[((first + round) * WRITERS + w) % KEYS];
            let record = Record::new(key.clone(), value.clone());
            async move { store.write(record, write).await.unwrap() }
        });
        futures::future::join_all(writes).await;
    }
    start.elapsed()
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = file_store
}
criterion_main!(benches);
