//! `micro run`: the development runner. Takes a project directory or a git URL (cloned into a
//! cache, see [`git`]), reads the project file (or finds the services), builds each service as
//! its language wants ([`Lang`]: cargo for Rust, npm for Node, a checked Python for Python;
//! the build's progress and errors shown as they come and kept in the service's log), starts
//! them in dependency order (waiting for each one's `/health` before its dependents), gives them
//! the selected environment's variables, prefixes and colours their log lines (also kept in
//! `~/micro/logs/<service>.log`, with pid files in `~/micro/run`), serves the API gateway, and
//! rebuilds and restarts a service when its files change. Ctrl-C or SIGTERM stops every service
//! (SIGTERM, then a wait) and exits.
//!
//! Builds are debug builds unless `--release` is given: this is the edit-and-retry loop, and a
//! debug build of a changed service takes a fraction of a release build's time.

use crate::git;
use crate::lang::{Lang, Launch};
use crate::project::{self, Project, ServiceDef};
use crate::status::{self, RunFiles};
use bytes::Bytes;
use http_body_util::Empty;
use micro::config::Config;
use micro::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

const ID: &str = "micro.run";
/// How long a service has to answer `/health` after it starts.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a service has to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long files must be quiet after a change before rebuilding.
const DEBOUNCE: Duration = Duration::from_millis(300);
const COLOURS: &[&str] = &["36", "33", "35", "32", "34", "31"];

/// Options of `micro run`.
#[derive(clap::Args)]
pub struct Args {
    /// The project: a directory with micro.mu or micro.json, or with services below it; or a
    /// git URL (`https://`, `git://`, `ssh://`, `file://`, `user@host:path`, or
    /// `github.com/owner/repo`), with an optional `@branch`, `@tag` or `@commit`, cloned into
    /// ~/.cache/micro/run and run from there.
    #[arg(default_value = ".")]
    project: String,
    /// The environment (an `env` block of micro.mu) whose variables every service gets;
    /// without it, `development` when the project defines one.
    #[arg(long, env = "MICRO_ENV")]
    env: Option<String>,
    /// Where the API gateway listens; `:8080` means 127.0.0.1:8080.
    #[arg(long, default_value = ":8080")]
    address: String,
    /// Do not serve the API gateway.
    #[arg(long)]
    no_gateway: bool,
    /// Serve the gateway without auth: no login, no tokens (for local work only).
    #[arg(long)]
    no_auth: bool,
    /// A host name the gateway answers to besides loopback and the bound address, against DNS
    /// rebinding (repeatable).
    #[arg(long = "allowed-host", value_name = "HOST")]
    allowed_hosts: Vec<String>,
    /// Where the gateway's token signing keys live (created on first start).
    #[arg(long, env = "MICRO_AUTH_KEYS", default_value_os_t = micro::auth::default_keys_dir())]
    keys: PathBuf,
    /// Do not rebuild and restart services when their files change.
    #[arg(long)]
    no_watch: bool,
    /// Build with `cargo build --release` (default: debug builds, quicker to rebuild).
    #[arg(long)]
    release: bool,
}

/// Runs the project until Ctrl-C or SIGTERM.
pub async fn run(args: Args, config: Config) -> Result<()> {
    let dir = project_dir(&args.project).await?;
    let mut shutdown = shutdown_watch()?;
    let project = match project::load(&dir)? {
        Some(project) => project,
        None => project::discover(&dir)?,
    };
    let order = project.start_order()?;
    let mut runner = Runner::new(&project, &args, &config, order)?;
    let started = tokio::select! {
        started = runner.start_up(&args, &config) => Some(started),
        _ = shutdown.changed() => None,
    };
    let gateway = match started {
        Some(Ok(gateway)) => gateway,
        None => {
            println!("\nShutting down...");
            runner.stop_all().await;
            return Ok(());
        }
        Some(Err(err)) => {
            runner.stop_all().await;
            return Err(err);
        }
    };
    print_banner(
        gateway.as_ref().map(|g| (g.address(), !args.no_auth)),
        &runner.services,
        runner.files.logs_dir(),
        !args.no_watch,
    );
    let result = if args.no_watch {
        let _ = shutdown.changed().await;
        Ok(())
    } else {
        runner.watch(&mut shutdown).await
    };
    println!("\nShutting down...");
    if let Some(gateway) = gateway {
        gateway.stop().await;
    }
    runner.stop_all().await;
    result
}

