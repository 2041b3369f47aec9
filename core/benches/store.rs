//! Store speed on one thread. Memory: at least 1M reads/s and 500k writes/s. File: at least
//! 300k reads/s; durable writes measured one at a time (one fsync each) and with 64 writers
//! sharing group commits.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use micro::store::{File, Memory, Options, ReadOptions, Record, Store, WriteOptions};
use std::hint::black_box;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

const KEYS: usize = 4096;
const WRITERS: usize = 64;

fn keys() -> Vec<String> {
    (0..KEYS).map(|i| format!("user/{i:06}")).collect()
}

fn value() -> bytes::Bytes {
    bytes::Bytes::from(vec![7u8; 100])
}

/// Fills the store, then measures exact reads and single writes of 100-byte records.
fn reads_and_writes(
    c: &mut Criterion,
    rt: &Runtime,
    group: &str,
    write_name: &str,
    store: &dyn Store,
) {
    let (keys, value) = (keys(), value());
    let write = WriteOptions::default();
    rt.block_on(async {
        let writes = keys
            .iter()
            .map(|key| store.write(Record::new(key.clone(), value.clone()), &write));
        for result in futures::future::join_all(writes).await {
            result.unwrap();
        }
    });
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Elements(1));
    let read = ReadOptions::default();
    let mut i = 0;
    group.bench_function("read", |b| {
        b.to_async(rt).iter(|| {
            i = (i + 1) % KEYS;
            let (key, read) = (&keys[i], &read);
            async move { black_box(store.read(key, read).await.unwrap()) }
        })
    });
    let mut i = 0;
    group.bench_function(write_name, |b| {
        b.to_async(rt).iter(|| {
            i = (i + 1) % KEYS;
            let (record, write) = (Record::new(keys[i].clone(), value.clone()), &write);
            async move { store.write(record, write).await.unwrap() }
        })
    });
    group.finish();
}

fn memory_store(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    reads_and_writes(
        c,
        &rt,
        "memory_store",
        "write",
        &Memory::new(Options::default()),
    );
}

fn file_store(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        address: Some(dir.path().display().to_string()),
        ..Default::default()
    };
    let store = File::new(options).unwrap();
    reads_and_writes(c, &rt, "file_store", "write_durable", &store);

    let mut group = c.benchmark_group("file_store");
    group.throughput(Throughput::Elements(WRITERS as u64));
    let (keys, value, write) = (keys(), value(), WriteOptions::default());
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
            store.write(Record::new(key.clone(), value.clone()), write)
        });
        for result in futures::future::join_all(writes).await {
            result.unwrap();
        }
    }
    start.elapsed()
}

criterion_group!(memory, memory_store);
criterion_group! {
    name = file;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = file_store
}
criterion_main!(memory, file);
