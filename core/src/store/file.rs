//! The embedded, durable store: one redb file per table at `<root>/<database>/<table>.redb`,
//! where nothing needs a server and a write that returned Ok survives a crash or `kill -9`.
//!
//! Reads run directly on the caller's thread in a redb read transaction, which is fast and never
//! waits for a writer. Writes and deletes go to one writer thread that takes everything queued,
//! commits it in one durable transaction per table file and then answers every caller ("group
//! commit"): one writer pays one fsync, many concurrent writers share theirs. Each file holds one
//! redb table, `records`, from key to an encoded record (see `encode`). Expired records are
//! never returned; a read or list that meets one asks the writer to remove it, and every commit
//! also sweeps the next few hundred keys for expired records, so unread ones do not pile up.

use super::{
    DeleteOptions, ID, ListOptions, Options, ReadOptions, Record, Store, WriteOptions, check_key,
    check_write, not_found, page, scope, time_left,
};
use crate::errors::{Error, Result};
use async_trait::async_trait;
use bytes::Bytes;
use redb::{Database, ReadableTable, TableDefinition, TableError};
use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// The redb table inside every file.
const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");
/// The file name ending of a table file.
const EXTENSION: &str = "redb";
/// The first byte of an encoded record: the encoding's version.
const VERSION: u8 = 1;
/// Version byte, expiry (u64), metadata length (u32).
const HEADER: usize = 1 + 8 + 4;
/// At most this many changes go into one commit, so one caller never waits on an endless batch.
const MAX_BATCH: usize = 4096;
/// How long the first change of a batch waits for others while writes come concurrently;
/// small beside an fsync.
const GATHER: Duration = Duration::from_micros(200);
/// How many records each commit's rolling sweep looks at.
const SWEEP_STEP: usize = 256;
/// Memory redb may use to cache each open file.
const CACHE_BYTES: usize = 64 << 20;

/// The durable store on local files, go-micro's `file` store.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use micro::store::{File, Options, Record, Store};
/// let dir = tempfile::tempdir().unwrap();
/// let options = Options { address: Some(dir.path().display().to_string()), ..Default::default() };
/// let store = File::new(options).unwrap();
/// store.write(Record::new("user/1", "alice"), &Default::default()).await.unwrap();
/// let found = store.read("user/1", &Default::default()).await.unwrap();
/// assert_eq!(found[0].value, "alice");
/// # }
/// ```
#[derive(Clone)]
pub struct File {
    inner: Arc<Inner>,
}

struct Inner {
    options: Options,
    root: PathBuf,
    /// database -> table -> the open file; files open on first use and stay open.
    files: RwLock<HashMap<String, HashMap<String, Arc<TableFile>>>>,
    /// Taken while a file is being opened, so each opens once.
    opening: Mutex<()>,
    /// The queue to the writer thread; `None` only while dropping.
    writer: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

/// One open table file.
struct TableFile {
    db: Database,
    path: PathBuf,
    /// The last key the rolling sweep looked at; only the writer thread uses it.
    swept_to: Mutex<String>,
}

/// One change for the writer thread, and where to send its outcome.
struct Job {
    file: Arc<TableFile>,
    change: Change,
    reply: Option<oneshot::Sender<Result<()>>>,
}

enum Change {
    /// Store the encoded record at the key.
    Put { key: String, bytes: Vec<u8> },
    /// Remove the key.
    Delete { key: String },
    /// Remove the key if its record has expired (a newer write may have replaced it).
    Purge { key: String },
}

impl File {
    /// A store rooted at `options.address`, or at `~/micro/store` when that is `None` or empty.
    /// Creates the root directory and starts the writer thread; table files open on first use.
    /// Needs no async runtime.
    pub fn new(options: Options) -> Result<File> {
        let root = root_dir(&options)?;
        std::fs::create_dir_all(&root).map_err(|e| {
            Error::internal(
                ID,
                format!(
                    "cannot create the store directory {}: {e}; choose a writable directory with MICRO_STORE_ADDRESS",
                    root.display()
                ),
            )
        })?;
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("micro-store-file".into())
            .spawn(move || run_writer(receiver))
            .map_err(|e| {
                Error::internal(ID, format!("cannot start the store's writer thread: {e}"))
            })?;
        Ok(File {
            inner: Arc::new(Inner {
                options,
                root,
                files: Default::default(),
                opening: Mutex::new(()),
                writer: Some(sender),
                thread: Some(thread),
            }),
        })
    }

