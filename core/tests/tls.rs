//! TLS to the backends' servers, against the test servers' TLS faces (`scripts/servers.sh`,
//! whose CA signed their certificates): with the CA given, TLS works; with the system's roots
//! alone, or plain to a port that takes TLS only, it fails with a 503 saying why, never with
//! the password.

mod support;

use micro::broker::{self, Broker};
use micro::errors::{Error, Kind};
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

/// Writes a record to `store` and reads it back.
async fn round_trip(store: &dyn Store) {
    store
        .write(Record::new("tls", "over TLS"), &WriteOptions::default())
        .await
        .unwrap();
    let read = store.read("tls", &ReadOptions::default()).await.unwrap();
    assert_eq!(&read[0].value[..], b"over TLS");
}

/// Asserts that `err` is a 503 whose detail holds each of `words`, and no `secret`.
fn unavailable(err: &Error, words: &[&str], secret: &str) {
    eprintln!("{err}");
    assert_eq!(err.kind, Kind::Unavailable, "{err}");
    for word in words {
        assert!(err.detail.contains(word), "no {word:?} in: {}", err.detail);
    }
    assert!(!err.to_string().contains(secret), "{err}");
}

#[tokio::test]
async fn postgres_over_tls() {
    let url = support::server("postgres-tls").replace("postgres@", "postgres:pg-s3cret@");
    assert!(url.contains("sslmode=require&sslrootcert="), "{url}");
    let trusted = store::Postgres::new(at(&url)).unwrap();
    round_trip(&trusted).await;

    let system_roots = store::Postgres::new(at(&without(&url, "sslrootcert"))).unwrap();
    let err = system_roots
        .read("tls", &ReadOptions::default())
        .await
        .unwrap_err();
    unavailable(&err, &["TLS failed", "sslrootcert="], "pg-s3cret");

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
    let url = support::server("redis-tls").replace("rediss://", "rediss://:rd-s3cret@");
    assert!(url.contains("?ca="), "{url}");
    // The test server wants no password: the password is only there to be kept out of errors.
    let trusted = store::Redis::new(at(&url.replace(":rd-s3cret@", ""))).unwrap();
    round_trip(&trusted).await;

    let system_roots = store::Redis::new(at(&without(&url, "ca"))).unwrap();
    let err = system_roots
        .read("tls", &ReadOptions::default())
        .await
        .unwrap_err();
    unavailable(&err, &["TLS failed", "ca="], "rd-s3cret");

    let plain =
        store::Redis::new(at(&without(&url, "ca").replace("rediss://", "redis://"))).unwrap();
    let err = plain
        .read("tls", &ReadOptions::default())
        .await
        .unwrap_err();
    unavailable(&err, &["redis"], "rd-s3cret");
}

#[tokio::test]
async fn nats_over_tls() {
    let url = support::server("nats-tls").replace("tls://", "tls://micro:nt-s3cret@");
    assert!(url.contains("?ca="), "{url}");
    // The server's accounts take user micro's password "micro": this one is only there to be
    // kept out of errors, and is put right where the server must accept it.
    let right = url.replace(":nt-s3cret@", ":micro@");
    let store = store::Nats::new(at(&right)).unwrap();
    round_trip(&store).await;
    // A nats:// server given the CA: TLS all the same.
    let broker = broker::Nats::new(Some(&right.replace("tls://", "nats://"))).unwrap();
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

    let system_roots = store::Nats::new(at(&without(&url, "ca"))).unwrap();
    let err = system_roots
        .read("tls", &ReadOptions::default())
        .await
        .unwrap_err();
    unavailable(&err, &["TLS failed", "ca="], "nt-s3cret");

    let plain = without(&url, "ca").replace("tls://", "nats://");
    let err = store::Nats::new(at(&plain))
        .unwrap()
        .read("tls", &ReadOptions::default())
        .await
        .unwrap_err();
    unavailable(&err, &["TLS"], "nt-s3cret");
}
