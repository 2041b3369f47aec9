//! `micro-mcp-gateway` as go-micro's agent-patterns guide runs it: the real binary with the
//! guide's command line, in front of a real helloworld service registered over mDNS inside its
//! own network namespace. Tokens come from a `micro server` on the same home (its accounts and
//! keys), as a deployment's gateway and dashboard share them.

#[allow(dead_code)]
mod common;
#[allow(dead_code)]
#[path = "../../core/tests/http/raw.rs"]
mod raw;
#[path = "../../core/tests/support/mod.rs"]
mod support;

use common::{mcp_gateway, micro, serving, stop};
use raw::{admin_bearer, http, parse};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const CALL: &str = "helloworld.Helloworld.Call";

/// The guide's command line after `--registry consul --registry-address consul:8500`, which
/// the tests replace with mDNS (libmicro has no consul registry; see the last test).
const GUIDE: &[&str] = &[
    "--address",
    ":3000",
    "--auth",
    "jwt",
    "--rate-limit",
    "10",
    "--rate-burst",
    "20",
    "--audit",
];

/// helloworld's request.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Request {
    name: String,
}

/// Starts helloworld, registered over mDNS.
async fn helloworld() -> micro::service::Running {
    let registry: Arc<dyn micro::registry::Registry> =
        Arc::new(micro::registry::Mdns::new(micro::registry::MdnsOptions::default()).unwrap());
    micro::Service::new("helloworld")
        .registry(registry)
        .address("127.0.0.1:0")
        .handle("Helloworld.Call", |_ctx, req: Request| async move {
            Ok(json!({ "msg": format!("Hello {}", req.name) }))
        })
        .start()
        .await
        .unwrap()
}

/// A JSON-RPC request to the Streamable HTTP endpoint `/mcp`; the answer's JSON-RPC message
/// (sent as JSON or as a server-sent event) and the session id the server gave, if any.
async fn mcp_post(address: &str, headers: &str, message: Value) -> (u16, Value, Option<String>) {
    let headers = format!("{headers}Accept: application/json, text/event-stream\r\n");
    let (status, head, body) = http(address, "POST", "/mcp", &headers, &message.to_string()).await;
    let session = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("mcp-session-id")
            .then(|| value.trim().to_string())
    });
    let answer = body
        .lines()
        .filter_map(|line| line.strip_prefix("data:").map(str::trim))
        .find(|data| data.starts_with('{'))
        .map(parse)
        .unwrap_or_else(|| serde_json::from_str(&body).unwrap_or(Value::Null));
    (status, answer, session)
}