    /// The directory that holds the databases.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }
}

fn root_dir(options: &Options) -> Result<PathBuf> {
    match options.address.as_deref() {
        Some(address) if !address.is_empty() => Ok(PathBuf::from(address)),
        _ => dirs::home_dir()
            .map(|home| home.join("micro").join("store"))
            .ok_or_else(|| {
                Error::internal(
                    ID,
                    "no home directory to keep the store in; set MICRO_STORE_ADDRESS to a directory",
                )
            }),
    }
}

impl Inner {
    /// The open file of a table. When it is not open yet it is opened, or created if `create`;
    /// without `create` a table with no file yet gives `None` (it has no records).
    fn file(&self, database: &str, table: &str, create: bool) -> Result<Option<Arc<TableFile>>> {
        if let Some(file) = self.open_file(database, table) {
            return Ok(Some(file));
        }
        let _opening = self.opening.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = self.open_file(database, table) {
            return Ok(Some(file));
        }
        let dir = self.root.join(database);
        let path = dir.join(format!("{table}.{EXTENSION}"));
        if !create && !path.exists() {
            return Ok(None);
        }
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::internal(
                ID,
                format!(
                    "cannot create the database directory {}: {e}",
                    dir.display()
                ),
            )
        })?;
        let file = Arc::new(open_table_file(path)?);
        let mut files = self.files.write().unwrap_or_else(|e| e.into_inner());
        files
            .entry(database.to_string())
            .or_default()
            .insert(table.to_string(), file.clone());
        Ok(Some(file))
    }

    fn open_file(&self, database: &str, table: &str) -> Option<Arc<TableFile>> {
        let files = self.files.read().unwrap_or_else(|e| e.into_inner());
        files.get(database)?.get(table).cloned()
    }

    /// Queues a change and waits until it is committed to disk.
    async fn commit(&self, file: Arc<TableFile>, change: Change) -> Result<()> {
        let (reply, done) = oneshot::channel();
        self.send(Job {
            file,
            change,
            reply: Some(reply),
        })?;
        done.await.map_err(|_| writer_gone())?
    }

    /// Asks the writer to remove expired keys; nobody waits for it.
    fn purge(&self, file: &Arc<TableFile>, keys: Vec<String>) {
        for key in keys {
            let job = Job {
                file: file.clone(),
                change: Change::Purge { key },
                reply: None,
            };
            if self.send(job).is_err() {
                return;
            }
        }
    }

    fn send(&self, job: Job) -> Result<()> {
        let writer = self.writer.as_ref().ok_or_else(writer_gone)?;
        writer.send(job).map_err(|_| writer_gone())
    }
}

