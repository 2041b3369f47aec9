//! TLS to the backends' servers, against the test servers' TLS faces (`scripts/servers.sh`,
//! whose CA signed their certificates): with the CA given, TLS works; with the system's roots
//! alone, or plain to a port that takes TLS only, it fails with a 503 saying why, never with
//! the password.

mod support;

use micro::broker::{self, Broker, RabbitmqOptions};
use micro::errors::Kind;
use micro::registry::{self, Node, Registry, Service};
use micro::store::{self, ReadOptions, Record, Store, WriteOptions};
use support::inbox::Inbox;

/// The store options for `address`.
fn at(address: &str) -> store::Options {
    store::Options {
        address: Some(address.into()),
        ..Default::default()
    }
}

/// `url` with the query option `name` taken out.
fn without(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').unwrap();
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.starts_with(&format!("{name}=")))
        .collect();
    if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    }
}

/// The backend `make` gives for `trusted`, an address with the CA file as option `ca`, passes
/// `check` over TLS; for `url` (the same with a wrong password `secret`) without the CA, so with
/// the system's roots alone, `check` fails saying TLS failed and to give `ca`.
async fn trusts_the_ca<B>(
    make: impl Fn(&str) -> micro::Result<B>,
    check: impl AsyncFn(&B) -> micro::Result<()>,
    (trusted, url): (&str, &str),
    ca: &str,
    secret: &str,
) {
    assert!(trusted.contains(&format!("{ca}=/")), "{trusted}");
    check(&make(trusted).unwrap()).await.unwrap();
    let system_roots = make(&without(url, ca)).unwrap();
    let err = check(&system_roots).await.unwrap_err();
    unavailable(err, &["TLS failed", &format!("{ca}=")], secret);
}

/// Writes a record to `store` and reads it back.
async fn round_trip<S: Store>(store: &S) -> micro::Result<()> {
    store
        .write(Record::new("tls", "over TLS"), &WriteOptions::default())
        .await?;
    let read = store.read("tls", &ReadOptions::default()).await?;
    assert_eq!(&read[0].value[..], b"over TLS");
    Ok(())
}

/// Subscribes to a topic on `broker` and publishes a message the subscriber gets.
async fn pub_sub<B: Broker>(broker: &B) -> micro::Result<()> {
    let mut inbox = Inbox::new();
    let _subscribed = broker
        .subscribe("tls.topic", inbox.handler(0), Default::default())
        .await?;
    broker
        .publish("tls.topic", broker::Message::new("over TLS"))
        .await?;
    assert_eq!(&inbox.next().await.2.body[..], b"over TLS");
    Ok(())
}

