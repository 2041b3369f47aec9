//! What the networked tests share: running a test inside a network namespace of its own,
//! finding the Go programs built on go-micro (`make go-tools`), the test servers, the broker
//! tests' [`inbox`], the AI tests' model [`provider`] and the headless Chromium [`browser`].
//!
//! A networked test re-runs its own test binary, filtered to itself, under `unshare -n`: a
//! fresh network namespace holding only a loopback interface with multicast on and a
//! 224.0.0.0/4 route, so mDNS never reaches a real interface. The child sees the marker
//! variable and runs the body; the parent asserts that it passed. This needs root (or
//! CAP_SYS_ADMIN), `unshare` and `ip`.
#![allow(dead_code)]

pub mod inbox;

use std::future::Future;
use std::path::PathBuf;
use std::process::Command;

/// Set in the child process that runs inside the namespace.
const INSIDE: &str = "MICRO_TEST_IN_NETNS";

/// Runs `body` inside a new network namespace with multicast on loopback.
pub fn in_netns(test: &str, body: impl Future<Output = ()>) {
    in_netns_with(test, &[], &[], body)
}

/// Like [`in_netns`], with extra shell setup commands and environment for the child.
pub fn in_netns_with(
    test: &str,
    setup: &[&str],
    env: &[(&str, &str)],
    body: impl Future<Output = ()>,
) {
    if std::env::var_os(INSIDE).is_some() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(body);
        return;
    }
    drop(body);
    let mut script = vec![
        "ip link set lo up",
        "ip link set lo multicast on",
        "ip route add 224.0.0.0/4 dev lo",
    ];
    script.extend_from_slice(setup);
    let script = format!("{} && exec \"$0\" \"$@\"", script.join(" && "));
    let output = Command::new("unshare")
        .args(["-n", "sh", "-c", &script])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .envs(env.iter().copied())
        .output()
        .expect("could not run unshare; these tests need root, unshare and ip");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        output.status.success(),
        "{test} failed inside its network namespace ({})",
        output.status
    );
    assert!(
        stdout.contains("1 passed"),
        "{test} did not run inside its network namespace"
    );
}

/// A Go program from tests/interop/bin, or `None` when it is not built; with
/// `MICRO_INTEROP_REQUIRED` set (as `make test` sets it) a missing program fails the test.
pub fn go_program(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/interop/bin")
        .join(name);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("MICRO_INTEROP_REQUIRED").is_none(),
        "MICRO_INTEROP_REQUIRED is set but tests/interop/bin/{name} is not built (make go-tools)"
    );
    eprintln!("skipped: tests/interop/bin/{name} is not built (make go-tools)");
    None
}

/// The script that installs, starts and stops the test servers.
pub const SERVERS_SH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/servers.sh");

/// Runs `scripts/servers.sh` with `args`, failing the test when it fails; its output.
pub fn servers(args: &[&str]) -> String {
    servers_with(&[], args)
}

/// [`servers`] with the environment variables `env` set, e.g. `MICRO_SERVERS_DIR`.
pub fn servers_with(env: &[(&str, &str)], args: &[&str]) -> String {
    let out = Command::new(SERVERS_SH)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {SERVERS_SH}: {e}"));
    assert!(
        out.status.success(),
        "scripts/servers.sh {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The URL of the test server `name` (`mysql`, `postgres`, `redis`, `etcd`), started by
/// `scripts/servers.sh` (which installs it when missing) the first time a test of this binary
/// asks for it; `make test` stops them all at the end.
pub fn server(name: &str) -> String {
    static STARTED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut started = STARTED.lock().unwrap();
    if !started.iter().any(|s| s == name) {
        servers(&["start", name]);
        started.push(name.to_string());
    }
    servers(&["url", name])
}
