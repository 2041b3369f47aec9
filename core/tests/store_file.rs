//! The `file` store on real files in a temporary directory: the read/write/delete/list options,
//! expiry, reopening, bad input, damaged files, processes sharing a table (one killed while it
//! holds it, one that never lets go), and no acknowledged write lost when the writing process is
//! killed with SIGKILL.

use micro::store::{
    DeleteOptions, File, ListOptions, Options, ReadOptions, Record, Store, WriteOptions,
};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Set in a child process to the mode it should run in; holds the store's directory in
/// `CHILD_DIR`.
const CHILD_MODE: &str = "MICRO_STORE_FILE_TEST_CHILD";
const CHILD_DIR: &str = "MICRO_STORE_FILE_TEST_DIR";
/// Names a child's keys: the prefix of a writer's keys, the number of a sharer.
const CHILD_NAME: &str = "MICRO_STORE_FILE_TEST_NAME";
/// Lines the child prints after a write returned Ok start with this.
const ACK: &str = "ACK ";
/// How many processes share a table at once, and how many keys each writes.
const SHARERS: usize = 3;
const SHARED_KEYS: usize = 100;

fn open(dir: &Path) -> File {
    File::new(Options {
        address: Some(dir.display().to_string()),
        ..Default::default()
    })
    .unwrap()
}

async fn put(store: &File, key: &str, value: &str) {
    store
        .write(Record::new(key, value.to_string()), &Default::default())
        .await
        .unwrap();
}

fn keys(records: &[Record]) -> Vec<&str> {
    records.iter().map(|r| r.key.as_str()).collect()
}

fn read_options(prefix: bool, suffix: bool, limit: usize, offset: usize) -> ReadOptions {
    ReadOptions {
        prefix,
        suffix,
        limit,
        offset,
        ..Default::default()
    }
}

#[tokio::test]
async fn delete_removes_a_record_and_missing_keys_are_fine() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.delete("never", &Default::default()).await.unwrap();
    put(&store, "a", "1").await;
    put(&store, "b", "2").await;
    store.delete("a", &Default::default()).await.unwrap();
    store.delete("a", &Default::default()).await.unwrap();
    assert_eq!(
        store.read("a", &Default::default()).await.unwrap_err().code,
        404
    );
    assert_eq!(store.list(&Default::default()).await.unwrap(), ["b"]);
    let elsewhere = DeleteOptions {
        database: Some("nowhere".into()),
        ..Default::default()
    };
    store.delete("b", &elsewhere).await.unwrap();
    assert!(
        !dir.path().join("nowhere").exists(),
        "deleting must not create files"
    );
}

#[tokio::test]
async fn databases_and_tables_are_kept_apart_in_their_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = File::new(Options {
        address: Some(dir.path().display().to_string()),
        database: "app".into(),
        table: "main".into(),
        ..Default::default()
    })
    .unwrap();
    let at = |database: &str, table: &str| WriteOptions {
        database: Some(database.into()),
        table: Some(table.into()),
        ..Default::default()
    };
    let read_at = |database: &str, table: &str| ReadOptions {
        database: Some(database.into()),
        table: Some(table.into()),
        ..Default::default()
    };
    put(&store, "k", "default").await;
    store
        .write(Record::new("k", "one"), &at("app", "one"))
        .await
        .unwrap();
    store
        .write(Record::new("k", "two"), &at("other", "main"))
        .await
        .unwrap();

    let value = |found: Vec<Record>| found[0].value.clone();
    assert_eq!(
        value(store.read("k", &Default::default()).await.unwrap()),
        "default"
    );
    assert_eq!(
        value(store.read("k", &read_at("app", "main")).await.unwrap()),
        "default"
    );
    assert_eq!(
        value(store.read("k", &read_at("app", "one")).await.unwrap()),
        "one"
    );
    assert_eq!(
        value(store.read("k", &read_at("other", "main")).await.unwrap()),
        "two"
    );
    let err = store.read("k", &read_at("other", "one")).await.unwrap_err();
    assert_eq!(err.code, 404);

    for file in ["app/main.redb", "app/one.redb", "other/main.redb"] {
        assert!(dir.path().join(file).is_file(), "{file} is missing");
    }
    assert!(
        !dir.path().join("other/one.redb").exists(),
        "a read created a file"
    );
    store
        .delete(
            "k",
            &DeleteOptions {
                database: Some("app".into()),
                table: Some("one".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        value(store.read("k", &read_at("other", "main")).await.unwrap()),
        "two"
    );
}

#[tokio::test]
async fn metadata_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut record = Record::new("m", vec![0u8, 1, 2, 255]);
    record.metadata = HashMap::from([
        ("owner".to_string(), serde_json::json!("alice")),
        ("count".to_string(), serde_json::json!(3)),
        ("tags".to_string(), serde_json::json!(["a", {"b": null}])),
    ]);
    store
        .write(record.clone(), &Default::default())
        .await
        .unwrap();
    let found = store.read("m", &Default::default()).await.unwrap();
    assert_eq!(found, vec![record.clone()]);
    drop(store);
    let found = open(dir.path())
        .read("m", &Default::default())
        .await
        .unwrap();
    assert_eq!(found, vec![record]);
}

