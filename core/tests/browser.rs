//! The dashboard as a person uses it: a gateway with auth and the dashboard on loopback, in front
//! of a helloworld service, driven in headless Chromium by `tests/browser/dashboard.mjs`
//! (playwright-core): log in, create a token and a user, set an endpoint's scopes, call the
//! endpoint from its form as admin (200) and as a user without the scope (403), and over
//! `/api` with a bearer token lacking the scope (403). Screenshots of each step go to
//! `<target>/tmp/browser-screenshots`.
//!
//! Needs `/usr/bin/chromium` and `tests/browser/node_modules` (`make setup` installs both).
//! Without them the test says what is missing and passes, unless `MICRO_BROWSER_REQUIRED=1`
//! (as `make test` sets), when it fails.

use micro::auth::Auth;
use micro::broker::{self, Broker};
use micro::gateway::Gateway;
use micro::registry::{Memory, Registry};
use micro::store::{self, Store};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::Arc;
use std::time::Duration;

/// The Chromium the script drives.
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long the script may run before it is killed; its own steps time out well before this.
const SCRIPT_LIMIT: Duration = Duration::from_secs(120);

/// Whom to greet.
#[derive(Deserialize, JsonSchema)]
struct Request {
    /// The person's name.
    name: String,
}

/// The greeting.
#[derive(Serialize, JsonSchema)]
struct Reply {
    /// `Hello <name>`.
    msg: String,
}

/// The repository's `tests/browser` directory.
fn script_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests")
        .join("browser")
}

/// Why the browser test cannot run here, if it cannot.
fn missing_tools(dir: &Path) -> Option<String> {
    if !Path::new(CHROMIUM).exists() {
        return Some(format!(
            "{CHROMIUM} is missing: run `make setup` (apt-get install chromium)"
        ));
    }
    if !dir.join("node_modules").join("playwright-core").exists() {
        return Some(format!(
            "{} has no playwright-core: run `make setup` (npm ci there)",
            dir.join("node_modules").display()
        ));
    }
    None
}

#[tokio::test]
async fn dashboard_in_headless_chromium() {
    let dir = script_dir();
    if let Some(why) = missing_tools(&dir) {
        if std::env::var("MICRO_BROWSER_REQUIRED").as_deref() == Ok("1") {
            panic!("MICRO_BROWSER_REQUIRED=1 but {why}");
        }
        eprintln!("skipping the browser test: {why}");
        return;
    }

    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let store: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
    let broker: Arc<dyn Broker> = Arc::new(broker::Memory::new());
    let _service = micro::Service::new("helloworld")
        .registry(registry.clone())
        .address("127.0.0.1:0")
        .handle("Helloworld.Call", |_ctx, req: Request| async move {
            Ok(Reply {
                msg: format!("Hello {}", req.name),
            })
        })
        .describe(
            "Helloworld.Call",
            "Greets a person by name",
            r#"{"name":"Alice"}"#,
        )
        .start()
        .await
        .unwrap();
    let keys = tempfile::tempdir().unwrap();
    let auth = Auth::open(store.clone(), keys.path()).await.unwrap();
    let gateway = Gateway::new(registry, store, broker)
        .auth(Arc::new(auth))
        .dashboard(None)
        .start("127.0.0.1:0")
        .await
        .unwrap();

    let base = format!("http://{}", gateway.address());
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    // Only this run's screenshots: none left over from an earlier failure.
    let _ = std::fs::remove_dir_all(&screenshots);
    std::fs::create_dir_all(&screenshots).unwrap();
    println!(
        "browser test: {base}, screenshots in {}",
        screenshots.display()
    );

    let (status, stdout, stderr) = run_script(&dir, &base, &screenshots).await;
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        status.success(),
        "dashboard.mjs failed ({}); its output is above, screenshots in {}",
        status,
        screenshots.display()
    );
    assert!(
        stdout.contains("dashboard: all steps passed"),
        "dashboard.mjs exited 0 without finishing its steps:\n{stdout}"
    );
    gateway.stop().await;
}

/// Runs `dashboard.mjs` against `base` and returns its exit status, stdout and stderr; kills it
/// after [`SCRIPT_LIMIT`]. Output goes through files so a chatty script cannot block on a pipe.
async fn run_script(dir: &Path, base: &str, screenshots: &Path) -> (ExitStatus, String, String) {
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new("node")
        .arg(dir.join("dashboard.mjs"))
        .arg(base)
        .arg(screenshots)
        .current_dir(dir)
        .stdout(out.reopen().unwrap())
        .stderr(err.reopen().unwrap())
        .spawn()
        .expect("node could not be started: is Node.js 20 on PATH?");
    let deadline = tokio::time::Instant::now() + SCRIPT_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if tokio::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!(
                "dashboard.mjs still running after {SCRIPT_LIMIT:?}, killed; output so far:\n{}\n{}",
                read(out.path()),
                read(err.path())
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    (status, read(out.path()), read(err.path()))
}

fn read(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}