/// The project's directory: `project` itself when it is one, else the checkout of the git URL
/// it is.
async fn project_dir(project: &str) -> Result<PathBuf> {
    let path = Path::new(project);
    if !path.exists()
        && let Some(source) = git::Source::parse(project)
    {
        return git::checkout(&source).await;
    }
    path.canonicalize().map_err(|e| {
        Error::bad_request(
            ID,
            format!("cannot open {project}: {e}; give a project directory or a git URL"),
        )
    })
}

/// A flag that turns true on Ctrl-C or SIGTERM; the handlers are in place when it returns.
fn shutdown_watch() -> Result<watch::Receiver<bool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let handler =
        |kind| signal(kind).map_err(|e| Error::internal(ID, format!("cannot handle signals: {e}")));
    let mut interrupt = handler(SignalKind::interrupt())?;
    let mut terminate = handler(SignalKind::terminate())?;
    let (tell, told) = watch::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        let _ = tell.send(true);
    });
    Ok(told)
}

/// One service under the runner.
struct Managed {
    def: ServiceDef,
    /// The canonical directory, for matching changed files.
    dir: PathBuf,
    prefix: String,
    /// Where its build's and its process's output goes.
    output: ServiceOutput,
    lang: Lang,
    launch: Option<Launch>,
    process: Option<Process>,
}

/// A started service process, supervised by its own task.
struct Process {
    stop: oneshot::Sender<()>,
    done: JoinHandle<()>,
}

/// The services of one `micro run` and where their logs and pid files go.
struct Runner {
    services: Vec<Managed>,
    env: BTreeMap<String, String>,
    /// Where logs and pid files go; the gateway's dashboard reads them back.
    files: Arc<RunFiles>,
    release: bool,
    /// Colour our prefixes (stdout is a terminal); otherwise services are asked for none.
    colour: bool,
}

impl Runner {
    fn new(
        project: &Project,
        args: &Args,
        config: &Config,
        order: Vec<ServiceDef>,
    ) -> Result<Runner> {
        // The components chosen by flag reach the services as go-micro's variables.
        let mut env = project.env(args.env.as_deref())?;
        env.extend(
            crate::server::flag_env(config)
                .into_iter()
                .map(|(name, value)| (name.to_string(), value)),
        );
        let files = RunFiles::in_home()?;
        files.create()?;
        let width = order.iter().map(|s| s.name.len()).max().unwrap_or(0);
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let services = order
            .into_iter()
            .enumerate()
            .map(|(i, def)| managed(def, i, width, colour, &files))
            .collect::<Result<_>>()?;
        Ok(Runner {
            services,
            env,
            files: Arc::new(files),
            release: args.release,
            colour,
        })
    }

    /// Builds and starts every service, then the gateway unless `--no-gateway`.
    async fn start_up(
        &mut self,
        args: &Args,
        config: &Config,
    ) -> Result<Option<micro::gateway::Running>> {
        self.build_all().await?;
        self.start_all().await?;
        if args.no_gateway {
            return Ok(None);
        }
        let keys = (!args.no_auth).then_some(&args.keys);
        let gateway = crate::server::start(
            config,
            &args.address,
            keys,
            micro::gateway::DEFAULT_MAX_BODY_SIZE,
            args.allowed_hosts.clone(),
            self.files.clone(),
        )
        .await?;
        Ok(Some(gateway))
    }

    async fn build_all(&mut self) -> Result<()> {
        for i in 0..self.services.len() {
            let service = &self.services[i];
            say(&service.prefix, "building...");
            let launch = service
                .lang
                .build(
                    &service.def.name,
                    &service.dir,
                    self.release,
                    &service.output,
                )
                .await?;
            self.services[i].launch = Some(launch);
        }
        Ok(())
    }