#[tokio::test]
async fn expired_records_are_never_returned_and_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let second = Duration::from_secs(1);
    let mut by_record = Record::new("a-record-expiry", "1");
    by_record.expiry = Some(second);
    store.write(by_record, &Default::default()).await.unwrap();
    let ttl = WriteOptions {
        ttl: Some(second),
        ..Default::default()
    };
    store.write(Record::new("b-ttl", "2"), &ttl).await.unwrap();
    let at = WriteOptions {
        expiry: Some(SystemTime::now() + second),
        ..Default::default()
    };
    store
        .write(Record::new("c-expiry", "3"), &at)
        .await
        .unwrap();
    put(&store, "d-forever", "4").await;
    let long = WriteOptions {
        ttl: Some(Duration::from_secs(3600)),
        ..Default::default()
    };
    store
        .write(Record::new("e-later", "5"), &long)
        .await
        .unwrap();
    let past = WriteOptions {
        expiry: Some(SystemTime::now() - second),
        ..Default::default()
    };
    store
        .write(Record::new("f-past", "6"), &past)
        .await
        .unwrap();

    let found = store.read("b-ttl", &Default::default()).await.unwrap();
    let left = found[0]
        .expiry
        .expect("a record with a TTL says how long it has left");
    assert!(left <= second && left > Duration::ZERO, "{left:?}");
    assert_eq!(
        store
            .read("f-past", &Default::default())
            .await
            .unwrap_err()
            .code,
        404
    );
    assert_eq!(store.list(&Default::default()).await.unwrap().len(), 5);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    for key in ["a-record-expiry", "b-ttl", "c-expiry"] {
        let err = store.read(key, &Default::default()).await.unwrap_err();
        assert_eq!(err.code, 404, "{key} was returned after it expired");
    }
    let all = store
        .read("", &read_options(true, false, 0, 0))
        .await
        .unwrap();
    assert_eq!(keys(&all), ["d-forever", "e-later"]);
    assert_eq!(
        store.list(&Default::default()).await.unwrap(),
        ["d-forever", "e-later"]
    );
    // A write (queued behind the removals) makes sure the writer has done them.
    put(&store, "g", "7").await;
    drop(store);

    assert_eq!(
        raw_keys(&dir.path().join("micro/micro.redb")),
        ["d-forever", "e-later", "g"],
        "expired records stay on disk after they were met"
    );
}

#[tokio::test]
async fn expired_records_nobody_reads_are_swept_by_later_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ttl = WriteOptions {
        ttl: Some(Duration::from_secs(1)),
        ..Default::default()
    };
    let writes = (0..600).map(|i| store.write(Record::new(format!("short{i:03}"), "v"), &ttl));
    for written in futures::future::join_all(writes).await {
        written.unwrap();
    }
    put(&store, "long", "stays").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Each commit sweeps a few hundred keys onward; a handful of writes go all the way round.
    for i in 0..8 {
        put(&store, &format!("new{i}"), "v").await;
    }
    drop(store);
    let left = raw_keys(&dir.path().join("micro/micro.redb"));
    assert_eq!(
        left,
        [
            "long", "new0", "new1", "new2", "new3", "new4", "new5", "new6", "new7"
        ]
    );
}

