//! The browser tests' harness: runs a script of `tests/browser` (playwright-core, on
//! `harness.mjs`) in headless Chromium against a gateway the test started, and asserts that
//! every step passed. Screenshots of each step go to `<target>/tmp/browser-screenshots/<name>`.
//!
//! Needs `/usr/bin/chromium` and `tests/browser/node_modules` (`make setup` installs both).
//! Without them [`available`] says what is missing and the test passes, unless
//! `MICRO_BROWSER_REQUIRED=1` (as `make test` sets), when it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

/// The Chromium the scripts drive.
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long a script may run before it is killed; its own steps time out well before this.
const SCRIPT_LIMIT: Duration = Duration::from_secs(120);

/// The repository's `tests/browser` directory.
fn script_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests")
        .join("browser")
}

/// Why the browser tests cannot run here, if they cannot.
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

/// True when the browser tests can run; otherwise says why and, with
/// `MICRO_BROWSER_REQUIRED=1`, fails.
pub fn available() -> bool {
    let Some(why) = missing_tools(&script_dir()) else {
        return true;
    };
    if std::env::var("MICRO_BROWSER_REQUIRED").as_deref() == Ok("1") {
        panic!("MICRO_BROWSER_REQUIRED=1 but {why}");
    }
    eprintln!("skipping the browser test: {why}");
    false
}

/// Runs `tests/browser/<name>.mjs` against the gateway at `base` with `args` after the base
/// URL and the screenshot directory, and asserts that all its steps passed.
pub async fn run(name: &str, base: &str, args: &[&str]) {
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("browser-screenshots")
        .join(name);
    // Only this run's screenshots: none left over from an earlier failure.
    let _ = std::fs::remove_dir_all(&screenshots);
    std::fs::create_dir_all(&screenshots).unwrap();
    println!(
        "browser test {name}: {base}, screenshots in {}",
        screenshots.display()
    );
    let (status, stdout, stderr) = run_script(name, base, &screenshots, args).await;
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        status.success(),
        "{name}.mjs failed ({status}); its output is above, screenshots in {}",
        screenshots.display()
    );
    assert!(
        stdout.contains(&format!("{name}: all steps passed")),
        "{name}.mjs exited 0 without finishing its steps:\n{stdout}"
    );
}

/// Runs the script and returns its exit status, stdout and stderr; kills it after
/// [`SCRIPT_LIMIT`]. Output goes through files so a chatty script cannot block on a pipe.
async fn run_script(
    name: &str,
    base: &str,
    screenshots: &Path,
    args: &[&str],
) -> (ExitStatus, String, String) {
    let dir = script_dir();
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new("node")
        .arg(dir.join(format!("{name}.mjs")))
        .arg(base)
        .arg(screenshots)
        .args(args)
        .current_dir(&dir)
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
                "{name}.mjs still running after {SCRIPT_LIMIT:?}, killed; output so far:\n{}\n{}",
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
