//! What `micro run` leaves on disk about its services, read back for the dashboard's logs and
//! status pages: `~/micro/logs/<service>.log` and `~/micro/run/<service>.pid`. Both `micro run`
//! and `micro server` serve these files, so a `micro server` shows the services of a
//! `micro run` in another terminal.

use micro::gateway::{Log, Process, RunStatus, Tail};
use micro::{Error, Result};
use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

const ID: &str = "micro.run";
/// How many bytes from a log's end are read at most to find its last lines.
const TAIL_BYTES: u64 = 256 << 10;

/// The directories `micro run` keeps its services' logs and pid files in.
pub struct RunFiles {
    logs: PathBuf,
    pids: PathBuf,
}

impl RunFiles {
    /// `~/micro/logs` and `~/micro/run`.
    pub fn in_home() -> Result<RunFiles> {
        let home = dirs::home_dir()
            .ok_or_else(|| Error::internal(ID, "cannot find the home directory; set HOME"))?;
        Ok(RunFiles::new(&home.join("micro")))
    }

    /// `<dir>/logs` and `<dir>/run`.
    pub fn new(dir: &Path) -> RunFiles {
        RunFiles {
            logs: dir.join("logs"),
            pids: dir.join("run"),
        }
    }

    /// The directory of the logs.
    pub fn logs_dir(&self) -> &Path {
        &self.logs
    }

    /// Creates both directories.
    pub fn create(&self) -> Result<()> {
        for dir in [&self.logs, &self.pids] {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::internal(ID, format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        Ok(())
    }

    /// Service `name`'s log file.
    pub fn log_file(&self, name: &str) -> PathBuf {
        self.logs.join(format!("{name}.log"))
    }

    /// Service `name`'s pid file.
    pub fn pid_file(&self, name: &str) -> PathBuf {
        self.pids.join(format!("{name}.pid"))
    }
}

#[async_trait::async_trait]
impl RunStatus for RunFiles {
    fn logs_place(&self) -> String {
        self.logs.display().to_string()
    }

    fn processes_place(&self) -> String {
        self.pids.display().to_string()
    }

    async fn logs(&self) -> io::Result<Vec<Log>> {
        Ok(files(&self.logs, ".log")
            .await?
            .into_iter()
            .map(|(name, _, metadata)| Log {
                name,
                size: metadata.len(),
                modified: metadata.modified().ok(),
            })
            .collect())
    }

    async fn tail(&self, name: &str, lines: usize) -> io::Result<Tail> {
        // The pages check names too; this keeps a name from ever leaving the directory.
        crate::project::check_name(name)
            .map_err(|message| io::Error::new(io::ErrorKind::InvalidInput, message))?;
        let path = self.log_file(name);
        let (text, size) = tail(&path, lines).await?;
        Ok(Tail {
            text,
            size,
            place: path.display().to_string(),
        })
    }

    async fn processes(&self) -> io::Result<Vec<Process>> {
        let mut processes = Vec::new();
        for (name, path, metadata) in files(&self.pids, ".pid").await? {
            let pid = read_pid(&path);
            processes.push(Process {
                name,
                pid,
                running: pid.is_some_and(alive),
                // micro run writes the pid file when it starts the process.
                since: metadata.modified().ok(),
            });
        }
        Ok(processes)
    }
}

/// The files in `dir` ending in `suffix` whose names are service names, as (service, path,
/// metadata), in name order; none when `dir` does not exist.
async fn files(dir: &Path, suffix: &str) -> io::Result<Vec<(String, PathBuf, std::fs::Metadata)>> {
    let mut found = Vec::new();
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(found),
        Err(err) => return Err(err),
    };
    while let Some(entry) = entries.next_entry().await? {
        let path = entry.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(suffix))
            .filter(|n| crate::project::check_name(n).is_ok())
            .map(str::to_string);
        if let (Some(name), Ok(metadata)) = (name, entry.metadata().await)
            && metadata.is_file()
        {
            found.push((name, path, metadata));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// The last `lines` lines of the file (from at most its last [`TAIL_BYTES`]), and its size.
async fn tail(path: &Path, lines: usize) -> io::Result<(String, u64)> {
    let mut file = tokio::fs::File::open(path).await?;
    let size = file.metadata().await?.len();
    let start = size.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start)).await?;
    let mut bytes = Vec::new();
    file.take(TAIL_BYTES).read_to_end(&mut bytes).await?;
    let text = String::from_utf8_lossy(&bytes);
    // Reading from the middle of the file, the first line is likely cut: drop it.
    let all: Vec<&str> = text.lines().skip(usize::from(start > 0)).collect();
    Ok((all[all.len().saturating_sub(lines)..].join("\n"), size))
}

/// The pid in a pid file, or `None` when it cannot be read.
pub fn read_pid(pid_file: &Path) -> Option<libc::pid_t> {
    std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|text| text.trim().parse().ok())
}