    async fn start_all(&mut self) -> Result<()> {
        for i in 0..self.services.len() {
            self.start(i).await?;
        }
        Ok(())
    }

    /// Starts service `i` and, when it has a port, waits for its `/health`.
    async fn start(&mut self, i: usize) -> Result<()> {
        let service = &self.services[i];
        let launch = service.launch.clone().expect("built before starting");
        let mut command = Command::new(&launch.program);
        command
            .args(&launch.args)
            .current_dir(&service.dir)
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if !self.colour && std::env::var_os("NO_COLOR").is_none() {
            command.env("NO_COLOR", "1");
        }
        if let Some(port) = service.def.port {
            command.env("MICRO_SERVER_ADDRESS", format!("127.0.0.1:{port}"));
        }
        let mut child = command.spawn().map_err(|e| {
            Error::internal(
                ID,
                format!(
                    "{}: cannot start {}: {e}",
                    service.def.name,
                    launch.program.display()
                ),
            )
        })?;
        let pid = child.id().unwrap_or(0);
        let pid_file = self.files.pid_file(&service.def.name);
        warn_if_left_running(&pid_file, &service.prefix);
        let _ = std::fs::write(&pid_file, format!("{pid}\n"));
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(service.output.clone().copy(stdout));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(service.output.clone().copy(stderr));
        }
        say(&service.prefix, &format!("started (pid {pid})"));
        let (stop, stopped) = oneshot::channel();
        let done = tokio::spawn(supervise(child, service.prefix.clone(), stopped, pid_file));
        self.services[i].process = Some(Process { stop, done });
        if let Some(port) = self.services[i].def.port {
            self.wait_healthy(i, port).await?;
        }
        Ok(())
    }

    async fn wait_healthy(&self, i: usize, port: u16) -> Result<()> {
        let service = &self.services[i];
        let url = format!("http://127.0.0.1:{port}/health");
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Empty<Bytes>>();
        let deadline = tokio::time::Instant::now() + HEALTH_TIMEOUT;
        loop {
            let exited = service
                .process
                .as_ref()
                .is_none_or(|p| p.done.is_finished());
            if exited {
                return Err(Error::internal(
                    ID,
                    format!(
                        "{} exited before answering {url}; see {}",
                        service.def.name,
                        self.files.log_file(&service.def.name).display()
                    ),
                ));
            }
            let uri = url.parse().expect("a valid URL");
            let answer = tokio::time::timeout(Duration::from_secs(1), client.get(uri)).await;
            if let Ok(Ok(response)) = answer
                && response.status().is_success()
            {
                say(&service.prefix, &format!("healthy on 127.0.0.1:{port}"));
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::timeout(
                    ID,
                    format!(
                        "{} did not answer {url} within {}s; does it listen on MICRO_SERVER_ADDRESS?",
                        service.def.name,
                        HEALTH_TIMEOUT.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops service `i` (SIGTERM, then a wait) if it is running.
    async fn stop(&mut self, i: usize) {
        if let Some(process) = self.services[i].process.take() {
            let _ = process.stop.send(());
            let _ = process.done.await;
        }
    }

    /// Stops every service, dependents first.
    async fn stop_all(&mut self) {
        for i in (0..self.services.len()).rev() {
            self.stop(i).await;
        }
    }

    /// Rebuilds and restarts services whose files change, until Ctrl-C or SIGTERM.
    async fn watch(&mut self, shutdown: &mut watch::Receiver<bool>) -> Result<()> {
        let (changes, mut changed) = mpsc::unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |event| {
            let _ = changes.send(event);
        })
        .map_err(|e| Error::internal(ID, format!("cannot watch files: {e}; try --no-watch")))?;
        for service in &self.services {
            use notify::Watcher;
            watcher
                .watch(&service.dir, notify::RecursiveMode::Recursive)
                .map_err(|e| {
                    Error::internal(
                        ID,
                        format!(
                            "cannot watch {}: {e}; try --no-watch",
                            service.dir.display()
                        ),
                    )
                })?;
        }
        loop {
            let event = tokio::select! {
                _ = shutdown.changed() => return Ok(()),
                event = changed.recv() => event,
            };
            let Some(event) = event else { return Ok(()) };
            let mut touched = BTreeSet::new();
            self.note(event, &mut touched);
            // Let a burst of saves settle before rebuilding.
            while let Ok(Some(event)) = tokio::time::timeout(DEBOUNCE, changed.recv()).await {
                self.note(event, &mut touched);
            }
            for i in touched {
                self.reload(i).await;
            }
        }
    }

    /// Adds the services whose files `event` changed to `touched`.
    fn note(&self, event: notify::Result<notify::Event>, touched: &mut BTreeSet<usize>) {
        let Ok(event) = event else { return };
        if event.kind.is_access() || event.kind.is_other() {
            return;
        }
        for path in &event.paths {
            let owner = self
                .services
                .iter()
                .enumerate()
                .filter(|(_, s)| path.starts_with(&s.dir))
                .max_by_key(|(_, s)| s.dir.as_os_str().len());
            if let Some((i, service)) = owner
                && service
                    .lang
                    .is_source(path.strip_prefix(&service.dir).unwrap_or(path))
            {
                touched.insert(i);
            }
        }
    }

    /// Rebuilds service `i` and, when that works, restarts it; a failed build leaves the
    /// running one alone.
    async fn reload(&mut self, i: usize) {
        let prefix = self.services[i].prefix.clone();
        say(&prefix, "files changed, rebuilding...");
        let service = &self.services[i];
        let built = service
            .lang
            .build(
                &service.def.name,
                &service.dir,
                self.release,
                &service.output,
            )
            .await;
        match built {
            Ok(launch) => self.services[i].launch = Some(launch),
            Err(err) => {
                say(
                    &prefix,
                    &format!("{}; still running the last build", err.detail),
                );
                return;
            }
        }
        self.stop(i).await;
        match self.start(i).await {
            Ok(()) => say(&prefix, "restarted"),
            Err(err) => say(&prefix, &format!("restart failed: {}", err.detail)),
        }
    }
}

fn managed(
    def: ServiceDef,
    i: usize,
    width: usize,
    colour: bool,
    files: &RunFiles,
) -> Result<Managed> {
    let dir = def.path.canonicalize().map_err(|e| {
        Error::bad_request(
            ID,
            format!(
                "service `{}`: cannot open its path {}: {e}",
                def.name,
                def.path.display()
            ),
        )
    })?;
    let lang = Lang::detect(&dir).ok_or_else(|| {
        Error::bad_request(
            ID,
            format!(
                "service `{}`: {} holds no service micro run can start: a Rust crate (Cargo.toml), a Node package (package.json or index.js) or a Python main.py",
                def.name,
                dir.display()
            ),
        )
    })?;
    let name = format!("{:width$}", def.name);
    let prefix = if colour {
        format!("\x1b[{}m{name} |\x1b[0m", COLOURS[i % COLOURS.len()])
    } else {
        format!("{name} |")
    };
    let output = ServiceOutput::open(&prefix, &files.log_file(&def.name))?;
    Ok(Managed {
        def,
        dir,
        prefix,
        output,
        lang,
        launch: None,
        process: None,
    })
}

fn say(prefix: &str, line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{prefix} {line}");
    let _ = out.flush();
}

/// Where a service's output goes, its build's and its process's: each line to its log file
/// and, prefixed, to our stdout.
#[derive(Clone)]
pub struct ServiceOutput {
    prefix: String,
    log: Arc<PathBuf>,
    file: Arc<Mutex<std::fs::File>>,
}

impl ServiceOutput {
    /// Appends to the log file at `log`, printing with `prefix`.
    fn open(prefix: &str, log: &Path) -> Result<ServiceOutput> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| Error::internal(ID, format!("cannot open {}: {e}", log.display())))?;
        Ok(ServiceOutput {
            prefix: prefix.to_string(),
            log: Arc::new(log.to_path_buf()),
            file: Arc::new(Mutex::new(file)),
        })
    }

    /// The log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Writes `line` to the log file and our stdout.
    pub fn line(&self, line: &str) {
        if let Ok(mut file) = self.file.lock() {
            let _ = writeln!(file, "{line}");
        }
        say(&self.prefix, line);
    }

    /// Copies each line read from `from` (a child's stdout or stderr) until it ends.
    pub async fn copy(self, from: impl AsyncRead + Unpin) {
        let mut lines = BufReader::new(from).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            self.line(&line);
        }
    }
}

