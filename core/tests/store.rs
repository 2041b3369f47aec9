//! The store contract, run against every store implementation: what go-micro users expect of
//! read, write, delete and list with all their options.

#[cfg(any(
    feature = "mysql",
    feature = "postgres",
    feature = "redis",
    feature = "nats"
))]
mod support;

use micro::store::{self, DeleteOptions, ListOptions, ReadOptions, Record, Store, WriteOptions};
use std::time::Duration;

/// A store to test, and what the test holds until it ends, if anything: the directory the store
/// keeps its files in (removed when dropped), or its turn at a shared server.
type Fixture = (Box<dyn Store>, Option<Box<dyn std::any::Any>>);

fn memory() -> Fixture {
    (
        Box::new(store::Memory::new(store::Options::default())),
        None,
    )
}

fn file() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let options = store::Options {
        address: Some(dir.path().to_str().unwrap().into()),
        ..Default::default()
    };
    (
        Box::new(store::File::new(options).unwrap()),
        Some(Box::new(dir)),
    )
}

/// How many stores on servers this test binary has made: each gets a database of its own.
#[cfg(any(
    feature = "mysql",
    feature = "postgres",
    feature = "redis",
    feature = "nats"
))]
static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A store on the test PostgreSQL server, in a database of its own made fresh.
#[cfg(feature = "postgres")]
async fn postgres() -> Fixture {
    let url = support::server("postgres");
    let n = MADE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let database = format!("contract_{n}");
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    for statement in ["DROP DATABASE IF EXISTS", "CREATE DATABASE"] {
        admin
            .batch_execute(&format!("{statement} {database}"))
            .await
            .unwrap();
    }
    let options = store::Options {
        address: Some(format!("{}/{database}", url.rsplit_once('/').unwrap().0)),
        ..Default::default()
    };
    (Box::new(store::Postgres::new(options).unwrap()), None)
}

/// A store on the test MySQL server. Its databases are the server's own (`micro`, `shop`, ...),
/// so the tests take turns, each dropping those the contract uses first.
#[cfg(feature = "mysql")]
async fn mysql() -> Fixture {
    use mysql_async::prelude::Queryable;
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let turn = TURN.lock().await;
    let url = support::server("mysql");
    let mut admin = mysql_async::Conn::from_url(&url).await.unwrap();
    for database in ["micro", "shop", "other"] {
        admin
            .query_drop(format!("DROP DATABASE IF EXISTS {database}"))
            .await
            .unwrap();
    }
    admin.disconnect().await.unwrap();
    let options = store::Options {
        address: Some(url),
        ..Default::default()
    };
    (
        Box::new(store::Mysql::new(options).unwrap()),
        Some(Box::new(turn)),
    )
}

/// A store on the test Redis server, in a numbered database of its own, emptied first.
#[cfg(feature = "redis")]
async fn redis() -> Fixture {
    let url = support::server("redis");
    let n = MADE.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
    let url = url.replace("/0", &format!("/{n}"));
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("FLUSHDB")
        .query_async::<()>(&mut con)
        .await
        .unwrap();
    let options = store::Options {
        address: Some(url),
        ..Default::default()
    };
    (Box::new(store::Redis::new(options).unwrap()), None)
}

/// A store on the test NATS server, in an account of its own (`scripts/servers.sh` makes 64)
/// whose buckets are emptied first.
#[cfg(feature = "nats")]
async fn nats() -> Fixture {
    let url = support::server("nats");
    let n = MADE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let url = url.replace("nats://", &format!("nats://store{n}:store{n}@"));
    let jetstream = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
    for bucket in ["micro", "shop", "other"] {
        let _ = jetstream.delete_key_value(bucket).await;
    }
    let options = store::Options {
        address: Some(url),
        ..Default::default()
    };
    (Box::new(store::Nats::new(options).unwrap()), None)
}

async fn seed(store: &dyn Store, keys: &[&str]) {
    for key in keys {
        let record = Record::new(*key, format!("value of {key}"));
        store.write(record, &WriteOptions::default()).await.unwrap();
    }
}

fn keys(records: &[Record]) -> Vec<&str> {
    records.iter().map(|r| r.key.as_str()).collect()
}

fn prefix(n: usize, offset: usize) -> ReadOptions {
    ReadOptions {
        prefix: true,
        limit: n,
        offset,
        ..Default::default()
    }
}