impl Drop for Inner {
    /// Lets the writer finish what is queued, then closes every file, so the same directory can
    /// be opened again as soon as the last handle is gone.
    fn drop(&mut self) {
        self.writer = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn writer_gone() -> Error {
    Error::internal(
        ID,
        "the file store's writer thread has stopped; the change may not be saved, open the store again",
    )
}

fn open_table_file(path: PathBuf) -> Result<TableFile> {
    let db = Database::builder()
        .create_with_file_format_v3(true)
        .set_cache_size(CACHE_BYTES)
        .create(&path)
        .map_err(|e| open_error(&path, e))?;
    Ok(TableFile {
        db,
        path,
        swept_to: Mutex::default(),
    })
}

fn open_error(path: &Path, err: redb::DatabaseError) -> Error {
    match err {
        redb::DatabaseError::DatabaseAlreadyOpen => Error::conflict(
            ID,
            format!(
                "the store file {} is in use by another process (or another store in this process); \
                 only one may open it at a time: stop the other one, or give this one its own \
                 directory with MICRO_STORE_ADDRESS",
                path.display()
            ),
        ),
        err => Error::internal(
            ID,
            format!(
                "cannot open the store file {}: {err}; if it is damaged, move it away and the table starts empty",
                path.display()
            ),
        ),
    }
}

/// A failure inside redb while using `file`.
fn storage_error(file: &TableFile, err: impl std::fmt::Display) -> Error {
    Error::internal(
        ID,
        format!(
            "the store file {} failed: {err}; check the disk (space, permissions)",
            file.path.display()
        ),
    )
}

// ---- the writer thread ----

/// Takes every queued change, commits them per file, answers, and repeats until the store is
/// dropped.
///
/// Writers that start together reach the queue a few microseconds apart, and the first one
/// would otherwise wake this thread and get an fsync of its own. So while writes are coming
/// concurrently (the last batch held more than one), the first change of a batch waits
/// `GATHER` for the others; a lone sequential writer never waits.
fn run_writer(queue: mpsc::Receiver<Job>) {
    let mut concurrent = false;
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        if concurrent {
            std::thread::sleep(GATHER);
        }
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        concurrent = batch.len() > 1;
        for (file, jobs) in group_by_file(batch) {
            commit_jobs(&file, jobs);
        }
    }
}

fn group_by_file(batch: Vec<Job>) -> Vec<(Arc<TableFile>, Vec<Job>)> {
    let mut groups: Vec<(Arc<TableFile>, Vec<Job>)> = Vec::new();
    for job in batch {
        match groups.iter_mut().find(|(f, _)| Arc::ptr_eq(f, &job.file)) {
            Some((_, jobs)) => jobs.push(job),
            None => groups.push((job.file.clone(), vec![job])),
        }
    }
    groups
}

/// Applies the jobs in one durable transaction and tells each caller how it went.
fn commit_jobs(file: &TableFile, jobs: Vec<Job>) {
    match apply_and_commit(file, &jobs) {
        Ok(outcomes) => {
            for (job, outcome) in jobs.into_iter().zip(outcomes) {
                answer(job, outcome);
            }
        }
        Err(err) => {
            tracing::error!(path = %file.path.display(), error = %err.detail, "file store commit failed");
            for job in jobs {
                answer(job, Err(err.clone()));
            }
        }
    }
}

fn answer(job: Job, outcome: Result<()>) {
    if let Some(reply) = job.reply {
        // The caller may have stopped waiting; the change is saved all the same.
        let _ = reply.send(outcome);
    }
}

fn apply_and_commit(file: &TableFile, jobs: &[Job]) -> Result<Vec<Result<()>>> {
    let fail = |e: &dyn std::fmt::Display| storage_error(file, e);
    // redb commits with immediate durability unless told otherwise: on disk when commit returns.
    let txn = file.db.begin_write().map_err(|e| fail(&e))?;
    let outcomes = {
        let mut table = txn.open_table(RECORDS).map_err(|e| fail(&e))?;
        let outcomes = jobs
            .iter()
            .map(|job| apply(&mut table, &job.change).map_err(|e| fail(&e)))
            .collect::<Vec<_>>();
        if let Err(e) = sweep(file, &mut table) {
            tracing::warn!(path = %file.path.display(), error = %e, "file store sweep failed");
        }
        outcomes
    };
    txn.commit().map_err(|e| fail(&e))?;
    Ok(outcomes)
}

fn apply(
    table: &mut redb::Table<&str, &[u8]>,
    change: &Change,
) -> std::result::Result<(), redb::StorageError> {
    match change {
        Change::Put { key, bytes } => {
            table.insert(key.as_str(), bytes.as_slice())?;
        }
        Change::Delete { key } => {
            table.remove(key.as_str())?;
        }
        Change::Purge { key } => {
            let expired = table
                .get(key.as_str())?
                .and_then(|raw| decode_expiry(raw.value()).ok())
                .is_some_and(|expires| time_left(expires, SystemTime::now()).is_none());
            if expired {
                table.remove(key.as_str())?;
            }
        }
    }
    Ok(())
}

/// Removes the expired records among the next `SWEEP_STEP` keys after where the last sweep
/// stopped, wrapping round at the end, so expired records that nobody reads do not pile up.
/// Each commit does one step; it costs little beside the commit's fsync.
fn sweep(
    file: &TableFile,
    table: &mut redb::Table<&str, &[u8]>,
) -> std::result::Result<(), redb::StorageError> {
    let mut swept_to = file.swept_to.lock().unwrap_or_else(|e| e.into_inner());
    let now = SystemTime::now();
    let mut expired = Vec::new();
    let mut seen = 0;
    let from = (Bound::Excluded(swept_to.as_str()), Bound::Unbounded);
    let mut last = String::new();
    for entry in table.range::<&str>(from)?.take(SWEEP_STEP) {
        let (key, raw) = entry?;
        seen += 1;
        let dead =
            decode_expiry(raw.value()).is_ok_and(|expires| time_left(expires, now).is_none());
        if dead {
            expired.push(key.value().to_string());
        }
        if seen == SWEEP_STEP {
            last = key.value().to_string();
        }
    }
    for key in &expired {
        table.remove(key.as_str())?;
    }
    // Fewer than a full step means the end was reached: start again from the first key.
    *swept_to = last;
    Ok(())
}

// ---- the record encoding ----

/// Encodes a record: a version byte, the expiry as u64 little-endian nanoseconds since the Unix
/// epoch (0 for none), the metadata's length as u32 little-endian, the metadata as a JSON object
/// (left out when empty), then the value bytes.
fn encode(
    metadata: &HashMap<String, serde_json::Value>,
    expires: Option<SystemTime>,
    value: &[u8],
) -> Result<Vec<u8>> {
    let metadata = if metadata.is_empty() {
        Vec::new()
    } else {
        serde_json::to_vec(metadata).map_err(|e| {
            Error::bad_request(ID, format!("the record's metadata cannot be stored: {e}"))
        })?
    };
    let metadata_len = u32::try_from(metadata.len()).map_err(|_| {
        Error::bad_request(ID, "the record's metadata is over 4 GiB; keep it small")
    })?;
    let mut bytes = Vec::with_capacity(HEADER + metadata.len() + value.len());
    bytes.push(VERSION);
    bytes.extend_from_slice(&expiry_nanos(expires).to_le_bytes());
    bytes.extend_from_slice(&metadata_len.to_le_bytes());
    bytes.extend_from_slice(&metadata);
    bytes.extend_from_slice(value);
    Ok(bytes)
}

fn expiry_nanos(expires: Option<SystemTime>) -> u64 {
    match expires {
        None => 0,
        // A time before 1970 has long passed: 1 ns after the epoch says the same.
        Some(at) => at
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(1)
            .max(1),
    }
}

/// Why stored bytes could not be read back.
struct Corrupt(&'static str);

fn decode_expiry(bytes: &[u8]) -> std::result::Result<Option<SystemTime>, Corrupt> {
    if bytes.len() < HEADER {
        return Err(Corrupt("it is shorter than the record header"));
    }
    if bytes[0] != VERSION {
        return Err(Corrupt("it has an unknown encoding version"));
    }
    let nanos = u64::from_le_bytes(bytes[1..9].try_into().expect("8 bytes"));
    Ok((nanos != 0).then(|| UNIX_EPOCH + Duration::from_nanos(nanos)))
}

/// The record stored under `key`, or `None` when it has expired by `now`.
fn decode(
    key: &str,
    bytes: &[u8],
    now: SystemTime,
) -> std::result::Result<Option<Record>, Corrupt> {
    let expires = decode_expiry(bytes)?;
    let Some(expiry) = time_left(expires, now) else {
        return Ok(None);
    };
    let metadata_len = u32::from_le_bytes(bytes[9..HEADER].try_into().expect("4 bytes")) as usize;
    let rest = &bytes[HEADER..];
    if rest.len() < metadata_len {
        return Err(Corrupt("its metadata runs past the end"));
    }
    let (metadata, value) = rest.split_at(metadata_len);
    let metadata = if metadata.is_empty() {
        HashMap::new()
    } else {
        serde_json::from_slice(metadata)
            .map_err(|_| Corrupt("its metadata is not a JSON object"))?
    };
    Ok(Some(Record {
        key: key.to_string(),
        value: Bytes::copy_from_slice(value),
        metadata,
        expiry,
    }))
}

fn corrupt_error(file: &TableFile, key: &str, why: Corrupt) -> Error {
    Error::internal(
        ID,
        format!(
            "the record {key:?} in {} cannot be read: {}; delete the key or write it again",
            file.path.display(),
            why.0
        ),
    )
}

// ---- reading ----

/// The table of `file` in a fresh read transaction, or `None` when nothing was ever written.
fn read_table(
    file: &TableFile,
) -> Result<Option<redb::ReadOnlyTable<&'static str, &'static [u8]>>> {
    let txn = file.db.begin_read().map_err(|e| storage_error(file, e))?;
    match txn.open_table(RECORDS) {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(storage_error(file, e)),
    }
}

/// Records found by a read, and the expired keys met on the way.
#[derive(Default)]
struct Found<T> {
    items: Vec<T>,
    expired: Vec<String>,
}

fn read_one(file: &TableFile, key: &str) -> Result<Found<Record>> {
    let mut found = Found::default();
    let Some(table) = read_table(file)? else {
        return Ok(found);
    };
    let Some(raw) = table.get(key).map_err(|e| storage_error(file, e))? else {
        return Ok(found);
    };
    match decode(key, raw.value(), SystemTime::now()) {
        Ok(Some(record)) => found.items.push(record),
        Ok(None) => found.expired.push(key.to_string()),
        Err(why) => return Err(corrupt_error(file, key, why)),
    }
    Ok(found)
}

/// Every live record whose key matches, in key order, after `offset`, at most `limit`.
/// Records are decoded only once they pass the key filter and `offset`.
fn read_many(file: &TableFile, key: &str, options: &ReadOptions) -> Result<Found<Record>> {
    let mut found = Found::default();
    let Some(table) = read_table(file)? else {
        return Ok(found);
    };
    let start = if options.prefix { key } else { "" };
    let range = table.range(start..).map_err(|e| storage_error(file, e))?;
    let now = SystemTime::now();
    let mut skip = options.offset;
    for entry in range {
        let (k, raw) = entry.map_err(|e| storage_error(file, e))?;
        let k = k.value();
        if options.prefix && !k.starts_with(key) {
            break;
        }
        if options.suffix && !k.ends_with(key) {
            continue;
        }
        match decode(k, raw.value(), now) {
            Ok(None) => found.expired.push(k.to_string()),
            Ok(Some(_)) if skip > 0 => skip -= 1,
            Ok(Some(record)) => found.items.push(record),
            Err(why) => return Err(corrupt_error(file, k, why)),
        }
        if options.limit != 0 && found.items.len() == options.limit {
            break;
        }
    }
    Ok(found)
}

fn list_keys(file: &TableFile, options: &ListOptions) -> Result<Found<String>> {
    let mut found = Found::default();
    let Some(table) = read_table(file)? else {
        return Ok(found);
    };
    let range = table
        .range(options.prefix.as_str()..)
        .map_err(|e| storage_error(file, e))?;
    let now = SystemTime::now();
    let mut live = Vec::new();
    for entry in range {
        let (k, raw) = entry.map_err(|e| storage_error(file, e))?;
        let k = k.value();
        if !k.starts_with(&options.prefix) {
            break;
        }
        if !k.ends_with(&options.suffix) {
            continue;
        }
        let expires = decode_expiry(raw.value()).map_err(|why| corrupt_error(file, k, why))?;
        match time_left(expires, now) {
            Some(_) => live.push(k.to_string()),
            None => found.expired.push(k.to_string()),
        }
    }
    found.items = page(live.into_iter(), options.offset, options.limit);
    Ok(found)
}

#[async_trait]
impl Store for File {
    async fn read(&self, key: &str, options: &ReadOptions) -> Result<Vec<Record>> {
        let (database, table) = scope(&self.inner.options, &options.database, &options.table)?;
        let exact = !options.prefix && !options.suffix;
        if exact {
            check_key(key)?;
        }
        let Some(file) = self.inner.file(database, table, false)? else {
            return if exact {
                Err(not_found(key))
            } else {
                Ok(Vec::new())
            };
        };
        let found = if exact {
            read_one(&file, key)?
        } else {
            read_many(&file, key, options)?
        };
        self.inner.purge(&file, found.expired);
        if exact && found.items.is_empty() {
            return Err(not_found(key));
        }
        Ok(found.items)
    }

    async fn write(&self, record: Record, options: &WriteOptions) -> Result<()> {
        let (database, table) = scope(&self.inner.options, &options.database, &options.table)?;
        let expires = check_write(&self.inner.options, &record, options)?;
        let bytes = encode(&record.metadata, expires, &record.value)?;
        let file = self
            .inner
            .file(database, table, true)?
            .expect("a table file is created when asked");
        self.inner
            .commit(
                file,
                Change::Put {
                    key: record.key,
                    bytes,
                },
            )
            .await
    }

    async fn delete(&self, key: &str, options: &DeleteOptions) -> Result<()> {
        let (database, table) = scope(&self.inner.options, &options.database, &options.table)?;
        check_key(key)?;
        let Some(file) = self.inner.file(database, table, false)? else {
            return Ok(());
        };
        let key = key.to_string();
        self.inner.commit(file, Change::Delete { key }).await
    }

    async fn list(&self, options: &ListOptions) -> Result<Vec<String>> {
        let (database, table) = scope(&self.inner.options, &options.database, &options.table)?;
        let Some(file) = self.inner.file(database, table, false)? else {
            return Ok(Vec::new());
        };
        let found = list_keys(&file, options)?;
        self.inner.purge(&file, found.expired);
        Ok(found.items)
    }

    fn name(&self) -> &'static str {
        "file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_the_encoding() {
        let mut metadata = HashMap::new();
        metadata.insert("n".to_string(), serde_json::json!(1));
        let later = SystemTime::now() + Duration::from_secs(60);
        let bytes = encode(&metadata, Some(later), b"value").unwrap();
        let record = decode("k", &bytes, SystemTime::now())
            .ok()
            .unwrap()
            .unwrap();
        assert_eq!(record.value, "value");
        assert_eq!(record.metadata, metadata);
        assert!(record.expiry.unwrap() <= Duration::from_secs(60));
        let gone = decode("k", &bytes, later + Duration::from_secs(1))
            .ok()
            .unwrap();
        assert!(gone.is_none());
    }

    #[test]
    fn damaged_bytes_are_reported_not_panicked_on() {
        let now = SystemTime::now();
        assert!(decode("k", b"", now).is_err());
        assert!(decode("k", &[9; HEADER], now).is_err());
        let mut bytes = encode(&HashMap::new(), None, b"v").unwrap();
        bytes[9] = 200; // metadata length past the end
        assert!(decode("k", &bytes, now).is_err());
        let mut bytes = encode(&HashMap::new(), None, b"not json").unwrap();
        bytes[9] = 3;
        assert!(decode("k", &bytes, now).is_err());
    }
}
