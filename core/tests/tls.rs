//! TLS to the backends' servers, against the test servers' TLS faces (`scripts/servers.sh`,
//! whose CA signed their certificates): with the CA given, TLS works; with the system's roots
//! alone, or plain to a port that takes TLS only, it fails with a 503 saying why, never with
//! the password.

mod support;

use micro::broker::{self, Broker};
use micro::errors::Kind;
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

/// The store `make` gives for `trusted`, an address with the CA file as option `ca`, writes and
/// reads over TLS; for `url` (the same with a wrong password `secret`) without the CA, so with
/// the system's roots alone, it fails saying TLS failed and to give `ca`.
async fn trusts_the_ca<S: Store>(
    make: impl Fn(store::Options) -> micro::Result<S>,
    (trusted, url): (&str, &str),
    ca: &str,
    secret: &str,
) {
    assert!(trusted.contains(&format!("{ca}=/")), "{trusted}");
    round_trip(&make(at(trusted)).unwrap()).await;
    let system_roots = make(at(&without(url, ca))).unwrap();
    unavailable(system_roots, &["TLS failed", &format!("{ca}=")], secret).await;
}

/// Writes a record to `store` and reads it back.
async fn round_trip(store: &dyn Store) {
    store
        .write(Record::new("tls", "over TLS"), &WriteOptions::default())
        .await
        .unwrap();
    let read = store.read("tls", &ReadOptions::default()).await.unwrap();
    assert_eq!(&read[0].value[..], b"over TLS");
}

/// Asserts that a read from `store` fails with a 503 whose detail holds each of `words`, and
/// no `secret`.
async fn unavailable(store: impl Store, words: &[&str], secret: &str) {
    let err = store
        .read("tls", &ReadOptions::default())
        .await
        .unwrap_err();
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
    trusts_the_ca(store::Mysql::new, (&url, &url), "ssl_ca", "micro-test").await;

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
    trusts_the_ca(
        store::Postgres::new,
        (&url, &url),
        "sslrootcert",
        "pg-s3cret",
    )
    .await;

    // prefer (also the default): TLS the system does not trust gives way to plain.
    let prefer = without(&url, "sslrootcert").replace("sslmode=require", "sslmode=prefer");
    round_trip(&store::Postgres::new(at(&prefer)).unwrap()).await;

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
    trusts_the_ca(store::Redis::new, (&trusted, &url), "ca", "rd-s3cret").await;

    // Plain to the TLS port: the server hangs up.
    let plain = without(&url, "ca").replace("rediss://", "redis://");
    let store = store::Redis::new(at(&plain)).unwrap();
    unavailable(store, &["redis at 127.0.0.1:56380"], "rd-s3cret").await;
}

#[tokio::test]
async fn nats_over_tls() {
    let trusted = support::server("nats-tls");
    // The server's accounts take no password for user micro: this one is only there to be
    // kept out of errors.
    let url = trusted.replace("tls://", "tls://micro:nt-s3cret@");
    trusts_the_ca(store::Nats::new, (&trusted, &url), "ca", "nt-s3cret").await;

    // A nats:// server given the CA: TLS all the same.
    let broker = broker::Nats::new(Some(&trusted.replace("tls://", "nats://"))).unwrap();
    let mut inbox = Inbox::new();
    let _subscribed = broker
        .subscribe("tls.topic", inbox.handler(0), Default::default())
        .await
        .unwrap();
    broker
        .publish("tls.topic", broker::Message::new("over TLS"))
        .await
        .unwrap();
    assert_eq!(&inbox.next().await.2.body[..], b"over TLS");

    // Plain to the TLS-only server: the server asks for TLS, which fails without the CA.
    let plain = without(&url, "ca").replace("tls://", "nats://");
    let store = store::Nats::new(at(&plain)).unwrap();
    unavailable(store, &["TLS failed"], "nt-s3cret").await;
}