async fn reads_exactly_what_was_written(store: &dyn Store) {
    let mut record = Record::new("user/alice", "Alice");
    record.metadata.insert("age".into(), serde_json::json!(42));
    store
        .write(record.clone(), &WriteOptions::default())
        .await
        .unwrap();
    let found = store
        .read("user/alice", &ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(found, vec![record]);
}

async fn missing_key_is_a_404(store: &dyn Store) {
    let err = store
        .read("nobody", &ReadOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code, 404);
    assert!(err.detail.contains("nobody"), "{}", err.detail);
}

async fn write_replaces_and_delete_removes(store: &dyn Store) {
    store
        .write(Record::new("k", "one"), &WriteOptions::default())
        .await
        .unwrap();
    store
        .write(Record::new("k", "two"), &WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(
        store.read("k", &ReadOptions::default()).await.unwrap()[0].value,
        "two"
    );
    store.delete("k", &DeleteOptions::default()).await.unwrap();
    assert_eq!(
        store
            .read("k", &ReadOptions::default())
            .await
            .unwrap_err()
            .code,
        404
    );
    store.delete("k", &DeleteOptions::default()).await.unwrap();
}

async fn prefix_suffix_limit_offset_follow_key_order(store: &dyn Store) {
    seed(store, &["b/2", "a/1", "b/1", "b/3", "c/1", "b/3.json"]).await;
    let all = store.read("b/", &prefix(0, 0)).await.unwrap();
    assert_eq!(keys(&all), ["b/1", "b/2", "b/3", "b/3.json"]);
    assert_eq!(all[0].value, "value of b/1");
    assert_eq!(
        keys(&store.read("b/", &prefix(2, 1)).await.unwrap()),
        ["b/2", "b/3"]
    );
    let suffix = ReadOptions {
        suffix: true,
        ..Default::default()
    };
    assert_eq!(
        keys(&store.read("/1", &suffix).await.unwrap()),
        ["a/1", "b/1", "c/1"]
    );
    assert!(store.read("zzz", &prefix(0, 0)).await.unwrap().is_empty());
    let both = ReadOptions {
        prefix: true,
        suffix: true,
        ..Default::default()
    };
    seed(store, &["b"]).await;
    assert_eq!(
        keys(&store.read("b", &both).await.unwrap()),
        ["b"],
        "prefix and suffix must both match"
    );
    store.delete("b", &DeleteOptions::default()).await.unwrap();

    let list = |prefix: &str, suffix: &str, limit, offset| ListOptions {
        prefix: prefix.into(),
        suffix: suffix.into(),
        limit,
        offset,
        ..Default::default()
    };
    assert_eq!(store.list(&list("", "", 0, 0)).await.unwrap().len(), 6);
    assert_eq!(
        store.list(&list("b/", "", 0, 0)).await.unwrap(),
        ["b/1", "b/2", "b/3", "b/3.json"]
    );
    assert_eq!(store.list(&list("b/", "", 1, 2)).await.unwrap(), ["b/3"]);
    assert_eq!(
        store.list(&list("", ".json", 0, 0)).await.unwrap(),
        ["b/3.json"]
    );
    assert_eq!(
        store.list(&list("", "", 0, 10)).await.unwrap(),
        Vec::<String>::new()
    );
}

async fn databases_and_tables_are_separate(store: &dyn Store) {
    let at = |db: &str, table: &str| WriteOptions {
        database: Some(db.into()),
        table: Some(table.into()),
        ..Default::default()
    };
    store
        .write(Record::new("k", "default"), &WriteOptions::default())
        .await
        .unwrap();
    store
        .write(Record::new("k", "orders"), &at("shop", "orders"))
        .await
        .unwrap();
    store
        .write(Record::new("k", "users"), &at("shop", "users"))
        .await
        .unwrap();
    let read = |db: &str, table: &str| ReadOptions {
        database: Some(db.into()),
        table: Some(table.into()),
        ..Default::default()
    };
    assert_eq!(
        store.read("k", &read("shop", "orders")).await.unwrap()[0].value,
        "orders"
    );
    assert_eq!(
        store.read("k", &read("shop", "users")).await.unwrap()[0].value,
        "users"
    );
    assert_eq!(
        store.read("k", &read("micro", "micro")).await.unwrap()[0].value,
        "default"
    );
    assert_eq!(
        store
            .read("k", &read("other", "micro"))
            .await
            .unwrap_err()
            .code,
        404
    );
}

async fn expired_records_are_never_returned(store: &dyn Store) {
    // Long enough that a busy machine still reads the record before it expires.
    const TTL: Duration = Duration::from_secs(2);
    let ttl = WriteOptions {
        ttl: Some(TTL),
        ..Default::default()
    };
    store.write(Record::new("short", "x"), &ttl).await.unwrap();
    let mut own = Record::new("own", "y");
    own.expiry = Some(TTL);
    store.write(own, &WriteOptions::default()).await.unwrap();
    store
        .write(Record::new("long", "z"), &WriteOptions::default())
        .await
        .unwrap();

    let left = store.read("short", &ReadOptions::default()).await.unwrap()[0]
        .expiry
        .unwrap();
    assert!(left <= TTL && !left.is_zero(), "{left:?}");
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;

    for key in ["short", "own"] {
        assert_eq!(
            store
                .read(key, &ReadOptions::default())
                .await
                .unwrap_err()
                .code,
            404
        );
    }
    assert_eq!(
        keys(&store.read("", &prefix(0, 0)).await.unwrap()),
        ["long"]
    );
    assert_eq!(store.list(&ListOptions::default()).await.unwrap(), ["long"]);
    assert_eq!(
        store.read("long", &ReadOptions::default()).await.unwrap()[0].expiry,
        None
    );
}

async fn bad_input_is_refused_and_leaves_the_store_intact(store: &dyn Store) {
    store
        .write(Record::new("keep", "me"), &WriteOptions::default())
        .await
        .unwrap();
    let bad_keys = [
        "".to_string(),
        "a\nb".to_string(),
        "k".repeat(store::MAX_KEY_SIZE + 1),
    ];
    for key in &bad_keys {
        let err = store
            .write(Record::new(key.clone(), "v"), &WriteOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.code, 400, "{key:?}: {err}");
    }
    let huge = vec![0u8; store::DEFAULT_MAX_VALUE_SIZE + 1];
    let err = store
        .write(Record::new("huge", huge), &WriteOptions::default())
        .await
        .unwrap_err();
    assert!(err.detail.contains("max_value_size"), "{}", err.detail);
    let escape = WriteOptions {
        database: Some("../etc".into()),
        ..Default::default()
    };
    let err = store
        .write(Record::new("k", "v"), &escape)
        .await
        .unwrap_err();
    assert!(
        err.detail.contains("invalid database name"),
        "{}",
        err.detail
    );
    let escape = ListOptions {
        table: Some("a/b".into()),
        ..Default::default()
    };
    assert_eq!(store.list(&escape).await.unwrap_err().code, 400);
    assert_eq!(store.list(&ListOptions::default()).await.unwrap(), ["keep"]);
}

/// Runs every contract test against a fresh store from `$make`.
macro_rules! contract {
    ($module:ident, $make:expr) => {
        mod $module {
            use super::*;
            contract!(@tests $make;
                reads_exactly_what_was_written,
                missing_key_is_a_404,
                write_replaces_and_delete_removes,
                prefix_suffix_limit_offset_follow_key_order,
                databases_and_tables_are_separate,
                expired_records_are_never_returned,
                bad_input_is_refused_and_leaves_the_store_intact);
        }
    };
    (@tests $make:expr; $($test:ident),*) => {
        $(
            #[tokio::test]
            async fn $test() {
                let (store, _dir) = $make;
                super::$test(&*store).await;
            }
        )*
    };
}

contract!(memory_store, memory());
contract!(file_store, file());
#[cfg(feature = "mysql")]
contract!(mysql_store, mysql().await);
#[cfg(feature = "postgres")]
contract!(postgres_store, postgres().await);
#[cfg(feature = "redis")]
contract!(redis_store, redis().await);
#[cfg(feature = "nats")]
contract!(nats_store, nats().await);

/// Where go-micro's MySQL columns would fail (keys cut at 255 characters and compared ignoring
/// case and trailing spaces, values of at most 64 KiB), the MySQL store keeps records apart and
/// whole.
#[cfg(feature = "mysql")]
#[tokio::test]
async fn mysql_keeps_keys_and_values_byte_for_byte() {
    let (store, _turn) = mysql().await;
    let long = "k".repeat(store::MAX_KEY_SIZE);
    let binary: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    let records = [
        Record::new("a", "lower"),
        Record::new("A", "upper"),
        Record::new("a ", "trailing space"),
        Record::new(long.clone(), "longest key"),
        Record::new(format!("{}j", &long[1..]), "differs in the last byte"),
        Record::new("binary", binary),
    ];
    for record in &records {
        store
            .write(record.clone(), &WriteOptions::default())
            .await
            .unwrap();
    }
    for record in &records {
        let found = store.read(&record.key, &ReadOptions::default()).await;
        assert_eq!(
            found.unwrap(),
            std::slice::from_ref(record),
            "{:.20}",
            record.key
        );
    }
}

/// A store whose server is down answers 503 saying so, and works again once the server is
/// back, without being made anew: at start, and after the server went away under it. `start`
/// and `kill` start the server the store's address names and kill it (SIGKILL).
#[cfg(any(feature = "mysql", feature = "redis"))]
async fn recovers(store: &dyn Store, start: impl Fn(), kill: impl Fn()) {
    let plain = WriteOptions::default();
    let write = || store.write(Record::new("k", "v"), &plain);
    let err = write().await.unwrap_err();
    assert_eq!(err.kind, micro::errors::Kind::Unavailable, "{err}");
    assert!(err.detail.contains("store unavailable"), "{}", err.detail);

    start();
    let until_written = async {
        while write().await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), until_written)
        .await
        .expect("the store never reached the server once it was up");

    kill();
    assert!(write().await.is_err(), "the server is gone");
    start();
    let until_read = async {
        loop {
            match store.read("k", &ReadOptions::default()).await {
                // The record if the server kept its data, a 404 if it starts empty.
                Ok(_) => break,
                Err(err) if err.code == 404 => break,
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), until_read)
        .await
        .expect("the store never came back after its server restarted");
    kill();
}

/// A port nothing listens on now.
#[cfg(any(feature = "mysql", feature = "redis"))]
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn a_store_recovers_when_its_server_comes_back() {
    support::server("redis"); // installs redis-server if missing
    let port = free_port();
    let server = std::cell::RefCell::new(None);
    let start = || {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        *server.borrow_mut() = Some(child);
    };
    let kill = || {
        let mut child: std::process::Child = server.borrow_mut().take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    };
    let store = store::Redis::new(store::Options {
        address: Some(format!("redis://127.0.0.1:{port}/0")),
        ..Default::default()
    })
    .unwrap();
    recovers(&store, start, kill).await;
}

/// The same for MySQL, on a MariaDB of its own (scripts/servers.sh on another port and
/// directory), which keeps its data across the crash.
#[cfg(feature = "mysql")]
#[tokio::test]
async fn a_mysql_store_recovers_when_its_server_comes_back() {
    support::server("mysql"); // installs mariadb-server if missing
    let port = free_port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("MICRO_SERVERS_DIR", dir.path().to_str().unwrap()),
        ("MICRO_MYSQL_PORT", port.as_str()),
    ];
    let servers = |args: &[&str]| support::servers_with(&env, args);
    let url = servers(&["url", "mysql"]);
    let store = store::Mysql::new(store::Options {
        address: Some(url),
        ..Default::default()
    })
    .unwrap();
    let start = || drop(servers(&["start", "mysql"]));
    let kill = || drop(servers(&["kill", "mysql"]));
    recovers(&store, start, kill).await;
    servers(&["stop"]);
}

/// A store on a server that cannot be reached says where it tried, never with the password,
/// and an address of the wrong kind says what to give.
#[cfg(all(feature = "mysql", feature = "postgres", feature = "redis"))]
#[tokio::test]
async fn server_stores_name_the_server_but_never_the_password() {
    let at = |address: &str| store::Options {
        address: Some(address.into()),
        ..Default::default()
    };
    let stores: [Box<dyn Store>; 3] = [
        Box::new(store::Mysql::new(at("mysql://app:s3cret@127.0.0.1:1/shop")).unwrap()),
        Box::new(store::Postgres::new(at("postgres://app:s3cret@127.0.0.1:1/shop")).unwrap()),
        Box::new(store::Redis::new(at("redis://:s3cret@127.0.0.1:1/2")).unwrap()),
    ];
    for store in &stores {
        let err = store.read("k", &ReadOptions::default()).await.unwrap_err();
        assert_eq!(err.kind, micro::errors::Kind::Unavailable, "{err}");
        assert!(err.detail.contains("127.0.0.1:1"), "{}", err.detail);
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
    let wrong = store::Mysql::new(at("postgres://x")).err().unwrap();
    assert!(wrong.detail.contains("mysql://"), "{}", wrong.detail);
    let wrong = store::Postgres::new(at("mysql://x")).err().unwrap();
    assert!(wrong.detail.contains("postgres://"), "{}", wrong.detail);
    let wrong = store::Redis::new(at("postgres://x")).err().unwrap();
    assert!(wrong.detail.contains("redis://"), "{}", wrong.detail);
}

/// A NATS store given the wrong password says NATS refused it, without the password.
#[cfg(feature = "nats")]
#[tokio::test]
async fn a_nats_store_with_a_wrong_password_says_so_without_it() {
    let url = support::server("nats").replace("nats://", "nats://store0:n0t-it@");
    let store = store::Nats::new(store::Options {
        address: Some(url),
        ..Default::default()
    })
    .unwrap();
    let err = store.read("k", &ReadOptions::default()).await.unwrap_err();
    assert_eq!(err.kind, micro::errors::Kind::Unavailable, "{err}");
    assert!(
        err.detail.contains("refused the user and password"),
        "{}",
        err.detail
    );
    assert!(!err.to_string().contains("n0t-it"), "{err}");
}