const RECORDS: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("records");

/// Every key in a table file, read with redb directly.
fn raw_keys(path: &Path) -> Vec<String> {
    use redb::ReadableTable;
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(RECORDS).unwrap();
    table
        .iter()
        .unwrap()
        .map(|entry| entry.unwrap().0.value().to_string())
        .collect()
}

#[tokio::test]
async fn data_survives_closing_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for i in 0..100 {
        put(&store, &format!("key{i:03}"), &format!("value{i}")).await;
    }
    store.delete("key050", &Default::default()).await.unwrap();
    let clone = store.clone();
    drop(store);
    drop(clone);

    let store = open(dir.path());
    let listed = store.list(&Default::default()).await.unwrap();
    assert_eq!(listed.len(), 99);
    assert!(!listed.contains(&"key050".to_string()));
    let found = store.read("key042", &Default::default()).await.unwrap();
    assert_eq!(found[0].value, "value42");
    put(&store, "key050", "back").await;
    drop(store);
    let found = open(dir.path())
        .read("key050", &Default::default())
        .await
        .unwrap();
    assert_eq!(found[0].value, "back");
}

#[tokio::test]
async fn bad_input_is_refused_with_400_and_the_store_stays_intact() {
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("root");
    let store = open(&root);
    put(&store, "keep", "me").await;

    let long_key = "k".repeat(2000);
    for key in ["", long_key.as_str(), "a\nb", "tab\there"] {
        let err = store
            .write(Record::new(key, "v"), &Default::default())
            .await
            .unwrap_err();
        assert_eq!(err.code, 400, "write {key:?}: {err}");
        let err = store.read(key, &Default::default()).await.unwrap_err();
        assert_eq!(err.code, 400, "read {key:?}: {err}");
        let err = store.delete(key, &Default::default()).await.unwrap_err();
        assert_eq!(err.code, 400, "delete {key:?}: {err}");
    }

    let small = File::new(Options {
        address: Some(parent.path().join("small").display().to_string()),
        max_value_size: 8,
        ..Default::default()
    })
    .unwrap();
    let err = small
        .write(Record::new("big", vec![0u8; 9]), &Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.code, 400);
    assert!(err.detail.contains("max_value_size"), "{}", err.detail);
    small
        .write(Record::new("fits", vec![0u8; 8]), &Default::default())
        .await
        .unwrap();

    for name in ["../x", "..", ".", "a/b", "/etc", "x\\y", ""] {
        let write = WriteOptions {
            database: Some(name.into()),
            ..Default::default()
        };
        let err = store
            .write(Record::new("k", "v"), &write)
            .await
            .unwrap_err();
        assert_eq!(err.code, 400, "database {name:?}: {err}");
        assert!(
            err.detail.contains("invalid database name"),
            "{}",
            err.detail
        );
        let write = WriteOptions {
            table: Some(name.into()),
            ..Default::default()
        };
        let err = store
            .write(Record::new("k", "v"), &write)
            .await
            .unwrap_err();
        assert_eq!(err.code, 400, "table {name:?}: {err}");
        let read = ReadOptions {
            table: Some(name.into()),
            prefix: true,
            ..Default::default()
        };
        assert_eq!(store.read("", &read).await.unwrap_err().code, 400);
        let list = ListOptions {
            database: Some(name.into()),
            ..Default::default()
        };
        assert_eq!(store.list(&list).await.unwrap_err().code, 400);
    }

    let mut outside: Vec<_> = std::fs::read_dir(parent.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    outside.sort();
    assert_eq!(
        outside,
        ["root", "small"],
        "something was written outside the root"
    );
    let found = store.read("keep", &Default::default()).await.unwrap();
    assert_eq!(found[0].value, "me");
    assert_eq!(store.list(&Default::default()).await.unwrap(), ["keep"]);
}

#[tokio::test]
async fn damaged_records_and_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    put(&store, "good", "fine").await;
    drop(store);
    {
        let db = redb::Database::open(dir.path().join("micro/micro.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(RECORDS)
            .unwrap()
            .insert("bad", b"\x07garbage".as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let store = open(dir.path());
    let err = store.read("bad", &Default::default()).await.unwrap_err();
    assert_eq!(err.code, 500);
    assert!(
        err.detail.contains("\"bad\"") && err.detail.contains("cannot be read"),
        "{}",
        err.detail
    );
    let err = store
        .read("", &read_options(true, false, 0, 0))
        .await
        .unwrap_err();
    assert!(err.detail.contains("cannot be read"), "{}", err.detail);
    assert_eq!(
        store.read("good", &Default::default()).await.unwrap()[0].value,
        "fine"
    );
    // Writing the key again repairs it.
    put(&store, "bad", "mended").await;
    assert_eq!(
        store.read("bad", &Default::default()).await.unwrap()[0].value,
        "mended"
    );

    std::fs::create_dir_all(dir.path().join("junk")).unwrap();
    std::fs::write(dir.path().join("junk/micro.redb"), vec![0x5a; 10_000]).unwrap();
    let junk = WriteOptions {
        database: Some("junk".into()),
        ..Default::default()
    };
    let err = store.write(Record::new("k", "v"), &junk).await.unwrap_err();
    assert_eq!(err.code, 500);
    assert!(
        err.detail.contains("cannot open the store file"),
        "{}",
        err.detail
    );
    assert!(err.detail.contains("junk/micro.redb"), "{}", err.detail);
    assert_eq!(
        store.read("good", &Default::default()).await.unwrap()[0].value,
        "fine"
    );
}

#[tokio::test]
async fn two_stores_in_one_process_take_turns_with_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (open(dir.path()), open(dir.path()));
    let write = WriteOptions::default();
    put(&first, "from-first", "1").await;
    put(&second, "from-second", "2").await;
    let writes = (0..20).map(|i| {
        let store = if i % 2 == 0 { &first } else { &second };
        store.write(Record::new(format!("k{i:02}"), "v"), &write)
    });
    for written in futures::future::join_all(writes).await {
        written.unwrap();
    }
    assert_eq!(
        first
            .read("from-second", &Default::default())
            .await
            .unwrap()[0]
            .value,
        "2"
    );
    assert_eq!(
        second
            .read("from-first", &Default::default())
            .await
            .unwrap()[0]
            .value,
        "1"
    );
    assert_eq!(first.list(&Default::default()).await.unwrap().len(), 22);
    assert_eq!(second.list(&Default::default()).await.unwrap().len(), 22);
}

#[test]
fn processes_share_a_table_and_each_sees_the_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<Child> = (0..SHARERS)
        .map(|index| {
            let mut command = child_command("share", dir.path());
            command.env(CHILD_NAME, index.to_string());
            command.stdout(Stdio::piped()).spawn().unwrap()
        })
        .collect();
    for (index, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("RESULT ok"),
            "child {index} failed ({}): {stdout}",
            output.status
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let listed = runtime.block_on(open(dir.path()).list(&Default::default()));
    assert_eq!(listed.unwrap().len(), SHARERS * SHARED_KEYS);
}

#[test]
fn a_process_killed_while_holding_the_table_blocks_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = named_child("sequential", "first", dir.path());
    let first_acks = Acks::collect(&mut first);
    first_acks.wait_for(20);
    let table = dir.path().join("micro/micro.redb");
    let mut second = named_child("sequential", "second", dir.path());
    let second_acks = Acks::collect(&mut second);
    let wait_file = dir.path().join("micro/micro.redb.wait");
    // Killed while it holds the table and the second process waits for it: the moment a
    // process that never let go would block the other for good.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(holds_flock(first.id(), "WRITE", &table)
        && holds_flock(second.id(), "READ", &wait_file))
    {
        assert!(
            Instant::now() < deadline,
            "never saw the first process hold the table while the second waited; second wrote {}",
            second_acks.count()
        );
        assert!(!second_acks.finished(), "the second process stopped");
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let after_kill = second_acks.count();
    second_acks.wait_for(after_kill + 100);
    second.kill().unwrap();
    second.wait().unwrap();
    let mut acked = first_acks.take();
    acked.extend(second_acks.take());
    check_all_there(&(dir, acked));
}

#[test]
fn a_table_kept_by_a_process_that_never_lets_go_gives_409_after_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(put(&open(dir.path()), "held", "by a raw redb"));
    // redb itself never hands the file over, as another program holding it would not.
    let table = dir.path().join("micro/micro.redb");
    let raw = redb::Database::open(&table).unwrap();

    let output = child("open", dir.path(), Stdio::piped())
        .wait_with_output()
        .unwrap();
    let line = result_line(&output.stdout);
    assert!(line.starts_with("RESULT 409 "), "{line}");
    assert!(line.contains("stayed in use by another process"), "{line}");
    assert!(line.contains("MICRO_STORE_ADDRESS"), "{line}");

    // A process already waiting gets the table as soon as the holder lets go.
    let waiter = child("open", dir.path(), Stdio::piped());
    let wait_file = dir.path().join("micro/micro.redb.wait");
    while !holds_flock(waiter.id(), "READ", &wait_file) {
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(raw);
    let output = waiter.wait_with_output().unwrap();
    assert_eq!(result_line(&output.stdout), "RESULT ok by a raw redb");
}

/// The `RESULT ...` line a child printed.
fn result_line(stdout: &[u8]) -> String {
    let stdout = String::from_utf8_lossy(stdout);
    stdout
        .lines()
        .find_map(|l| l.find("RESULT ").map(|at| l[at..].to_string()))
        .unwrap_or_else(|| panic!("the child printed no result: {stdout}"))
}

/// Whether process `pid` holds a `flock` of `kind` (READ for shared, WRITE for exclusive) on
/// `path`, as /proc/locks tells.
fn holds_flock(pid: u32, kind: &str, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(inode) = std::fs::metadata(path).map(|m| m.ino()) else {
        return false;
    };
    let locks = std::fs::read_to_string("/proc/locks").unwrap();
    locks.lines().any(|line| {
        // "1: FLOCK  ADVISORY  WRITE 1234 fe:00:5678 0 EOF"; blocked requests have "->".
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.len() >= 6
            && fields[1] == "FLOCK"
            && fields[3] == kind
            && fields[4] == pid.to_string()
            && fields[5].rsplit(':').next() == Some(inode.to_string().as_str())
    })
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let acked = run_and_kill("sequential", 300);
    check_all_there(&acked);
}

#[test]
fn acknowledged_concurrent_writes_survive_kill_9() {
    let acked = run_and_kill("concurrent", 800);
    check_all_there(&acked);
}

/// Starts a child that writes until killed, SIGKILLs it once it has acknowledged `enough`
/// writes, and returns the directory with every acknowledged key and value.
fn run_and_kill(mode: &str, enough: usize) -> (tempfile::TempDir, BTreeMap<String, String>) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = child(mode, dir.path(), Stdio::piped());
    let acks = Acks::collect(&mut child);
    acks.wait_for(enough);
    child.kill().unwrap(); // SIGKILL on unix
    child.wait().unwrap();
    (dir, acks.take())
}

/// The writes a child acknowledged, collected from its output by a thread of their own.
struct Acks {
    acked: Arc<Mutex<BTreeMap<String, String>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Acks {
    fn collect(child: &mut Child) -> Acks {
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let acked = Arc::new(Mutex::new(BTreeMap::new()));
        let into = acked.clone();
        let reader = std::thread::spawn(move || {
            let mut stdout = stdout;
            let mut line = String::new();
            loop {
                line.clear();
                if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                // A line cut short by the kill was never fully acknowledged.
                let ack = line.find(ACK).map(|at| &line[at + ACK.len()..]);
                let Some(ack) = ack.and_then(|l| l.strip_suffix('\n')) else {
                    continue;
                };
                let (key, value) = ack.split_once(' ').expect("ACK key value");
                into.lock()
                    .unwrap()
                    .insert(key.to_string(), value.to_string());
            }
        });
        Acks { acked, reader }
    }

    fn count(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    /// The child's output has ended: it exited or was killed.
    fn finished(&self) -> bool {
        self.reader.is_finished()
    }

    /// Waits until the child has acknowledged `enough` writes; fails if it stops first.
    fn wait_for(&self, enough: usize) {
        while self.count() < enough {
            assert!(
                !self.finished(),
                "the child stopped by itself after {} writes",
                self.count()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn take(self) -> BTreeMap<String, String> {
        self.reader.join().unwrap();
        Arc::try_unwrap(self.acked).unwrap().into_inner().unwrap()
    }
}

fn check_all_there((dir, acked): &(tempfile::TempDir, BTreeMap<String, String>)) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = open(dir.path());
        for (key, value) in acked {
            let found = store
                .read(key, &Default::default())
                .await
                .unwrap_or_else(|e| panic!("acknowledged {key} is lost: {e}"));
            assert_eq!(found[0].value, value.as_str(), "{key}");
        }
        let listed = store.list(&Default::default()).await.unwrap();
        assert!(listed.len() >= acked.len());
    });
}

fn child(mode: &str, dir: &Path, stdout: Stdio) -> Child {
    child_command(mode, dir).stdout(stdout).spawn().unwrap()
}

/// A child in `mode` whose keys start with `name`.
fn named_child(mode: &str, name: &str, dir: &Path) -> Child {
    child_command(mode, dir)
        .env(CHILD_NAME, name)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

fn child_command(mode: &str, dir: &Path) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["child_process_entry", "--exact", "--nocapture", "--quiet"])
        .env(CHILD_MODE, mode)
        .env(CHILD_DIR, dir)
        .stderr(Stdio::inherit());
    command
}

/// Not a test of its own: the body of the child processes above, run only when `CHILD_MODE`
/// is set.
#[test]
fn child_process_entry() {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return;
    };
    let dir = std::env::var(CHILD_DIR).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        match mode.as_str() {
            "open" => {
                let store = open(Path::new(&dir));
                match store.read("held", &Default::default()).await {
                    Ok(found) => println!("RESULT ok {}", String::from_utf8_lossy(&found[0].value)),
                    Err(e) => println!("RESULT {} {}", e.code, e.detail),
                }
            }
            "sequential" => {
                let name = std::env::var(CHILD_NAME).unwrap_or_else(|_| "seq".into());
                write_forever(open(Path::new(&dir)), name).await
            }
            "share" => {
                let index: usize = std::env::var(CHILD_NAME).unwrap().parse().unwrap();
                share(open(Path::new(&dir)), index).await
            }
            "concurrent" => {
                let store = open(Path::new(&dir));
                let writers: Vec<_> = (0..16)
                    .map(|w| tokio::spawn(write_forever(store.clone(), format!("w{w:02}"))))
                    .collect();
                for writer in writers {
                    writer.await.unwrap();
                }
            }
            other => panic!("unknown child mode {other}"),
        }
    });
}