/// True when process `pid` exists (ours or not).
pub fn alive(pid: libc::pid_t) -> bool {
    if pid <= 0 {
        // 0 and negative pids name process groups, not a process.
        return false;
    }
    // SAFETY: signal 0 is not sent; kill only checks that the process exists and may be
    // signalled.
    let found = unsafe { libc::kill(pid, 0) } == 0;
    found || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `RunFiles` over a fresh directory, and that directory.
    fn fresh() -> (RunFiles, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let files = RunFiles::new(dir.path());
        files.create().unwrap();
        (files, dir)
    }

    #[tokio::test]
    async fn a_missing_micro_directory_has_no_logs_or_processes() {
        let dir = tempfile::tempdir().unwrap();
        let files = RunFiles::new(&dir.path().join("nothing"));
        assert!(files.logs().await.unwrap().is_empty());
        assert!(files.processes().await.unwrap().is_empty());
        let missing = files.tail("shop", 10).await.unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn logs_lists_service_logs_only_in_name_order() {
        let (files, _dir) = fresh();
        std::fs::write(files.log_file("shop"), "one\ntwo\n").unwrap();
        std::fs::write(files.log_file("cart"), "").unwrap();
        std::fs::write(files.log_file(".hidden"), "x").unwrap();
        std::fs::write(files.logs.join("notes.txt"), "x").unwrap();
        std::fs::create_dir(files.log_file("adir")).unwrap();
        let logs = files.logs().await.unwrap();
        let names: Vec<&str> = logs.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["cart", "shop"]);
        assert_eq!(logs[1].size, 8);
        assert!(logs[1].modified.is_some());
    }

    #[tokio::test]
    async fn tail_gives_the_last_lines_as_written() {
        let (files, _dir) = fresh();
        let lines: Vec<String> = (1..=300)
            .map(|i| format!("\x1b[32mINFO\x1b[0m line {i:04}"))
            .collect();
        let text = lines.join("\n") + "\n";
        std::fs::write(files.log_file("shop"), &text).unwrap();
        let tail = files.tail("shop", 200).await.unwrap();
        assert_eq!(tail.text, lines[100..].join("\n"));
        assert_eq!(tail.size, text.len() as u64);
        assert_eq!(tail.place, files.log_file("shop").display().to_string());
    }

    #[tokio::test]
    async fn a_large_log_is_read_from_its_end_only() {
        let (files, _dir) = fresh();
        // 4 MiB of lines: only the last 256 KiB is read, and the 200 lines come from there.
        let line = "x".repeat(1000);
        let lines: Vec<String> = (0..4096).map(|i| format!("{i:05} {line}")).collect();
        std::fs::write(files.log_file("big"), lines.join("\n")).unwrap();
        let tail = files.tail("big", 200).await.unwrap();
        let shown: Vec<&str> = tail.text.lines().collect();
        assert_eq!(shown.len(), 200);
        assert!(shown[0].starts_with("03896 "), "{}", &shown[0][..10]);
        assert!(shown[199].starts_with("04095 "));
        // Asked for more lines than 256 KiB holds, it gives what that holds, no cut line.
        let most = files.tail("big", 4096).await.unwrap();
        let shown: Vec<&str> = most.text.lines().collect();
        assert!(shown.len() < 300, "{}", shown.len());
        assert!(shown.iter().all(|l| l.len() == 1006));
    }

    #[tokio::test]
    async fn a_name_that_is_not_a_service_name_never_leaves_the_logs() {
        let (files, dir) = fresh();
        std::fs::write(dir.path().join("secret.log"), "not a service log").unwrap();
        for name in ["../secret", ".hidden", "a b", ""] {
            let refused = files.tail(name, 10).await.unwrap_err();
            assert_eq!(refused.kind(), io::ErrorKind::InvalidInput, "{name:?}");
        }
    }

    #[tokio::test]
    async fn processes_come_from_pid_files_running_or_not() {
        let (files, _dir) = fresh();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let me = std::process::id();
        std::fs::write(files.pid_file("me"), format!("{me}\n")).unwrap();
        std::fs::write(files.pid_file("gone"), format!("{dead}\n")).unwrap();
        std::fs::write(files.pid_file("junk"), "not a pid\n").unwrap();
        std::fs::write(files.pid_file("group"), "0\n").unwrap();
        let processes = files.processes().await.unwrap();
        let found = |name: &str| processes.iter().find(|p| p.name == name).unwrap();
        let names: Vec<&str> = processes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["gone", "group", "junk", "me"]);
        assert_eq!(found("me").pid, Some(me as i32));
        assert!(found("me").running);
        assert!(found("me").since.is_some());
        assert_eq!(found("gone").pid, Some(dead as i32));
        assert!(!found("gone").running);
        assert_eq!(found("junk").pid, None);
        assert!(!found("junk").running);
        assert!(!found("group").running, "pid 0 names a process group");
    }
}
