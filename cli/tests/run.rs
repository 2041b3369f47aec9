//! `micro run` as a user runs it: the real binary as a child process building and running the
//! three-service example (examples/multi) inside a network namespace with mDNS. Proves start
//! order, environment injection, calls through the gateway, hot reload, clean shutdown, and
//! that bad project files are refused with the line or the cycle named; a failing build's
//! compiler errors on the terminal and in the log, an unknown `--env` refused naming the known
//! ones; and projects run from git URLs served by a real `git daemon` and `file://`.

#[path = "../../core/tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Builds of the examples can take minutes on a cold cache.
const START_TIMEOUT: Duration = Duration::from_secs(600);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A running `micro run` whose stdout lines are collected as they come.
struct MicroRun {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    home: PathBuf,
}

/// `micro run <args>` with HOME in `home` (so ~/micro and ~/.cache/micro are the test's own),
/// cargo and rustup where they really are, cargo working offline (the namespace has no
/// network), and the test's `env` last.
fn micro_run(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let real_home = PathBuf::from(std::env::var("HOME").unwrap());
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| real_home.join(".cargo"));
    let rustup_home = std::env::var("RUSTUP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| real_home.join(".rustup"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_micro"));
    command
        .arg("run")
        .args(args)
        .env("HOME", home)
        .env("CARGO_HOME", cargo_home)
        .env("RUSTUP_HOME", rustup_home)
        .env("CARGO_NET_OFFLINE", "true")
        .env("MICRO_REGISTRY", "mdns")
        .env("MICRO_STORE_ADDRESS", home.join("store"))
        .env_remove("MICRO_ENV")
        .env_remove("XDG_CACHE_HOME")
        .envs(env.iter().copied());
    command
}

impl MicroRun {
    /// Starts [`micro_run`] with its stdout collected.
    fn start(home: &Path, args: &[&str], env: &[(&str, &str)]) -> MicroRun {
        let mut child = micro_run(home, args, env)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let collected = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                println!("micro run: {line}");
                collected.lock().unwrap().push(line);
            }
        });
        MicroRun {
            child,
            lines,
            home: home.to_path_buf(),
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until a line satisfies `found`, failing if `micro run` exits first.
    async fn wait_for(&mut self, what: &str, found: impl Fn(&str) -> bool, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if self.lines().iter().any(|l| found(l)) {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("micro run exited ({status}) before {what}");
            }
            assert!(Instant::now() < deadline, "no {what} within {within:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for the start-up banner's closing line.
    async fn wait_started(&mut self) {
        self.wait_for("start-up banner", |l| l.contains('└'), START_TIMEOUT)
            .await;
    }

    /// The pid in ~/micro/run/<service>.pid.
    fn pid(&self, service: &str) -> Option<u32> {
        let text =
            std::fs::read_to_string(self.home.join(format!("micro/run/{service}.pid"))).ok()?;
        text.trim().parse().ok()
    }

    /// Sends SIGTERM and waits for a clean exit.
    async fn stop(mut self) {
        signal(self.child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "micro run still runs 30 s after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(status.success(), "micro run exited with {status}");
    }
}

impl Drop for MicroRun {
    /// A failed test still stops `micro run` and so its services.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            signal(self.child.id(), "TERM");
            let _ = self.child.wait();
        }
    }
}

fn signal(pid: u32, name: &str) {
    Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
}

fn alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; count it as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.contains(") Z "))
        .unwrap_or(false)
}

/// Where a runner line about `service` saying `text` is (`users | started (pid 7)`).
fn position(lines: &[String], service: &str, text: &str) -> usize {
    lines
        .iter()
        .position(|l| {
            l.split_once(" | ")
                .is_some_and(|(name, rest)| name.trim() == service && rest.starts_with(text))
        })
        .unwrap_or_else(|| panic!("no `{service} | {text}` line in {lines:#?}"))
}

/// POSTs `body` to the gateway on 127.0.0.1:8080 and returns status and body.
fn post(path: &str, body: &str) -> (u16, String) {
    post_with(path, body, "")
}