async fn write_forever(store: File, name: impl std::fmt::Display) {
    for i in 0u64.. {
        let key = format!("{name}-{i:08}");
        let value = format!("v{i}-{}", "x".repeat((i % 50) as usize));
        store
            .write(Record::new(key.clone(), value.clone()), &Default::default())
            .await
            .unwrap();
        println!("{ACK}{key} {value}");
    }
}

/// One of `SHARERS` processes on one table: writes its own keys from four tasks at once, reading
/// each back, then waits until it sees every other process's keys with their values.
async fn share(store: File, index: usize) {
    let key = |owner: usize, i: usize| format!("p{owner}-{i:03}");
    let value = |owner: usize, i: usize| format!("written by {owner} as {i}");
    let writers: Vec<_> = (0..4)
        .map(|task| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in (task..SHARED_KEYS).step_by(4) {
                    put(&store, &key(index, i), &value(index, i)).await;
                    let found = store.read(&key(index, i), &Default::default()).await;
                    assert_eq!(found.unwrap()[0].value, value(index, i));
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listed = store.list(&Default::default()).await.unwrap();
        if listed.len() == SHARERS * SHARED_KEYS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "process {index} sees only {} keys",
            listed.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for owner in 0..SHARERS {
        for i in 0..SHARED_KEYS {
            let found = store.read(&key(owner, i), &Default::default()).await;
            assert_eq!(found.unwrap()[0].value, value(owner, i));
        }
    }
    println!("RESULT ok");
}
