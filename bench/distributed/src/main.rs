//! libmicro's side of `bench/distributed/run.sh`, the same steps as go-micro's side
//! (tests/interop/cmd/distbench), each printed as `name value unit`:
//! `distributed-bench <etcd host:port> <postgres URL> <redis URL> <mysql URL>`.

use micro::registry::{Cache, Etcd, Node, Registry, Service};
use micro::store::{self, ReadOptions, Record, Store, WriteOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Cached lookups timed.
const LOOKUPS: u32 = 200_000;
/// Registrations timed, each followed by a first lookup.
const REGISTRATIONS: u32 = 200;
/// Store writes, then reads, timed on each store.
const RECORDS: u32 = 5_000;

fn service(name: &str) -> Service {
    Service {
        name: name.into(),
        version: "latest".into(),
        nodes: vec![Node {
            id: format!("{name}-1"),
            address: "127.0.0.1:9000".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, etcd, postgres, redis, mysql] = &args[..] else {
        eprintln!(
            "usage: distributed-bench <etcd host:port> <postgres URL> <redis URL> <mysql URL>"
        );
        std::process::exit(2);
    };
    let registry: Arc<dyn Registry> = Arc::new(Etcd::new(Some(etcd)).unwrap());
    let ttl = Some(Duration::from_secs(30));

    let cached = service("bench-cached-rust");
    registry.register(&cached, ttl).await.unwrap();
    let cache = Cache::with_ttl(registry.clone(), Duration::from_secs(60));
    cache.lookup(&cached.name).await.unwrap();
    let started = Instant::now();
    for _ in 0..LOOKUPS {
        std::hint::black_box(cache.lookup(&cached.name).await.unwrap());
    }
    let per = started.elapsed().as_nanos() as f64 / f64::from(LOOKUPS);
    println!("etcd_cached_lookup {per:.0} ns");
    registry.deregister(&cached).await.unwrap();

    // A registration, and the first lookup of it from another registry client, as a caller in
    // another process would make it.
    let looker = Etcd::new(Some(etcd)).unwrap();
    let (mut registering, mut finding) = (Vec::new(), Vec::new());
    for i in 0..REGISTRATIONS {
        let s = service(&format!("bench-reg-rust-{i}"));
        let started = Instant::now();
        registry.register(&s, ttl).await.unwrap();
        registering.push(started.elapsed());
        let started = Instant::now();
        looker.get_service(&s.name).await.unwrap();
        finding.push(started.elapsed());
        registry.deregister(&s).await.unwrap();
    }
    println!("etcd_register_p50 {} us", median(&mut registering));
    println!("etcd_first_lookup_p50 {} us", median(&mut finding));

    for (name, store) in [
        ("postgres", open(store::Postgres::new(options(postgres)))),
        ("redis", open(store::Redis::new(options(redis)))),
        ("mysql", open(store::Mysql::new(options(mysql)))),
    ] {
        let (writes, reads) = store_rates(&*store).await;
        println!("{name}_write {writes:.0} ops/s");
        println!("{name}_read {reads:.0} ops/s");
    }
}

fn options(address: &str) -> store::Options {
    store::Options {
        database: "benchrust".into(),
        table: "bench".into(),
        address: Some(address.into()),
        ..Default::default()
    }
}

fn open<S: Store>(made: micro::errors::Result<S>) -> Box<dyn Store> {
    Box::new(made.unwrap())
}

/// Writes then reads `RECORDS` records of 100 bytes one after another: operations a second.
async fn store_rates(store: &dyn Store) -> (f64, f64) {
    let value = vec![b'x'; 100];
    let (write, read) = (WriteOptions::default(), ReadOptions::default());
    store
        .write(Record::new("warm", value.clone()), &write)
        .await
        .unwrap();
    let started = Instant::now();
    for i in 0..RECORDS {
        store
            .write(Record::new(format!("key-{i}"), value.clone()), &write)
            .await
            .unwrap();
    }
    let writes = f64::from(RECORDS) / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for i in 0..RECORDS {
        store.read(&format!("key-{i}"), &read).await.unwrap();
    }
    let reads = f64::from(RECORDS) / started.elapsed().as_secs_f64();
    (writes, reads)
}

fn median(times: &mut [Duration]) -> u128 {
    times.sort();
    times[times.len() / 2].as_micros()
}