/// [`post`] with extra header lines (each ending in `\r\n`).
fn post_with(path: &str, body: &str, headers: &str) -> (u16, String) {
    send("POST", path, body, headers)
}

/// GETs `path` from the gateway on 127.0.0.1:8080 and returns status and body.
fn get(path: &str) -> (u16, String) {
    send("GET", path, "", "")
}

/// Sends `method path` with `body` and `headers` to the gateway on 127.0.0.1:8080 and returns
/// status and body.
fn send(method: &str, path: &str, body: &str, headers: &str) -> (u16, String) {
    send_to(8080, method, path, body, headers)
}

/// [`send`] to 127.0.0.1:`port`.
fn send_to(port: u16, method: &str, path: &str, body: &str, headers: &str) -> (u16, String) {
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        conn,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}

/// POSTs until the answer contains `expected` (services and the gateway's registry cache need
/// a moment), returning the last answer.
async fn post_until(path: &str, body: &str, expected: &str) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let path = path.to_string();
        let request = body.to_string();
        let answer = tokio::task::spawn_blocking(move || post(&path, &request))
            .await
            .unwrap();
        if answer.1.contains(expected) || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn three_services_start_in_dependency_order_and_answer_through_the_gateway() {
    support::in_netns(
        "three_services_start_in_dependency_order_and_answer_through_the_gateway",
        async {
            let home = tempfile::tempdir().unwrap();
            let example = repo().join("examples/multi");
            let mut run = MicroRun::start(
                home.path(),
                &[example.to_str().unwrap(), "--no-watch", "--no-auth"],
                &[],
            );
            run.wait_started().await;
            let lines = run.lines();
            // Each service starts only after everything it depends on answered /health.
            assert!(position(&lines, "users", "healthy") < position(&lines, "posts", "started"));
            assert!(position(&lines, "posts", "healthy") < position(&lines, "web", "started"));
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains("API:") && l.contains("127.0.0.1:8080"))
            );
            assert!(!lines.iter().any(|l| l.contains("Watching for changes")));

            // web calls users and posts, posts calls users; the development environment's
            // GREETING reaches users.
            let (status, body) =
                post_until("/api/web/Web.Home", "{}", "hello from development").await;
            assert_eq!(status, 200, "{body}");
            let home_page: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(home_page["greeting"], "hello from development");
            assert_eq!(
                home_page["posts"],
                serde_json::json!(["Hello, micro by Alice", "Services in Rust by Bob"])
            );
            let (status, body) = post("/api/users/Users.Get", r#"{"id":9}"#);
            assert_ne!(status, 200, "{body}");
            assert!(body.contains("no user with id 9"), "{body}");

            // Logs and pid files are kept under ~/micro while the services run.
            let pids: Vec<u32> = ["users", "posts", "web"]
                .iter()
                .map(|s| run.pid(s).unwrap_or_else(|| panic!("no pid file for {s}")))
                .collect();
            assert!(pids.iter().all(|&pid| alive(pid)));
            let log = std::fs::read_to_string(home.path().join("micro/logs/users.log")).unwrap();
            assert!(!log.is_empty(), "users.log is empty");
            // The dashboard shows micro run's services running, with those pids, and their logs.
            let (status, page) = get("/status");
            assert_eq!(status, 200, "{page}");
            for (service, pid) in ["users", "posts", "web"].iter().zip(&pids) {
                let row = &page[page.find(&format!("id=\"process-{service}\"")).unwrap()..];
                let row = &row[..row.find("</tr>").unwrap()];
                assert!(
                    row.contains(&format!(r#"<td class="pid">{pid}</td>"#)),
                    "{row}"
                );
                assert!(row.contains(r#"<span class="ok">running</span>"#), "{row}");
            }
            let (status, page) = get("/logs/users");
            assert_eq!(status, 200, "{page}");
            assert!(page.contains(r#"<pre id="log""#), "{page}");

            let root = home.path().to_path_buf();
            run.stop().await;
            for pid in pids {
                assert!(!alive(pid), "service process {pid} outlived micro run");
            }
            for service in ["users", "posts", "web"] {
                let pid_file = root.join(format!("micro/run/{service}.pid"));
                assert!(!pid_file.exists(), "{} left behind", pid_file.display());
            }
        },
    );
}

#[test]
fn selected_environment_variables_reach_the_services() {
    support::in_netns("selected_environment_variables_reach_the_services", async {
        let home = tempfile::tempdir().unwrap();
        let example = repo().join("examples/multi");
        let mut run = MicroRun::start(
            home.path(),
            &[example.to_str().unwrap(), "--no-watch", "--no-auth"],
            &[("MICRO_ENV", "production")],
        );
        run.wait_started().await;
        let (status, body) =
            post_until("/api/users/Users.Greeting", "{}", "hello from production").await;
        assert_eq!(
            (status, body.as_str()),
            (200, r#"{"greeting":"hello from production"}"#)
        );
        run.stop().await;
    });
}

#[test]
fn project_without_micro_mu_runs_the_crates_found_in_it() {
    support::in_netns(
        "project_without_micro_mu_runs_the_crates_found_in_it",
        async {
            // What `make run` does: helloworld has no micro.mu; it is found as a binary crate,
            // and the gateway has auth on.
            let home = tempfile::tempdir().unwrap();
            let helloworld = repo().join("examples/helloworld");
            let mut run = MicroRun::start(
                home.path(),
                &[helloworld.to_str().unwrap(), "--no-watch"],
                &[],
            );
            run.wait_started().await;
            let lines = run.lines();
            assert!(lines.iter().any(|l| l.contains("● helloworld")));
            assert!(
                lines.iter().any(|l| l.contains("Auth:    on")),
                "{lines:#?}"
            );
            assert!(
                lines.iter().any(|l| l.contains("admin / micro")),
                "no default password warning in {lines:#?}"
            );
            assert!(home.path().join("micro/keys").is_dir());

            let call = "/api/helloworld/Helloworld.Call";
            let (status, body) = post(call, r#"{"name":"Alice"}"#);
            assert_eq!(status, 401, "{body}");
            let (status, body) = post("/auth/login", r#"{"id":"admin","password":"micro"}"#);
            assert_eq!(status, 200, "{body}");
            let login: serde_json::Value = serde_json::from_str(&body).unwrap();
            let bearer = format!(
                "Authorization: Bearer {}\r\n",
                login["token"].as_str().unwrap()
            );
            let deadline = Instant::now() + Duration::from_secs(30);
            let (status, body) = loop {
                let answer = post_with(call, r#"{"name":"Alice"}"#, &bearer);
                if answer.0 == 200 || Instant::now() > deadline {
                    break answer;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            assert_eq!((status, body.as_str()), (200, r#"{"msg":"Hello Alice"}"#));
            run.stop().await;
        },
    );
}

/// A copy of examples/multi/users in `dir` that builds on its own: the workspace's dependency
/// lines written out, the workspace's lock file so cargo needs no network.
fn standalone_users(dir: &Path) {
    let example = repo().join("examples/multi/users");
    let root = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let dependency = |name: &str| {
        root.lines()
            .find(|l| l.starts_with(&format!("{name} = ")))
            .unwrap_or_else(|| panic!("{name} is not a workspace dependency"))
            .to_string()
    };
    let mut manifest = String::from(
        "[package]\nname = \"reload-users\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n\n[dependencies]\n",
    );
    manifest.push_str(&format!(
        "micro = {{ path = {:?} }}\n",
        repo().join("core").canonicalize().unwrap()
    ));
    for name in ["schemars", "serde", "tokio", "tracing-subscriber"] {
        manifest.push_str(&dependency(name));
        manifest.push('\n');
    }
    std::fs::create_dir_all(dir.join("users/src")).unwrap();
    std::fs::write(dir.join("users/Cargo.toml"), manifest).unwrap();
    std::fs::copy(repo().join("Cargo.lock"), dir.join("users/Cargo.lock")).unwrap();
    std::fs::copy(example.join("src/main.rs"), dir.join("users/src/main.rs")).unwrap();
    std::fs::write(
        dir.join("micro.mu"),
        "service users\n    path ./users\n    port 8081\n",
    )
    .unwrap();
}

#[test]
fn edited_service_is_rebuilt_restarted_and_serves_the_new_answer() {
    support::in_netns(
        "edited_service_is_rebuilt_restarted_and_serves_the_new_answer",
        async {
            let home = tempfile::tempdir().unwrap();
            let project = tempfile::tempdir().unwrap();
            standalone_users(project.path());
            let mut run = MicroRun::start(
                home.path(),
                &[project.path().to_str().unwrap(), "--no-auth"],
                &[],
            );
            run.wait_started().await;
            assert!(
                run.lines()
                    .iter()
                    .any(|l| l.contains("Watching for changes"))
            );
            let (status, body) = post_until("/api/users/Users.Get", r#"{"id":1}"#, "Alice").await;
            assert_eq!((status, body.as_str()), (200, r#"{"id":1,"name":"Alice"}"#));
            let first_pid = run.pid("users").unwrap();

            let main = project.path().join("users/src/main.rs");
            let source = std::fs::read_to_string(&main).unwrap();
            // A change that does not build leaves the running service alone.
            std::fs::write(
                &main,
                format!("{source}\nfn broken() -> u32 {{ \"no\" }}\n"),
            )
            .unwrap();
            run.wait_for(
                "a failed build",
                |l| l.starts_with("users |") && l.contains("still running the last build"),
                START_TIMEOUT,
            )
            .await;
            assert_eq!(run.pid("users"), Some(first_pid));
            let (status, body) = post("/api/users/Users.Get", r#"{"id":1}"#);
            assert_eq!((status, body.as_str()), (200, r#"{"id":1,"name":"Alice"}"#));

            std::fs::write(&main, source.replace("\"Alice\"", "\"Alicia\"")).unwrap();
            run.wait_for(
                "a restart",
                |l| l.starts_with("users |") && l.contains("restarted"),
                START_TIMEOUT,
            )
            .await;
            let (status, body) = post_until("/api/users/Users.Get", r#"{"id":1}"#, "Alicia").await;
            assert_eq!(
                (status, body.as_str()),
                (200, r#"{"id":1,"name":"Alicia"}"#)
            );
            assert!(!alive(first_pid), "the old process still runs");
            assert_ne!(run.pid("users"), Some(first_pid));
            run.stop().await;
        },
    );
}

/// Runs `micro run <args>` on a project holding only `micro.mu` with `text`, returning stderr.
fn refused(text: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("micro.mu"), text).unwrap();
    let mut all = vec![dir.path().to_str().unwrap(), "--no-gateway"];
    all.extend(args);
    let output = micro_run(dir.path(), &all, &[]).output().unwrap();
    assert!(!output.status.success(), "micro run accepted {text:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_micro_mu_is_refused_naming_the_line_and_what_was_expected() {
    let stderr = refused("# blog\nservice users\n    port eighty\n", &[]);
    assert!(stderr.contains("micro.mu:3:"), "{stderr}");
    assert!(stderr.contains("expected a port number"), "{stderr}");
}

#[test]
fn service_name_that_would_leave_the_log_directory_is_refused_naming_the_line() {
    let stderr = refused("# blog\nservice ../../etc/x\n", &[]);
    assert!(stderr.contains("micro.mu:2:"), "{stderr}");
    assert!(
        stderr.contains("service name \"../../etc/x\" is not allowed"),
        "{stderr}"
    );
}

#[test]
fn dependency_cycle_is_refused_naming_it() {
    let stderr = refused(
        "service users\n    depends web\nservice web\n    depends users\n",
        &[],
    );
    assert!(
        stderr.contains("dependency cycle: users -> web -> users"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_environment_is_refused_listing_the_defined_ones() {
    let project = "service users\nenv development\n    A 1\nenv production\n    A 2\n";
    let stderr = refused(project, &["--env", "staging"]);
    assert!(
        stderr.contains("no environment `staging`: the project defines development, production"),
        "{stderr}"
    );
    let stderr = refused("service users\n", &["--env", "production"]);
    assert!(stderr.contains("defines no environments"), "{stderr}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A service in `dir` that needs nothing but std, so it builds in a second: crate `name`, a
/// micro.mu giving it `port`, and a main.rs answering every HTTP request (`/health` too) on
/// MICRO_SERVER_ADDRESS with `answer`.
fn tiny_service(dir: &Path, name: &str, port: u16, answer: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("micro.mu"),
        format!("service {name}\n    path .\n    port {port}\n"),
    )
    .unwrap();
    std::fs::write(dir.join(".gitignore"), "target/\n").unwrap();
    let main = format!(
        r#"use std::io::{{BufRead, Write}};

fn main() {{
    let address = std::env::var("MICRO_SERVER_ADDRESS").unwrap();
    let listener = std::net::TcpListener::bind(address).unwrap();
    for conn in listener.incoming() {{
        let conn = conn.unwrap();
        // The request's head, up to its empty line; then the answer.
        let mut request = std::io::BufReader::new(&conn);
        let mut line = String::new();
        while request.read_line(&mut line).is_ok_and(|n| n > 2) {{
            line.clear();
        }}
        let answer = {answer:?};
        let _ = write!(&conn, "HTTP/1.0 200 OK\r\nContent-Length: {{}}\r\n\r\n{{answer}}", answer.len());
    }}
}}
"#
    );
    std::fs::write(dir.join("src/main.rs"), main).unwrap();
}

#[test]
fn a_failing_build_shows_the_compilers_errors_in_the_terminal_and_the_log() {
    let home = tempfile::tempdir().unwrap();
    let project = home.path().join("broken");
    tiny_service(&project, "broken", free_port(), "never");
    std::fs::write(
        project.join("src/main.rs"),
        "fn main() {\n    let x = ;\n}\n",
    )
    .unwrap();
    let target = home.path().join("target");
    let output = micro_run(
        home.path(),
        &[project.to_str().unwrap(), "--no-gateway", "--no-watch"],
        &[("CARGO_TARGET_DIR", target.to_str().unwrap())],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stdout}\n{stderr}");
    // cargo's progress and rustc's own error, with its place, as they came.
    for text in [
        "broken | ",
        "Compiling broken v0.1.0",
        "error: expected expression, found `;`",
        "src/main.rs:2:",
    ] {
        assert!(stdout.contains(text), "no {text:?} in:\n{stdout}");
    }
    let log = home.path().join("micro/logs/broken.log");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("error: expected expression, found `;`"),
        "{logged}"
    );
    assert!(
        stderr.contains("broken: cargo build failed")
            && stderr.contains(&format!("above and in {}", log.display())),
        "{stderr}"
    );
}

/// A `git daemon` serving the repositories under a directory on 127.0.0.1, stopped when
/// dropped.
struct GitDaemon {
    child: Child,
    port: u16,
}

impl GitDaemon {
    /// Serves every repository under `base` and waits until it accepts connections.
    fn serve(base: &Path) -> GitDaemon {
        let port = free_port();
        // git-daemon itself, not `git daemon`: `git` would run it as a child of its own that
        // killing `git` leaves behind.
        let exec_path = Command::new("git").arg("--exec-path").output().unwrap();
        let exec_path = String::from_utf8(exec_path.stdout).unwrap();
        let child = Command::new(Path::new(exec_path.trim()).join("git-daemon"))
            .arg("--export-all")
            .arg("--reuseaddr")
            .arg(format!("--base-path={}", base.display()))
            .args(["--listen=127.0.0.1", &format!("--port={port}")])
            .arg(base)
            // Quiet: the probe below, connecting and hanging up, makes it complain.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "git daemon never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        GitDaemon { child, port }
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `git <args>` in `dir`, asserting it works; its trimmed stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A project in git: a work tree at `<base>/work` whose main branch answers `v1` at tag `v1`
/// and `v2` after it, pushed to the bare `<base>/proj.git`. Returns the service's port and
/// the commit of `v1`.
fn project_in_git(base: &Path) -> (u16, String) {
    let work = base.join("work");
    let port = free_port();
    tiny_service(&work, "fromgit", port, "v1");
    git(&work, &["init", "--quiet", "--initial-branch=main"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "v1"]);
    git(&work, &["tag", "v1"]);
    let first = git(&work, &["rev-parse", "HEAD"]);
    tiny_service(&work, "fromgit", port, "v2");
    git(&work, &["commit", "--quiet", "-am", "v2"]);
    git(base, &["clone", "--quiet", "--bare", "work", "proj.git"]);
    git(&work, &["remote", "add", "origin", "../proj.git"]);
    (port, first)
}

/// Runs `micro run <source> --no-gateway --no-watch` with HOME in `home` until the service is
/// healthy; what it answers on `port`, and micro run's lines.
async fn answer_of(home: &Path, source: &str, port: u16) -> (String, Vec<String>) {
    let target = home.join("target");
    let mut run = MicroRun::start(
        home,
        &[source, "--no-gateway", "--no-watch"],
        &[("CARGO_TARGET_DIR", target.to_str().unwrap())],
    );
    run.wait_for(
        "a healthy service",
        |l| l.contains("healthy on"),
        START_TIMEOUT,
    )
    .await;
    let (status, body) = send_to(port, "GET", "/", "", "");
    assert_eq!(status, 200, "{body}");
    let lines = run.lines();
    run.stop().await;
    (body, lines)
}

#[tokio::test]
async fn a_project_is_cloned_from_git_daemon_at_a_tag_and_a_branch_and_fetched_again() {
    let base = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (port, _) = project_in_git(base.path());
    let daemon = GitDaemon::serve(base.path());
    let url = format!("git://127.0.0.1:{}/proj.git", daemon.port);

    let (answer, lines) = answer_of(home.path(), &format!("{url}@v1"), port).await;
    assert_eq!(answer, "v1");
    let cache = home.path().join(".cache/micro/run/127.0.0.1");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("Cloning {url} into {}", cache.display()))),
        "{lines:#?}"
    );
    assert!(cache.join("proj@v1/micro.mu").is_file());

    let (answer, _) = answer_of(home.path(), &format!("{url}@main"), port).await;
    assert_eq!(answer, "v2");
    // A new commit on main is fetched into the clone that is there already.
    let work = base.path().join("work");
    tiny_service(&work, "fromgit", port, "v3");
    git(&work, &["commit", "--quiet", "-am", "v3"]);
    git(&work, &["push", "--quiet", "origin", "main"]);
    let (answer, lines) = answer_of(home.path(), &format!("{url}@main"), port).await;
    assert_eq!(answer, "v3");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("Fetching {url} into"))),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn a_project_is_cloned_from_a_file_url_at_a_commit_and_its_default_branch() {
    let base = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (port, first) = project_in_git(base.path());
    let url = format!("file://{}", base.path().join("proj.git").display());
    let (answer, _) = answer_of(home.path(), &format!("{url}@{first}"), port).await;
    assert_eq!(answer, "v1");
    let (answer, _) = answer_of(home.path(), &url, port).await;
    assert_eq!(answer, "v2");
}

/// Runs `micro run <source>`, which must fail; its stderr.
fn run_fails(source: &str) -> String {
    let home = tempfile::tempdir().unwrap();
    let output = micro_run(home.path(), &[source, "--no-gateway", "--no-watch"], &[])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "micro run {source} worked: {stderr}"
    );
    stderr
}

#[test]
fn an_unreachable_remote_or_unknown_ref_is_an_error_naming_the_url_and_what_git_said() {
    let closed = free_port();
    let stderr = run_fails(&format!("git://127.0.0.1:{closed}/proj.git@v1"));
    assert!(
        stderr.contains(&format!(
            "cannot fetch git://127.0.0.1:{closed}/proj.git at `v1`: git says: fatal: unable to connect to 127.0.0.1"
        )),
        "{stderr}"
    );

    let base = tempfile::tempdir().unwrap();
    project_in_git(base.path());
    let url = format!("file://{}", base.path().join("proj.git").display());
    let stderr = run_fails(&format!("{url}@nope"));
    assert!(
        stderr.contains(&format!(
            "{url} has no branch, tag or commit `nope` (git says: fatal:"
        )),
        "{stderr}"
    );
}
