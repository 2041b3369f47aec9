//! libmicro's side of `bench/distributed/run.sh`, the same steps as go-micro's side
//! (tests/interop/cmd/distbench), each printed as `name value unit`:
//! `distributed-bench [etcd=host:port] [postgres=URL] [redis=URL] [mysql=URL] [nats=URL]`
//! runs the steps of each server given.

use micro::broker::{self, Broker, Message, SubscribeOptions};
use micro::registry::{Cache, Etcd, Node, Registry, Service};
use micro::store::{self, ReadOptions, Record, Store, WriteOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Cached lookups timed.
const LOOKUPS: u32 = 200_000;
/// Registrations timed, each followed by a first lookup.
const REGISTRATIONS: u32 = 200;
/// Registrations timed on NATS, where each lookup waits out the registry's 100 ms.
const NATS_REGISTRATIONS: u32 = 30;
/// Store writes, then reads, timed on each store.
const RECORDS: u32 = 5_000;
/// Messages published back to back, for the throughput.
const MESSAGES: u32 = 20_000;
/// Messages published one at a time, each once the previous one was handled, for the latency.
const PINGS: u32 = 2_000;
/// How long a published message may take to reach its handler before the bench fails.
const LOST: Duration = Duration::from_secs(10);

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
    let mut servers = std::collections::HashMap::new();
    for arg in std::env::args().skip(1) {
        match arg.split_once('=') {
            Some((name @ ("etcd" | "postgres" | "redis" | "mysql" | "nats"), address)) => {
                servers.insert(name.to_string(), address.to_string());
            }
            _ => {
                eprintln!(
                    "usage: distributed-bench [etcd=host:port] [postgres=URL] [redis=URL] [mysql=URL] [nats=URL]"
                );
                std::process::exit(2);
            }
        }
    }
    if let Some(etcd) = servers.get("etcd") {
        etcd_steps(etcd).await;
    }
    for name in ["postgres", "redis", "mysql"] {
        let Some(address) = servers.get(name) else {
            continue;
        };
        let store = match name {
            "postgres" => open(store::Postgres::new(options(address))),
            "redis" => open(store::Redis::new(options(address))),
            _ => open(store::Mysql::new(options(address))),
        };
        store_rates(name, &*store).await;
    }
    if let Some(nats) = servers.get("nats") {
        nats_steps(nats).await;
    }
}

async fn etcd_steps(etcd: &str) {
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

    let looker = Etcd::new(Some(etcd)).unwrap();
    registrations("etcd", &*registry, &looker, REGISTRATIONS, ttl).await;
}

async fn nats_steps(nats: &str) {
    for (name, address) in [
        ("nats", nats.to_string()),
        ("nats_jetstream", format!("{nats}?jetstream=true")),
    ] {
        let subscriber = broker::Nats::new(Some(&address)).unwrap();
        let publisher = broker::Nats::new(Some(&address)).unwrap();
        let topic = format!("bench.rust.{name}");
        publish_to_handler(name, &subscriber, &publisher, &topic).await;
    }

    let registry = micro::registry::Nats::new(Some(nats)).unwrap();
    let looker = micro::registry::Nats::new(Some(nats)).unwrap();
    registrations("nats", &registry, &looker, NATS_REGISTRATIONS, None).await;

    store_rates("natskv", &store::Nats::new(options(nats)).unwrap()).await;
}

/// A registration, and the first lookup of it from another registry client, as a caller in
/// another process would make it: the medians of `count`, and how many lookups found nothing.
async fn registrations(
    name: &str,
    registry: &dyn Registry,
    looker: &dyn Registry,
    count: u32,
    ttl: Option<Duration>,
) {
    let (mut registering, mut finding, mut misses) = (Vec::new(), Vec::new(), 0);
    for i in 0..count {
        let s = service(&format!("bench-reg-rust-{i}"));
        let started = Instant::now();
        registry.register(&s, ttl).await.unwrap();
        registering.push(started.elapsed());
        let started = Instant::now();
        match looker.get_service(&s.name).await {
            Ok(_) => {}
            Err(err) if err.code == 404 => misses += 1,
            Err(err) => panic!("{err}"),
        }
        finding.push(started.elapsed());
        registry.deregister(&s).await.unwrap();
    }
    println!("{name}_register_p50 {} us", median(&mut registering));
    println!("{name}_first_lookup_p50 {} us", median(&mut finding));
    println!("{name}_first_lookup_misses {misses} lookups");
}

/// Messages of 100 bytes from `publisher` to a handler `subscriber` runs on `topic`:
/// `MESSAGES` published back to back, timed from the first publish until the handler has the
/// last; then `PINGS` published one at a time, each timed from its publish until the handler
/// has it, of which the 99th percentile.
async fn publish_to_handler(
    name: &str,
    subscriber: &dyn Broker,
    publisher: &dyn Broker,
    topic: &str,
) {
    let (handled, mut arrivals) = mpsc::unbounded_channel();
    let _subscription = subscriber
        .subscribe(
            topic,
            broker::handler(move |_, _| {
                let _ = handled.send(Instant::now());
                async { Ok(()) }
            }),
            SubscribeOptions::default(),
        )
        .await
        .unwrap();
    let message = Message {
        header: [("Micro-Topic".to_string(), topic.to_string())].into(),
        body: vec![b'x'; 100].into(),
    };
    let publish = || async { publisher.publish(topic, message.clone()).await.unwrap() };
    publish().await;
    arrival(&mut arrivals, topic).await;

    let started = Instant::now();
    for _ in 0..MESSAGES {
        publish().await;
    }
    let mut last = started;
    for _ in 0..MESSAGES {
        last = arrival(&mut arrivals, topic).await;
    }
    let rate = f64::from(MESSAGES) / (last - started).as_secs_f64();
    println!("{name}_publish_to_handler {rate:.0} msgs/s");

    let mut latencies = Vec::new();
    for _ in 0..PINGS {
        let started = Instant::now();
        publish().await;
        latencies.push(arrival(&mut arrivals, topic).await - started);
    }
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100].as_micros();
    println!("{name}_publish_to_handler_p99 {p99} us");
}

/// When the handler had the next message; the bench fails when none comes.
async fn arrival(arrivals: &mut mpsc::UnboundedReceiver<Instant>, topic: &str) -> Instant {
    match tokio::time::timeout(LOST, arrivals.recv()).await {
        Ok(Some(at)) => at,
        _ => {
            eprintln!("distributed-bench: a message on {topic} did not reach its handler");
            std::process::exit(1);
        }
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

/// Writes then reads `RECORDS` records of 100 bytes one after another: prints the operations
/// a second.
async fn store_rates(name: &str, store: &dyn Store) {
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
    println!("{name}_write {writes:.0} ops/s");
    let started = Instant::now();
    for i in 0..RECORDS {
        store.read(&format!("key-{i}"), &read).await.unwrap();
    }
    let reads = f64::from(RECORDS) / started.elapsed().as_secs_f64();
    println!("{name}_read {reads:.0} ops/s");
}

fn median(times: &mut [Duration]) -> u128 {
    times.sort();
    times[times.len() / 2].as_micros()
}
