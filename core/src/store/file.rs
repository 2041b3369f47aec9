//! The embedded, durable store: one redb file per table at `<root>/<database>/<table>.redb`,
//! where nothing needs a server and a write that returned Ok survives a crash or `kill -9`.
//!
//! Reads run directly on the caller's thread in a redb read transaction, which is fast and never
//! waits for a writer. Writes and deletes go to one keeper thread that takes everything queued,
//! commits it in one durable transaction per table file and then answers every caller ("group
//! commit"): one writer pays one fsync, many concurrent writers share theirs. Each file holds one
//! redb table, `records`, from key to an encoded record (see `encode`). Expired records are
//! never returned; a read or list that meets one asks the keeper to remove it, and every commit
//! also sweeps the next few hundred keys for expired records, so unread ones do not pile up.
//!
//! Several processes share a table file by taking turns. redb lets one process at a time open a
//! file (it holds an exclusive `flock` while open), so the keeper opens a file when this process
//! needs it and closes it again when another process is waiting for it or nobody here has used it
//! for a while. A process that finds the file held waits, retrying, for at most `WAIT`, and shows
//! that it waits with a shared `flock` on `<table>.redb.wait`; the holder looks for such locks
//! every few milliseconds and, once it has had the file for `HOLD`, finishes its batch and
//! closes it. The kernel drops every lock of a process that dies, so a process killed while
//! holding or waiting blocks nobody, and redb's commits stay durable across the handovers. A
//! process alone keeps the files it uses open and pays for none of this beyond a look every
//! `POLL`.

use super::{
    DeleteOptions, ID, ListOptions, Options, ReadOptions, Record, Store, WriteOptions, check_key,
    check_write, not_found, page, scope, time_left,
};
use crate::errors::{Error, Result};
use async_trait::async_trait;
use bytes::Bytes;
use redb::{Database, DatabaseError, ReadableTable, TableDefinition, TableError};
use std::collections::HashMap;
use std::ops::Bound;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// The redb table inside every file.
const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");
/// The file name ending of a table file.
const EXTENSION: &str = "redb";
/// Added to a table file's name for the file whose shared locks show waiting processes.
const WAIT_EXTENSION: &str = "wait";
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
/// How long a change or read waits for a table file that another process holds. A holder that
/// shares lets go within `HOLD` and a reopening (tens of milliseconds), so only a stuck holder,
/// or one that does not share, makes a caller wait this long.
const WAIT: Duration = Duration::from_secs(5);
/// How often a waiting process tries again to open the file.
const RETRY: Duration = Duration::from_millis(2);
/// How often a process that holds files looks for others waiting, when it has nothing to do.
const POLL: Duration = Duration::from_millis(10);
/// A process keeps a file at least this long before it hands it over, so that under contention
/// each gets work done between reopenings (each costs a few fsyncs).
const HOLD: Duration = Duration::from_millis(50);
/// A file this process has not used for this long is closed, so an idle process stops looking
/// for waiters. Long beside a reopening (a few fsyncs), so a process used now and then seldom
/// pays for one.
const LINGER: Duration = Duration::from_secs(10);
/// After handing a file over, a process lets those already waiting open it first, for at most
/// this long, instead of taking it straight back.
const HANDOVER: Duration = Duration::from_millis(100);

/// The durable store on local files, go-micro's `file` store. Any number of processes (and
/// stores in one process) may use the same directory at once.
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
    /// database -> table -> the table's file, known from first use on.
    files: RwLock<HashMap<String, HashMap<String, Arc<TableFile>>>>,
    /// The queue to the keeper thread; `None` only while dropping.
    keeper: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

/// One table file, open while this process holds it.
struct TableFile {
    path: PathBuf,
    /// The open database while this process holds the file. Only the keeper opens and closes
    /// it; readers use it while it is open.
    db: RwLock<Option<Database>>,
    /// Set by reads, cleared by the keeper when it looks: the file is in use here.
    used: AtomicBool,
}

/// One request to the keeper thread, and where to send its outcome.
struct Job {
    file: Arc<TableFile>,
    change: Change,
    reply: Option<oneshot::Sender<Result<()>>>,
    queued: Instant,
}