/// Waits for the child to exit by itself or for a stop request (then SIGTERM, a wait, and a
/// kill when it does not exit in time); removes its pid file either way.
async fn supervise(
    mut child: Child,
    prefix: String,
    stop: oneshot::Receiver<()>,
    pid_file: PathBuf,
) {
    tokio::select! {
        status = child.wait() => {
            let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
            say(&prefix, &format!("exited ({status})"));
        }
        _ = stop => {
            if let Some(pid) = child.id() {
                terminate(pid);
            }
            match tokio::time::timeout(STOP_TIMEOUT, child.wait()).await {
                Ok(_) => say(&prefix, "stopped"),
                Err(_) => {
                    let _ = child.kill().await;
                    say(&prefix, &format!("killed: no exit within {}s of SIGTERM", STOP_TIMEOUT.as_secs()));
                }
            }
        }
    }
    let _ = std::fs::remove_file(pid_file);
}

/// Says so when a pid file names a process that still runs (an earlier `micro run` that was
/// killed before it could stop its services).
fn warn_if_left_running(pid_file: &Path, prefix: &str) {
    if let Some(pid) = status::read_pid(pid_file)
        && status::alive(pid)
    {
        say(
            prefix,
            &format!(
                "warning: {} names pid {pid}, which still runs; an earlier micro run may have left it",
                pid_file.display()
            ),
        );
    }
}

