//! What the dashboard's logs and status pages show of the services a runner (`micro run`)
//! started: their logs and their processes. The gateway only asks; the runner, which knows
//! where it keeps both, answers through [`RunStatus`].

use async_trait::async_trait;
use std::io;
use std::time::SystemTime;

/// The logs and processes of the services a runner started, as the dashboard's `/logs`,
/// `/logs/{service}` and `/status` pages show them. `micro run` and `micro server` give one
/// to [`Gateway::dashboard`](super::Gateway::dashboard).
///
/// Service names the pages pass in are already checked: ASCII letters, digits, `-`, `_` and
/// `.`, not starting with `.`.
#[async_trait]
pub trait RunStatus: Send + Sync {
    /// Where the logs are kept, said for people (e.g. a directory); the logs page names it.
    fn logs_place(&self) -> String;

    /// Where the processes are recorded, said for people; the status page names it.
    fn processes_place(&self) -> String;

    /// Every service's log, in name order.
    async fn logs(&self) -> io::Result<Vec<Log>>;

    /// The last `lines` lines of service `name`'s log, as written (colour codes and all); an
    /// error of kind [`io::ErrorKind::NotFound`] when there is no such log.
    async fn tail(&self, name: &str, lines: usize) -> io::Result<Tail>;

    /// Every service's process, in name order.
    async fn processes(&self) -> io::Result<Vec<Process>>;
}

/// One service's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    /// The service.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written, when known.
    pub modified: Option<SystemTime>,
}

/// The end of one service's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tail {
    /// The last lines, joined by `\n`.
    pub text: String,
    /// The whole log's size in bytes.
    pub size: u64,
    /// Where the log is, said for people (e.g. its file).
    pub place: String,
}

/// One service's process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    /// The service.
    pub name: String,
    /// Its process id; `None` when the record of it cannot be read.
    pub pid: Option<i32>,
    /// True while the process runs.
    pub running: bool,
    /// When it was started, when known.
    pub since: Option<SystemTime>,
}