enum Change {
    /// Store the encoded record at the key.
    Put { key: String, bytes: Vec<u8> },
    /// Remove the key.
    Delete { key: String },
    /// Remove the key if its record has expired (a newer write may have replaced it).
    Purge { key: String },
    /// Open the file for reading.
    Open,
}

impl File {
    /// A store rooted at `options.address`, or at `~/micro/store` when that is `None` or empty.
    /// Creates the root directory and starts the keeper thread; table files open on first use.
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
            .spawn(move || Keeper::default().run(receiver))
            .map_err(|e| {
                Error::internal(ID, format!("cannot start the store's keeper thread: {e}"))
            })?;
        Ok(File {
            inner: Arc::new(Inner {
                options,
                root,
                files: Default::default(),
                keeper: Some(sender),
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
    /// The file of a table. A table with no file yet gives `None` (it has no records), unless
    /// `create`, which makes its directory; the file itself is made when first opened.
    fn file(&self, database: &str, table: &str, create: bool) -> Result<Option<Arc<TableFile>>> {
        if let Some(file) = self.known_file(database, table) {
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
        let mut files = self.files.write().unwrap_or_else(|e| e.into_inner());
        let file = files
            .entry(database.to_string())
            .or_default()
            .entry(table.to_string())
            .or_insert_with(|| {
                Arc::new(TableFile {
                    path,
                    db: RwLock::new(None),
                    used: AtomicBool::new(false),
                })
            });
        Ok(Some(file.clone()))
    }

    fn known_file(&self, database: &str, table: &str) -> Option<Arc<TableFile>> {
        let files = self.files.read().unwrap_or_else(|e| e.into_inner());
        files.get(database)?.get(table).cloned()
    }

    /// Runs `read` on the open database of `file`, first having the keeper open it when this
    /// process does not hold it.
    async fn read<T>(
        &self,
        file: &Arc<TableFile>,
        read: impl Fn(&TableFile, &Database) -> Result<T>,
    ) -> Result<T> {
        loop {
            {
                // Held through the read: the keeper closes the file only once no read uses it.
                let db = file.db.read().unwrap_or_else(|e| e.into_inner());
                if let Some(db) = db.as_ref() {
                    if !file.used.load(Ordering::Relaxed) {
                        file.used.store(true, Ordering::Relaxed);
                    }
                    return read(file, db);
                }
            }
            // The keeper may hand the file over again before this read gets to it, but only
            // after holding it for `HOLD`, so this comes round again rarely.
            self.run(file.clone(), Change::Open).await?;
        }
    }

    /// Queues a change and waits until it is committed to disk (for `Open`: until the file is
    /// open).
    async fn run(&self, file: Arc<TableFile>, change: Change) -> Result<()> {
        let (reply, done) = oneshot::channel();
        self.send(file, change, Some(reply))?;
        done.await.map_err(|_| keeper_gone())?
    }

    /// Asks the keeper to remove expired keys; nobody waits for it.
    fn purge(&self, file: &Arc<TableFile>, keys: Vec<String>) {
        for key in keys {
            if self
                .send(file.clone(), Change::Purge { key }, None)
                .is_err()
            {
                return;
            }
        }
    }

    fn send(
        &self,
        file: Arc<TableFile>,
        change: Change,
        reply: Option<oneshot::Sender<Result<()>>>,
    ) -> Result<()> {
        let keeper = self.keeper.as_ref().ok_or_else(keeper_gone)?;
        let job = Job {
            file,
            change,
            reply,
            queued: Instant::now(),
        };
        keeper.send(job).map_err(|_| keeper_gone())
    }
}

impl Drop for Inner {
    /// Lets the keeper finish what is queued, then closes every file, so the same directory can
    /// be opened again as soon as the last handle is gone.
    fn drop(&mut self) {
        self.keeper = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn keeper_gone() -> Error {
    Error::internal(
        ID,
        "the file store's keeper thread has stopped; the change may not be saved, open the store again",
    )
}

fn open_database(path: &Path) -> std::result::Result<Database, DatabaseError> {
    Database::builder()
        .create_with_file_format_v3(true)
        .set_cache_size(CACHE_BYTES)
        .create(path)
}

fn open_error(path: &Path, err: impl std::fmt::Display) -> Error {
    Error::internal(
        ID,
        format!(
            "cannot open the store file {}: {err}; if it is damaged, move it away and the table starts empty",
            path.display()
        ),
    )
}

/// The answer to a caller that waited `WAIT` for a file another process kept.
fn in_use_error(path: &Path) -> Error {
    Error::conflict(
        ID,
        format!(
            "the store file {} stayed in use by another process for {}s; micro's processes hand \
             table files to one another, so the holder is stuck or does not share (another \
             program, or an older micro): stop it, or give this store its own directory with \
             MICRO_STORE_ADDRESS",
            path.display(),
            WAIT.as_secs()
        ),
    )
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

// ---- the keeper thread ----

/// The keeper thread's state: every table file it has been asked about.
#[derive(Default)]
struct Keeper {
    slots: Vec<Slot>,
    /// The last batch held more than one change.
    concurrent: bool,
}

/// What the keeper knows of one table file.
struct Slot {
    file: Arc<TableFile>,
    /// Jobs waiting for the file while another process holds it.
    jobs: Vec<Job>,
    /// When this process opened the file, while it holds it.
    opened: Option<Instant>,
    /// When this process last used the file.
    used: Instant,
    /// When this process last handed the file to a waiting process.
    handed_over: Option<Instant>,
    /// `<table>.redb.wait`, opened with the table file: every waiting process holds a shared
    /// lock on it.
    waiters: Option<std::fs::File>,
    /// This process holds its shared lock on `waiters`.
    waiting: bool,
    /// The last key the rolling sweep looked at.
    swept_to: String,
}

impl Keeper {
    /// Takes every queued job, runs them per file, lets go of files others wait for or nobody
    /// here uses, and repeats until the store is dropped; then closes every file.
    fn run(mut self, queue: mpsc::Receiver<Job>) {
        loop {
            let first = match self.wake_after() {
                Some(timeout) => queue.recv_timeout(timeout),
                None => queue.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match first {
                Ok(job) => self.take(job, &queue),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.serve();
            self.let_go();
        }
        for slot in &mut self.slots {
            slot.close();
            slot.stop_waiting();
        }
    }

    /// How long to sleep when there is nothing to do: retry soon while jobs wait for a file,
    /// look for waiters while files are open, and otherwise sleep until a job comes.
    fn wake_after(&self) -> Option<Duration> {
        if self.slots.iter().any(|s| !s.jobs.is_empty()) {
            Some(RETRY)
        } else if self.slots.iter().any(|s| s.opened.is_some()) {
            Some(POLL)
        } else {
            None
        }
    }

    /// Takes `first` and everything queued behind it onto the slots of their files.
    ///
    /// Writers that start together reach the queue a few microseconds apart, and the first one
    /// would otherwise wake this thread and get an fsync of its own. So while writes are coming
    /// concurrently (the last batch held more than one), the first change of a batch waits
    /// `GATHER` for the others; a lone sequential writer never waits.
    fn take(&mut self, first: Job, queue: &mpsc::Receiver<Job>) {
        let mut batch = vec![first];
        if self.concurrent {
            std::thread::sleep(GATHER);
        }
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        self.concurrent = batch.len() > 1;
        for job in batch {
            self.slot(&job.file).jobs.push(job);
        }
    }

    fn slot(&mut self, file: &Arc<TableFile>) -> &mut Slot {
        let at = match self.slots.iter().position(|s| Arc::ptr_eq(&s.file, file)) {
            Some(at) => at,
            None => {
                self.slots.push(Slot::new(file.clone()));
                self.slots.len() - 1
            }
        };
        &mut self.slots[at]
    }

    /// Runs the jobs of every file this process holds or can open now; jobs for a file another
    /// process keeps wait, up to `WAIT`.
    fn serve(&mut self) {
        for slot in &mut self.slots {
            if slot.jobs.is_empty() {
                continue;
            }
            match slot.open() {
                Ok(true) => slot.run_jobs(),
                Ok(false) => {
                    let (late, waiting) = std::mem::take(&mut slot.jobs)
                        .into_iter()
                        .partition(|job| job.queued.elapsed() >= WAIT);
                    slot.jobs = waiting;
                    for job in late {
                        answer(job, Err(in_use_error(&slot.file.path)));
                    }
                    if slot.jobs.is_empty() {
                        slot.stop_waiting();
                    }
                }
                Err(err) => {
                    for job in std::mem::take(&mut slot.jobs) {
                        answer(job, Err(err.clone()));
                    }
                    slot.stop_waiting();
                }
            }
        }
    }

    /// Closes the files another process waits for (once held for `HOLD`) and those nobody here
    /// has used for `LINGER`.
    fn let_go(&mut self) {
        let now = Instant::now();
        for slot in &mut self.slots {
            let Some(opened) = slot.opened else {
                continue;
            };
            if slot.file.used.swap(false, Ordering::Relaxed) {
                slot.used = now;
            }
            if now - opened >= HOLD && slot.others_wait() {
                slot.close();
                slot.handed_over = Some(now);
            } else if now - slot.used >= LINGER {
                slot.close();
            }
        }
    }
}

impl Slot {
    fn new(file: Arc<TableFile>) -> Slot {
        Slot {
            file,
            jobs: Vec::new(),
            opened: None,
            used: Instant::now(),
            handed_over: None,
            waiters: None,
            waiting: false,
            swept_to: String::new(),
        }
    }

    /// Opens the file unless this process holds it already: true once open, false while
    /// another process holds it (this process then shows that it waits).
    fn open(&mut self) -> Result<bool> {
        if self.opened.is_some() {
            return Ok(true);
        }
        if self.waiters.is_none() {
            self.waiters = Some(open_waiters(&self.file.path)?);
        }
        let just_handed_over = self.handed_over.is_some_and(|at| at.elapsed() < HANDOVER);
        // Only while not waiting: the probe's exclusive lock would replace this process's own
        // shared one.
        if just_handed_over && !self.waiting && self.others_wait() {
            return Ok(false);
        }
        match open_database(&self.file.path) {
            Ok(db) => {
                *self.file.db.write().unwrap_or_else(|e| e.into_inner()) = Some(db);
                let now = Instant::now();
                self.opened = Some(now);
                self.used = now;
                self.stop_waiting();
                Ok(true)
            }
            Err(DatabaseError::DatabaseAlreadyOpen) => {
                self.start_waiting();
                Ok(false)
            }
            Err(err) => Err(open_error(&self.file.path, err)),
        }
    }

    /// Whether another process waits for this file.
    fn others_wait(&self) -> bool {
        self.waiters.as_ref().is_some_and(others_wait)
    }

    /// Closes the file, once the reads using it are done, which releases redb's lock on it.
    fn close(&mut self) {
        if self.opened.take().is_some() {
            *self.file.db.write().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }

    /// Shows other processes that this one waits for the file. A lock that cannot be had now
    /// (another process is looking for waiters at this instant) is tried on the next retry.
    fn start_waiting(&mut self) {
        if !self.waiting
            && let Some(waiters) = &self.waiters
        {
            self.waiting = try_flock(waiters, libc::LOCK_SH).unwrap_or(false);
        }
    }

    fn stop_waiting(&mut self) {
        if std::mem::take(&mut self.waiting)
            && let Some(waiters) = &self.waiters
        {
            unlock(waiters);
        }
    }

    /// Runs the queued jobs on the open file: the changes in one durable transaction. After a
    /// failed commit the file is closed, so the next job reopens it and redb repairs it.
    fn run_jobs(&mut self) {
        self.used = Instant::now();
        let (opens, changes): (Vec<Job>, Vec<Job>) = std::mem::take(&mut self.jobs)
            .into_iter()
            .partition(|job| matches!(job.change, Change::Open));
        for job in opens {
            answer(job, Ok(()));
        }
        if changes.is_empty() {
            return;
        }
        let committed = {
            let db = self.file.db.read().unwrap_or_else(|e| e.into_inner());
            let db = db
                .as_ref()
                .expect("the keeper runs jobs only on an open file");
            apply_and_commit(&self.file, db, &changes, &mut self.swept_to)
        };
        match committed {
            Ok(outcomes) => {
                for (job, outcome) in changes.into_iter().zip(outcomes) {
                    answer(job, outcome);
                }
            }
            Err(err) => {
                tracing::error!(path = %self.file.path.display(), error = %err.detail, "file store commit failed");
                for job in changes {
                    answer(job, Err(err.clone()));
                }
                self.close();
            }
        }
    }
}

/// Opens (creating) the file beside a table file that waiting processes lock.
fn open_waiters(path: &Path) -> Result<std::fs::File> {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(WAIT_EXTENSION);
    let path = PathBuf::from(name);
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| open_error(&path, e))
}

/// Whether another process waits: each waiter holds a shared lock on the waiters file, so an
/// exclusive one cannot be had.
fn others_wait(waiters: &std::fs::File) -> bool {
    match try_flock(waiters, libc::LOCK_EX) {
        Ok(true) => {
            unlock(waiters);
            false
        }
        Ok(false) => true,
        Err(e) => {
            tracing::warn!(error = %e, "cannot look for processes waiting for a store file");
            false
        }
    }
}

/// `flock(2)` without blocking: false when another holder's lock is in the way. (std's
/// `File::try_lock` needs a newer Rust than this crate's rust-version.)
fn try_flock(file: &std::fs::File, operation: libc::c_int) -> std::io::Result<bool> {
    // SAFETY: flock only acts on the descriptor, which `file` keeps open for the call.
    if unsafe { libc::flock(file.as_raw_fd(), operation | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.kind() == std::io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(err)
    }
}

fn unlock(file: &std::fs::File) {
    // SAFETY: as in `try_flock`. Unlocking a descriptor the process has open cannot fail.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) };
}

fn answer(job: Job, outcome: Result<()>) {
    if let Some(reply) = job.reply {
        // The caller may have stopped waiting; the change is saved all the same.
        let _ = reply.send(outcome);
    }
}

fn apply_and_commit(
    file: &TableFile,
    db: &Database,
    jobs: &[Job],
    swept_to: &mut String,
) -> Result<Vec<Result<()>>> {
    let fail = |e: &dyn std::fmt::Display| storage_error(file, e);
    // redb commits with immediate durability unless told otherwise: on disk when commit returns.
    let txn = db.begin_write().map_err(|e| fail(&e))?;
    let outcomes = {
        let mut table = txn.open_table(RECORDS).map_err(|e| fail(&e))?;
        let outcomes = jobs
            .iter()
            .map(|job| apply(&mut table, &job.change).map_err(|e| fail(&e)))
            .collect::<Vec<_>>();
        if let Err(e) = sweep(&mut table, swept_to) {
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
        // Answered before the commit: there is nothing to change.
        Change::Open => {}
    }
    Ok(())
}

/// Removes the expired records among the next `SWEEP_STEP` keys after `swept_to`, where the
/// last sweep stopped, wrapping round at the end, so expired records that nobody reads do not
/// pile up. Each commit does one step; it costs little beside the commit's fsync.
fn sweep(
    table: &mut redb::Table<&str, &[u8]>,
    swept_to: &mut String,
) -> std::result::Result<(), redb::StorageError> {
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
    db: &Database,
) -> Result<Option<redb::ReadOnlyTable<&'static str, &'static [u8]>>> {
    let txn = db.begin_read().map_err(|e| storage_error(file, e))?;
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

fn read_one(file: &TableFile, db: &Database, key: &str) -> Result<Found<Record>> {
    let mut found = Found::default();
    let Some(table) = read_table(file, db)? else {
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
fn read_many(
    file: &TableFile,
    db: &Database,
    key: &str,
    options: &ReadOptions,
) -> Result<Found<Record>> {
    let mut found = Found::default();
    let Some(table) = read_table(file, db)? else {
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

fn list_keys(file: &TableFile, db: &Database, options: &ListOptions) -> Result<Found<String>> {
    let mut found = Found::default();
    let Some(table) = read_table(file, db)? else {
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
        let found = self
            .inner
            .read(&file, |file, db| {
                if exact {
                    read_one(file, db, key)
                } else {
                    read_many(file, db, key, options)
                }
            })
            .await?;
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
            .run(
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
        self.inner.run(file, Change::Delete { key }).await
    }

    async fn list(&self, options: &ListOptions) -> Result<Vec<String>> {
        let (database, table) = scope(&self.inner.options, &options.database, &options.table)?;
        let Some(file) = self.inner.file(database, table, false)? else {
            return Ok(Vec::new());
        };
        let found = self
            .inner
            .read(&file, |file, db| list_keys(file, db, options))
            .await?;
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