/// Registers a service with `registry` and looks it up.
async fn register_lookup<R: Registry>(registry: &R) -> micro::Result<()> {
    let service = Service {
        name: "tls.service".into(),
        nodes: vec![Node {
            id: "tls.service-1".into(),
            address: "127.0.0.1:9000".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    registry.register(&service, None).await?;
    let found = registry.get_service("tls.service").await?;
    assert_eq!(found[0].nodes[0].id, "tls.service-1");
    Ok(())
}

/// Asserts that `err` is a 503 whose detail holds each of `words`, and no `secret`.
fn unavailable(err: micro::Error, words: &[&str], secret: &str) {
    eprintln!("{err}");
    assert_eq!(err.kind, Kind::Unavailable, "{err}");
    for word in words {
        assert!(err.detail.contains(word), "no {word:?} in: {}", err.detail);
    }
    assert!(!err.to_string().contains(secret), "{err}");
}

#[tokio::test]
async fn mysql_over_tls() {
    let url = support::server("mysql-tls");
    assert!(url.contains("require_ssl=true"), "{url}");
    let mysql = |address: &str| store::Mysql::new(at(address));
    trusts_the_ca(mysql, round_trip, (&url, &url), "ssl_ca", "micro-test").await;

    let missing = url.replace("ssl_ca=/", "ssl_ca=/no/such/");
    let err = store::Mysql::new(at(&missing)).err().unwrap();
    assert_eq!(err.kind, Kind::BadRequest, "{err}");
    assert!(err.detail.contains("ssl_ca=/no/such/"), "{err}");
    assert!(!err.to_string().contains("micro-test"), "{err}");
}

#[tokio::test]
async fn postgres_over_tls() {
    let url = support::server("postgres-tls").replace("postgres@", "postgres:pg-s3cret@");
    assert!(url.contains("sslmode=require"), "{url}");
    // The test server trusts every local user, whatever the password.
    let postgres = |address: &str| store::Postgres::new(at(address));
    trusts_the_ca(
        postgres,
        round_trip,
        (&url, &url),
        "sslrootcert",
        "pg-s3cret",
    )
    .await;

    // prefer (also the default): TLS the system does not trust gives way to plain.
    let prefer = without(&url, "sslrootcert").replace("sslmode=require", "sslmode=prefer");
    let store = store::Postgres::new(at(&prefer)).unwrap();
    round_trip(&store).await.unwrap();

    let missing = url.replace("sslrootcert=/", "sslrootcert=/no/such/");
    let err = store::Postgres::new(at(&missing)).err().unwrap();
    assert_eq!(err.kind, Kind::BadRequest, "{err}");
    assert!(err.detail.contains("sslrootcert=/no/such/"), "{err}");
    assert!(!err.to_string().contains("pg-s3cret"), "{err}");
}

#[tokio::test]
async fn redis_over_tls() {
    let trusted = support::server("redis-tls");
    // The test server wants no password: this one is only there to be kept out of errors.
    let url = trusted.replace("rediss://", "rediss://:rd-s3cret@");
    let redis = |address: &str| store::Redis::new(at(address));
    trusts_the_ca(redis, round_trip, (&trusted, &url), "ca", "rd-s3cret").await;

    // Plain to the TLS port: the server hangs up.
    let plain = without(&url, "ca").replace("rediss://", "redis://");
    let store = store::Redis::new(at(&plain)).unwrap();
    let err = round_trip(&store).await.unwrap_err();
    unavailable(err, &["redis at 127.0.0.1:26380"], "rd-s3cret");
}

#[tokio::test]
async fn nats_over_tls() {
    let trusted = support::server("nats-tls");
    // The server's accounts take no password for user micro: this one is only there to be
    // kept out of errors.
    let url = trusted.replace("tls://", "tls://micro:nt-s3cret@");
    let nats = |address: &str| store::Nats::new(at(address));
    trusts_the_ca(nats, round_trip, (&trusted, &url), "ca", "nt-s3cret").await;

    // A nats:// server given the CA: TLS all the same.
    let broker = broker::Nats::new(Some(&trusted.replace("tls://", "nats://"))).unwrap();
    pub_sub(&broker).await.unwrap();

    // Plain to the TLS-only server: the server asks for TLS, which fails without the CA.
    let plain = without(&url, "ca").replace("tls://", "nats://");
    let store = store::Nats::new(at(&plain)).unwrap();
    let err = round_trip(&store).await.unwrap_err();
    unavailable(err, &["TLS failed"], "nt-s3cret");
}

#[tokio::test]
async fn rabbitmq_over_tls() {
    let trusted = support::server("rabbitmq-tls");
    // TLS fails before the password is sent: this one is only there to be kept out of errors.
    let url = trusted.replace("guest:guest@", "guest:rb-s3cret@");
    let rabbitmq = |address: &str| {
        broker::Rabbitmq::new(RabbitmqOptions {
            address: Some(address.into()),
            ..Default::default()
        })
    };
    trusts_the_ca(
        rabbitmq,
        pub_sub,
        (&trusted, &url),
        "cacertfile",
        "rb-s3cret",
    )
    .await;
}

#[tokio::test]
async fn etcd_over_tls() {
    let trusted = support::server("etcd-tls");
    // The test server has no users: this password is only there to be kept out of errors.
    let url = trusted.replace("https://", "https://root:et-s3cret@");
    let etcd = |address: &str| registry::Etcd::new(Some(address));
    trusts_the_ca(etcd, register_lookup, (&trusted, &url), "ca", "et-s3cret").await;

    // host:port with the CA: TLS all the same.
    let bare = trusted.replace("https://", "");
    register_lookup(&etcd(&bare).unwrap()).await.unwrap();
}