/// Sends SIGTERM to process `pid`.
fn terminate(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

/// Prints the boxed start-up banner: gateway addresses and whether auth is on, services,
/// whether files are watched.
fn print_banner(
    gateway: Option<(std::net::SocketAddr, bool)>,
    services: &[Managed],
    logs: &Path,
    watching: bool,
) {
    let mut lines = vec![String::new(), "Micro".to_string(), String::new()];
    if let Some((address, auth)) = gateway {
        lines.push(format!("Web:     http://{address}"));
        lines.push(if auth {
            format!("Auth:    on; log in at http://{address}/auth/login (--no-auth to turn off)")
        } else {
            "Auth:    off (--no-auth)".to_string()
        });
        lines.push(format!(
            "API:     http://{address}/api/{{service}}/{{method}}"
        ));
        lines.push(format!("MCP:     http://{address}/mcp"));
        lines.push(format!("Agent:   http://{address}/agent"));
        lines.push(format!("Health:  http://{address}/health"));
        lines.push(String::new());
    }
    lines.push("Services:".to_string());
    for service in services {
        let port = service
            .def
            .port
            .map(|p| format!(" (127.0.0.1:{p})"))
            .unwrap_or_default();
        lines.push(format!("  ● {}{port}", service.def.name));
    }
    lines.push(String::new());
    lines.push(format!("Logs:    {}", logs.display()));
    lines.push(String::new());
    if watching {
        lines.push("Watching for changes...".to_string());
        lines.push(String::new());
    }
    let width = lines
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max(57)
        + 4;
    let mut out = String::from("\n");
    out.push_str(&format!("  ┌{}┐\n", "─".repeat(width)));
    for line in lines {
        let pad = width - 3 - line.chars().count();
        out.push_str(&format!("  │   {line}{}│\n", " ".repeat(pad)));
    }
    out.push_str(&format!("  └{}┘\n", "─".repeat(width)));
    print!("{out}");
    let _ = std::io::stdout().flush();
}