#[test]
fn the_guides_command_line_serves_mcp_with_auth_rate_limit_and_audit() {
    support::in_netns(
        "the_guides_command_line_serves_mcp_with_auth_rate_limit_and_audit",
        async {
            let service = helloworld().await;
            let home = tempfile::tempdir().unwrap();
            let home = home.path();
            // The dashboard gateway hands out the tokens the MCP gateway checks.
            let (server, dashboard) = serving(
                micro(home, &["server", "--address", "127.0.0.1:0"]),
                "Dashboard",
            )
            .await;
            let bearer = admin_bearer(&dashboard).await;

            let args: Vec<&str> = ["--registry", "mdns"]
                .iter()
                .chain(GUIDE)
                .copied()
                .collect();
            let (gateway, address) = serving(mcp_gateway(home, &args), "MCP").await;
            assert_eq!(address, "127.0.0.1:3000", ":3000 is loopback's port 3000");

            // --auth jwt: nothing without a token.
            let call = json!({"name": CALL, "arguments": {"name": "Alice"}}).to_string();
            for (method, path, body) in [
                ("GET", "/mcp/tools", ""),
                ("POST", "/mcp/call", call.as_str()),
            ] {
                let (status, _, answer) = http(&address, method, path, "", body).await;
                assert_eq!(status, 401, "{method} {path}: {answer}");
            }
            let (status, _, _) = mcp_post(&address, "", initialize()).await;
            assert_eq!(status, 401, "POST /mcp without a token");

            // /mcp/tools and /mcp/call with the token: helloworld, once mDNS has found it.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            loop {
                let (status, _, body) = http(&address, "GET", "/mcp/tools", &bearer, "").await;
                assert_eq!(status, 200, "{body}");
                if parse(&body)["tools"][0]["name"] == CALL {
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "helloworld never showed up: {body}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let (status, _, answer) = http(&address, "POST", "/mcp/call", &bearer, &call).await;
            assert_eq!(status, 200, "{answer}");
            assert_eq!(parse(&answer)["result"], json!({"msg": "Hello Alice"}));

            // /mcp, Streamable HTTP: initialize, then the tools and a call in that session.
            let (status, initialized, session) = mcp_post(&address, &bearer, initialize()).await;
            assert_eq!(status, 200, "{initialized}");
            assert!(
                initialized["result"]["capabilities"]["tools"].is_object(),
                "{initialized}"
            );
            let session = format!("{bearer}Mcp-Session-Id: {}\r\n", session.unwrap());
            let notified = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
            let (status, _, _) = mcp_post(&address, &session, notified).await;
            assert_eq!(status, 202);
            let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
            let (status, listed, _) = mcp_post(&address, &session, list).await;
            assert_eq!(status, 200, "{listed}");
            assert_eq!(listed["result"]["tools"][0]["name"], CALL, "{listed}");
            let called = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": CALL, "arguments": {"name": "Bob"}}});
            let (status, called, _) = mcp_post(&address, &session, called).await;
            assert_eq!(status, 200, "{called}");
            assert_eq!(called["result"]["isError"], false, "{called}");
            assert!(
                called["result"]["content"][0]["text"]
                    .as_str()
                    .unwrap()
                    .contains("Hello Bob"),
                "{called}"
            );

            // --rate-limit 10 --rate-burst 20: of 30 calls at once, some are refused.
            let calls = (0..30).map(|_| http(&address, "POST", "/mcp/call", &bearer, &call));
            let statuses: Vec<u16> = futures::future::join_all(calls)
                .await
                .into_iter()
                .map(|(status, _, _)| status)
                .collect();
            let refused = statuses.iter().filter(|s| **s == 429).count();
            assert!(
                (1..=12).contains(&refused),
                "30 calls at once after 2 are over a burst of 20: {statuses:?}"
            );
            stop(gateway).await;
            stop(server).await;

            // --audit without a file: one record per call, in ~/micro/logs/mcp-audit.jsonl.
            let audit = std::fs::read_to_string(home.join("micro/logs/mcp-audit.jsonl")).unwrap();
            let records: Vec<Value> = audit.lines().map(parse).collect();
            let count = |outcome: &str| {
                records
                    .iter()
                    .filter(|r| r["tool"] == CALL && r["account"] == "admin")
                    .filter(|r| r["outcome"] == outcome)
                    .count()
            };
            assert_eq!(
                (count("ok"), count("rate_limited")),
                (2 + 30 - refused, refused),
                "{audit}"
            );
            assert_eq!(
                records.len(),
                2 + 30,
                "calls without a token never ran: {audit}"
            );
            service.stop().await.unwrap();
        },
    );
}

/// The JSON-RPC `initialize` request an MCP client opens with.
fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    }})
}

/// Runs `program <args>`, expects it to fail at once, and returns its stderr.
async fn refused(mut command: tokio::process::Command) -> String {
    let output = command.output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty(), "{output:?}");
    stderr
}

#[test]
fn consul_is_a_clear_error_naming_the_registries_there_are() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let home = tempfile::tempdir().unwrap();
        let home = home.path();
        let guide: Vec<&str> = ["--registry", "consul", "--registry-address", "consul:8500"]
            .iter()
            .chain(GUIDE)
            .copied()
            .collect();
        let stderr = refused(mcp_gateway(home, &guide)).await;
        assert!(
            stderr.starts_with(
                "micro-mcp-gateway: unknown registry \"consul\"; known registry names: \
                 mdns, memory, etcd, nats"
            ),
            "{stderr}"
        );
        // micro mcp serve takes the same spellings and says the same.
        let serve: Vec<&str> = ["mcp", "serve"].iter().chain(&guide).copied().collect();
        let stderr = refused(micro(home, &serve)).await;
        assert!(
            stderr.starts_with("micro: unknown registry \"consul\""),
            "{stderr}"
        );
        assert!(!Path::new(&home.join("micro/logs")).exists());
    });
}
