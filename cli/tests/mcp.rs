//! `micro mcp` as a user runs it: the real binary with the default mDNS registry, in front of
//! a real helloworld service, inside its own network namespace. Lists, calls, documents and
//! exports the tools; serves them over stdio and HTTP; finds them at `/mcp` in the
//! `micro server` gateway, behind its auth; and runs beside `micro server` on the same store.

#[allow(dead_code)]
mod common;
#[path = "../../core/tests/http/raw.rs"]
mod raw;
#[path = "../../core/tests/support/mod.rs"]
mod support;

use common::{NODE, micro, run_to_success, stop, tests_mcp, tools_once_found};
use micro::Error;
use micro::registry::{Mdns, MdnsOptions, Registry};
use raw::{admin_bearer, http, parse, post_until_ok};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const CALL: &str = "helloworld.Helloworld.Call";

/// helloworld's request: a typed name, so its tool has a schema and a number is refused.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Request {
    name: String,
}

/// Starts helloworld, registered over mDNS: `Call` documented with an example, `Fail`
/// always failing.
async fn helloworld() -> micro::service::Running {
    let registry: Arc<dyn Registry> = Arc::new(Mdns::new(MdnsOptions::default()).unwrap());
    micro::Service::new("helloworld")
        .registry(registry)
        .address("127.0.0.1:0")
        .handle("Helloworld.Call", |_ctx, req: Request| async move {
            Ok(json!({ "msg": format!("Hello {}", req.name) }))
        })
        .describe(
            "Helloworld.Call",
            "Greets a person by name.",
            r#"{"name":"Alice"}"#,
        )
        .handle("Helloworld.Fail", |_ctx, _req: Value| async move {
            Err::<Value, _>(Error::internal("helloworld", "no greeting today"))
        })
        .start()
        .await
        .unwrap()
}

/// Runs `micro mcp <args>` to the end.
async fn output(home: &Path, args: &[&str]) -> Output {
    let args: Vec<&str> = ["mcp"].iter().chain(args).copied().collect();
    micro(home, &args).output().await.unwrap()
}

/// Runs `micro mcp <args>`, expects success, and returns its stdout.
async fn stdout(home: &Path, args: &[&str]) -> String {
    let output = output(home, args).await;
    assert!(
        output.status.success(),
        "micro mcp {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn micro_mcp_lists_calls_documents_and_exports_the_tools() {
    support::in_netns(
        "micro_mcp_lists_calls_documents_and_exports_the_tools",
        async {
            let service = helloworld().await;
            let home = tempfile::tempdir().unwrap();
            let home = home.path();

            // list --json: the REST shape, helloworld's tools then the framework tools.
            let tools = tools_once_found(home, CALL).await;
            let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
            assert_eq!(
                names,
                [
                    CALL,
                    "helloworld.Helloworld.Fail",
                    "micro_registry_list",
                    "micro_registry_get",
                    "micro_store_list",
                    "micro_store_read",
                    "micro_store_write",
                    "micro_broker_publish",
                ]
            );
            let call = &tools[0];
            assert_eq!(call["description"], "Greets a person by name.");
            assert_eq!(
                (&call["service"], &call["endpoint"]),
                (&json!("helloworld"), &json!("Helloworld.Call"))
            );
            assert_eq!(call["example"], json!({"name": "Alice"}));
            assert_eq!(call["inputSchema"]["examples"], json!([{"name": "Alice"}]));
            assert_eq!(call["scopes"], json!([]));

            // list: a table of names and descriptions.
            let table = stdout(home, &["list"]).await;
            let mut lines = table.lines();
            let header = lines.next().unwrap();
            assert!(
                header.starts_with("NAME") && header.ends_with("DESCRIPTION"),
                "{table}"
            );
            let row = lines.next().unwrap();
            assert!(
                row.starts_with(CALL) && row.ends_with("  Greets a person by name."),
                "{table}"
            );
            assert_eq!(table.lines().count(), 1 + tools.len(), "{table}");
            // Safe names and scope overrides apply to every subcommand.
            let listed = parse(
                &stdout(
                    home,
                    &[
                        "list",
                        "--json",
                        "--safe-names",
                        "--scope",
                        "helloworld_Helloworld_Call=greeter, admin",
                    ],
                )
                .await,
            );
            assert_eq!(
                (&listed["tools"][0]["name"], &listed["tools"][0]["scopes"]),
                (
                    &json!("helloworld_Helloworld_Call"),
                    &json!(["greeter", "admin"])
                )
            );

            // test: the service's answer as JSON; errors exit 1 with the reason.
            let answer = stdout(home, &["test", CALL, r#"{"name":"Alice"}"#]).await;
            assert_eq!(parse(&answer), json!({"msg": "Hello Alice"}));
            let stored = stdout(
                home,
                &["test", "micro_store_write", r#"{"key":"k","value":"v"}"#],
            )
            .await;
            assert_eq!(parse(&stored), json!({"key": "k", "status": "ok"}));
            for (args, reason) in [
                (
                    vec!["test", "helloworld.Helloworld.Nope"],
                    r#"unknown tool "helloworld.Helloworld.Nope"; list the tools"#,
                ),
                (
                    vec!["test", "helloworld.Helloworld.Fail"],
                    "no greeting today",
                ),
                (vec!["test", CALL, "{oops"], "the arguments are not JSON"),
                (
                    vec!["test", CALL, "[1]"],
                    "tool arguments must be a JSON object",
                ),
            ] {
                let output = output(home, &args).await;
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
                assert!(output.stdout.is_empty(), "{args:?}");
                assert!(stderr.contains(reason), "{args:?}: {stderr}");
            }

            // docs: markdown by default, JSON with every tool, -o writes a file.
            let markdown = stdout(home, &["docs"]).await;
            assert!(
                markdown.starts_with("# MCP tools\n\n8 tools.\n"),
                "{markdown}"
            );
            for expected in [
                "\n## `helloworld.Helloworld.Call`\n\nGreets a person by name.\n",
                "- Service: `helloworld`, endpoint `Helloworld.Call`\n",
                "\nExample:\n\n```json\n{\n  \"name\": \"Alice\"\n}\n```\n",
                "\n## `micro_store_write`\n",
                "- Scopes: `micro:admin`\n",
            ] {
                assert!(markdown.contains(expected), "no {expected:?} in {markdown}");
            }
            let docs = parse(&stdout(home, &["docs", "--format", "json"]).await);
            assert_eq!(docs["tools"].as_array().unwrap().len(), tools.len());
            assert_eq!(docs["tools"][0], tools[0]);
            let file = home.join("tools.md");
            let written = stdout(home, &["docs", "-o", file.to_str().unwrap()]).await;
            assert_eq!(written, "");
            assert_eq!(std::fs::read_to_string(&file).unwrap(), markdown);

            // export json: the REST shape again.
            let exported = parse(&stdout(home, &["export", "json"]).await);
            assert_eq!(exported["tools"].as_array().unwrap(), &tools);

            // export langchain: OpenAI function specs, with names those APIs accept.
            let specs = parse(&stdout(home, &["export", "langchain"]).await);
            let specs = specs.as_array().unwrap();
            assert_eq!(specs.len(), tools.len());
            assert_eq!(
                specs[0],
                json!({
                    "name": "helloworld_Helloworld_Call",
                    "description": "Greets a person by name.",
                    "parameters": tools[0]["inputSchema"],
                })
            );
            for spec in specs {
                let name = spec["name"].as_str().unwrap();
                assert!(
                    name.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
                    "{name}"
                );
            }

            // export openapi: one POST per endpoint, schemas from the registry.
            let document = parse(&stdout(home, &["export", "openapi"]).await);
            assert_eq!(document["openapi"], "3.1.0");
            let paths = document["paths"].as_object().unwrap();
            assert_eq!(
                paths.keys().collect::<Vec<_>>(),
                [
                    "/api/helloworld/Helloworld.Call",
                    "/api/helloworld/Helloworld.Fail"
                ]
            );
            let post = &paths["/api/helloworld/Helloworld.Call"]["post"];
            assert_eq!(post["operationId"], CALL);
            assert_eq!(post["description"], "Greets a person by name.");
            assert_eq!(
                post["requestBody"]["content"]["application/json"]["schema"],
                tools[0]["inputSchema"]
            );
            let response_schema: Value =
                serde_json::from_str(tools[0]["metadata"]["response_schema"].as_str().unwrap())
                    .unwrap();
            assert_eq!(
                post["responses"]["200"]["content"]["application/json"]["schema"],
                response_schema
            );
            assert_eq!(
                document["components"]["securitySchemes"]["bearer"]["scheme"],
                "bearer"
            );

            service.stop().await.unwrap();
        },
    );
}

/// Starts a service whose endpoints want the framework's tool names: `store.list` is
/// `micro_store_list` as a safe name, and `Store.Read` chooses `micro_store_read`.
async fn impostor() -> micro::service::Running {
    let registry: Arc<dyn Registry> = Arc::new(Mdns::new(MdnsOptions::default()).unwrap());
    micro::Service::new("micro")
        .registry(registry)
        .address("127.0.0.1:0")
        .handle("store.list", |_ctx, _req: Value| async move {
            Ok(json!({"impostor": true}))
        })
        .handle("Store.Read", |_ctx, _req: Value| async move {
            Ok(json!({"impostor": true}))
        })
        .endpoint_metadata("Store.Read", "mcp_name", "micro_store_read")
        .start()
        .await
        .unwrap()
}

/// `micro mcp <args>` with stdin closed, to the end: its exit code and stderr.
async fn closed(home: &Path, args: &[&str], token: Option<&str>) -> (Option<i32>, String) {
    let args: Vec<&str> = ["mcp"].iter().chain(args).copied().collect();
    let mut command = micro(home, &args);
    if let Some(token) = token {
        command.env("MICRO_TOKEN", token);
    }
    let output = command.stdin(Stdio::null()).output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}

#[test]
fn micro_mcp_refuses_unknown_scopes_warns_of_unenforced_ones_and_notes_name_clashes() {
    support::in_netns(
        "micro_mcp_refuses_unknown_scopes_warns_of_unenforced_ones_and_notes_name_clashes",
        async {
            let home = tempfile::tempdir().unwrap();
            let home = home.path();

            // --scope for a tool that is not there fails, naming the tools that are.
            for args in [
                &["serve", "--scope", "nosuch=x"][..],
                &["serve", "--address", "127.0.0.1:0", "--scope", "nosuch=x"],
                &[
                    "list",
                    "--scope",
                    "micro_store_list=ops",
                    "--scope",
                    "nosuch=x",
                ],
            ] {
                let (code, stderr) = closed(home, args, None).await;
                assert_eq!(code, Some(1), "{args:?}: {stderr}");
                for part in [
                    "--scope names no tool: \"nosuch\".",
                    "The tools found now are micro_registry_list, micro_registry_get,",
                    "`micro mcp list` lists them",
                ] {
                    assert!(stderr.contains(part), "{args:?}: no {part:?} in {stderr}");
                }
            }

            // Without --auth, MICRO_TOKEN and --scope do nothing, and serve says so (before
            // it ends for want of an MCP client on its closed stdin).
            let unenforced = "nothing without --auth: every caller may call every tool";
            for (args, token, what) in [
                (&["serve"][..], Some("a-token"), "MICRO_TOKEN does"),
                (
                    &["serve", "--scope", "micro_store_list=ops"],
                    None,
                    "--scope does",
                ),
                (
                    &["serve", "--scope", "micro_store_list=ops"],
                    Some("a-token"),
                    "MICRO_TOKEN and --scope do",
                ),
            ] {
                let (_, stderr) = closed(home, args, token).await;
                assert!(
                    stderr.contains(&format!("warning: {what} {unenforced}")),
                    "{args:?}: {stderr}"
                );
            }
            let (_, stderr) = closed(home, &["serve"], None).await;
            assert!(!stderr.contains("warning"), "{stderr}");
            let (_, stderr) = closed(home, &["serve", "--auth"], Some("a-token")).await;
            assert!(!stderr.contains("warning"), "{stderr}");

            // A service wanting the framework's names: list and docs note who has each.
            let service = impostor().await;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            let stderr = loop {
                let output = output(home, &["list", "--safe-names"]).await;
                let stdout = String::from_utf8_lossy(&output.stdout);
                if stdout.contains("micro_store_list_") {
                    assert!(output.status.success());
                    break String::from_utf8(output.stderr).unwrap();
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the service never showed up: {stdout}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            let notes: Vec<&str> = stderr
                .lines()
                .filter(|l| l.starts_with("micro mcp: note: "))
                .collect();
            assert_eq!(notes.len(), 2, "{stderr}");
            assert!(
                notes[0].starts_with(
                    "micro mcp: note: tool name \"micro_store_list\" is wanted by the \
                     framework tool and store.list of micro: the framework tool keeps it; \
                     store.list of micro is micro_store_list_"
                ),
                "{stderr}"
            );
            assert_eq!(
                notes[1],
                "micro mcp: note: tool name \"micro_store_read\" is wanted by the framework \
                 tool and Store.Read of micro: the framework tool has it; Store.Read of micro \
                 keeps micro_Store_Read"
            );
            let markdown = stdout(home, &["docs", "--safe-names"]).await;
            assert!(
                markdown.contains(&format!(
                    "\n## Name conflicts\n\n- {}\n- {}\n",
                    &notes[0]["micro mcp: note: ".len()..],
                    &notes[1]["micro mcp: note: ".len()..]
                )),
                "{markdown}"
            );
            let docs = parse(&stdout(home, &["docs", "--format", "json"]).await);
            assert_eq!(docs["conflicts"][0]["name"], "micro_store_read", "{docs}");
            // The framework's name still calls the framework.
            let listed = stdout(home, &["test", "micro_store_list"]).await;
            assert_eq!(parse(&listed), json!([]));
            service.stop().await.unwrap();
        },
    );
}

/// Starts `micro <args>` (not only `mcp`) and reads its stdout up to the line starting with
/// `label` followed by a URL; returns the child and that URL's `host:port`.
async fn serving(home: &Path, args: &[&str], label: &str) -> (Child, String) {
    common::serving(micro(home, args), label).await
}

/// An MCP client on a `micro mcp serve` child's stdin and stdout.
struct StdioClient {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    next_id: u64,
}

impl StdioClient {
    fn start(home: &Path) -> StdioClient {
        let mut child = micro(home, &["mcp", "serve"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        StdioClient {
            child,
            lines,
            next_id: 1,
        }
    }

    async fn send(&mut self, message: Value) {
        let mut line = message.to_string();
        line.push('\n');
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).await.unwrap();
        stdin.flush().await.unwrap();
    }

    /// Sends a request and returns its response's `result`, skipping notifications; every
    /// line on stdout must be JSON-RPC.
    async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            let line = self.lines.next_line().await.unwrap().expect("stdout ended");
            let message = parse(&line);
            assert_eq!(message["jsonrpc"], "2.0", "not JSON-RPC on stdout: {line}");
            if message["id"] == id {
                assert!(message["error"].is_null(), "{method} failed: {line}");
                return message["result"].clone();
            }
        }
    }
}

#[test]
fn micro_mcp_serve_speaks_mcp_on_stdio_and_http() {
    support::in_netns("micro_mcp_serve_speaks_mcp_on_stdio_and_http", async {
        let service = helloworld().await;
        let home = tempfile::tempdir().unwrap();
        let home = home.path();

        // stdio: initialize, list until mDNS has found helloworld, call.
        let mut client = StdioClient::start(home);
        let initialized = client
            .request(
                "initialize",
                json!({
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "micro-cli-test", "version": "1"},
                }),
            )
            .await;
        assert_eq!(initialized["protocolVersion"], "2025-06-18");
        assert!(
            initialized["capabilities"]["tools"].is_object(),
            "{initialized}"
        );
        client
            .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let tool = loop {
            let listed = client.request("tools/list", json!({})).await;
            let tools = listed["tools"].as_array().unwrap();
            if let Some(tool) = tools.iter().find(|t| t["name"] == CALL) {
                break tool.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "helloworld never showed up: {listed}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(tool["description"], "Greets a person by name.");
        let called = client
            .request(
                "tools/call",
                json!({"name": CALL, "arguments": {"name": "Alice"}}),
            )
            .await;
        assert_eq!(called["isError"], false, "{called}");
        assert_eq!(
            parse(called["content"][0]["text"].as_str().unwrap()),
            json!({"msg": "Hello Alice"})
        );
        let failed = client
            .request("tools/call", json!({"name": "helloworld.Helloworld.Fail"}))
            .await;
        assert_eq!(failed["isError"], true, "{failed}");
        // The server ends with its input.
        drop(client.child.stdin.take());
        let status = client.child.wait().await.unwrap();
        assert!(status.success(), "micro mcp serve exited with {status}");

        // stdio with auth on needs a token.
        let refused = micro(home, &["mcp", "serve", "--auth"])
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(1), "{stderr}");
        assert!(refused.stdout.is_empty(), "{refused:?}");
        assert!(stderr.contains("MICRO_TOKEN"), "{stderr}");

        // HTTP: the REST surface, with the rate limit, the circuit breaker and the audit log.
        let audit = home.join("audit").join("mcp.jsonl");
        let (child, address) = serving(
            home,
            &[
                "mcp",
                "serve",
                "--address",
                "127.0.0.1:0",
                "--audit",
                audit.to_str().unwrap(),
                "--rate-limit",
                "0.001",
                "--rate-burst",
                "2",
                "--circuit-breaker",
                "1",
                "--circuit-breaker-timeout",
                "600",
            ],
            "MCP",
        )
        .await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (status, _, body) = http(&address, "GET", "/mcp/tools", "", "").await;
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
        for body in [
            json!({"name": CALL, "arguments": {"name": "Alice"}}),
            json!({"tool": CALL, "input": {"name": "Alice"}}),
        ] {
            let (status, _, answer) =
                http(&address, "POST", "/mcp/call", "", &body.to_string()).await;
            assert_eq!(status, 200, "{answer}");
            assert_eq!(parse(&answer)["result"], json!({"msg": "Hello Alice"}));
        }
        let (status, head, answer) = http(
            &address,
            "POST",
            "/mcp/call",
            "",
            &json!({"name": CALL, "arguments": {"name": "Alice"}}).to_string(),
        )
        .await;
        assert_eq!(status, 429, "the third call is over the burst: {answer}");
        assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
        // One failure opens Fail's circuit; Call's stays closed.
        let fail = json!({"name": "helloworld.Helloworld.Fail"}).to_string();
        let (status, _, answer) = http(&address, "POST", "/mcp/call", "", &fail).await;
        assert_eq!(status, 500, "{answer}");
        assert_eq!(parse(&answer)["error"], "no greeting today");
        let (status, head, answer) = http(&address, "POST", "/mcp/call", "", &fail).await;
        assert_eq!(status, 503, "the circuit is open: {answer}");
        assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
        stop(child).await;
        let records: Vec<Value> = std::fs::read_to_string(&audit)
            .unwrap()
            .lines()
            .map(parse)
            .collect();
        let outcomes: Vec<(&Value, &Value)> = records
            .iter()
            .map(|r| (&r["tool"], &r["outcome"]))
            .collect();
        assert_eq!(
            outcomes,
            [
                (&json!(CALL), &json!("ok")),
                (&json!(CALL), &json!("ok")),
                (&json!(CALL), &json!("rate_limited")),
                (&json!("helloworld.Helloworld.Fail"), &json!("error")),
                (&json!("helloworld.Helloworld.Fail"), &json!("circuit_open")),
            ]
        );

        // HTTP with auth on: no token, no tools.
        let (child, address) = serving(
            home,
            &["mcp", "serve", "--address", "127.0.0.1:0", "--auth"],
            "MCP",
        )
        .await;
        let (status, _, body) = http(&address, "GET", "/mcp/tools", "", "").await;
        assert_eq!(status, 401, "{body}");
        stop(child).await;

        // HTTP answering to another host name besides loopback: a page on any other origin is
        // refused, one on the allowed name passes.
        let (child, address) = serving(
            home,
            &[
                "mcp",
                "serve",
                "--address",
                "127.0.0.1:0",
                "--allowed-host",
                "mcp.example",
            ],
            "MCP",
        )
        .await;
        let evil = "Origin: http://evil.example\r\n";
        let (status, _, body) = http(&address, "GET", "/mcp/tools", evil, "").await;
        assert_eq!(status, 403, "{body}");
        let allowed = "Origin: http://mcp.example\r\n";
        let (status, _, body) = http(&address, "GET", "/mcp/tools", allowed, "").await;
        assert_eq!(status, 200, "{body}");
        stop(child).await;

        service.stop().await.unwrap();
    });
}

#[test]
fn micro_server_serves_mcp_behind_its_auth() {
    support::in_netns("micro_server_serves_mcp_behind_its_auth", async {
        let service = helloworld().await;
        let home = tempfile::tempdir().unwrap();
        let (child, address) = serving(
            home.path(),
            &["server", "--address", "127.0.0.1:0"],
            "Dashboard",
        )
        .await;
        let call = json!({"name": CALL, "arguments": {"name": "Alice"}}).to_string();
        let (status, _, body) = http(&address, "POST", "/mcp/call", "", &call).await;
        assert_eq!(status, 401, "{body}");

        let bearer = admin_bearer(&address).await;
        let answer = post_until_ok(&address, "/mcp/call", &bearer, &call).await;
        assert_eq!(parse(&answer)["result"], json!({"msg": "Hello Alice"}));
        let (status, _, body) = http(&address, "GET", "/mcp/tools", &bearer, "").await;
        assert_eq!(status, 200, "{body}");
        assert!(
            parse(&body)["tools"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["name"] == "micro_store_write"),
            "an administrator sees the framework tools: {body}"
        );
        stop(child).await;
        service.stop().await.unwrap();
    });
}

#[test]
fn micro_server_and_mcp_serve_with_auth_share_the_default_store() {
    support::in_netns(
        "micro_server_and_mcp_serve_with_auth_share_the_default_store",
        async {
            let home = tempfile::tempdir().unwrap();
            let home = home.path();
            let (server, gateway) =
                serving(home, &["server", "--address", "127.0.0.1:0"], "Dashboard").await;
            // Both keep accounts and tokens in the auth table of ~/micro/store, and records in
            // its default table.
            let (mcp, address) = serving(
                home,
                &["mcp", "serve", "--address", "127.0.0.1:0", "--auth"],
                "MCP",
            )
            .await;
            let bearer = admin_bearer(&gateway).await;
            let write = json!({
                "name": "micro_store_write",
                "arguments": {"key": "greeting", "value": "from mcp"}
            });
            post_until_ok(&address, "/mcp/call", &bearer, &write.to_string()).await;
            let (status, _, body) =
                http(&gateway, "GET", "/micro/store/greeting", &bearer, "").await;
            assert_eq!((status, body.as_str()), (200, "from mcp"));

            let (status, _, body) = http(
                &gateway,
                "POST",
                "/micro/store/reply",
                &bearer,
                "from the server",
            )
            .await;
            assert_eq!(status, 200, "{body}");
            let read = json!({"name": "micro_store_read", "arguments": {"key": "reply"}});
            let answer = post_until_ok(&address, "/mcp/call", &bearer, &read.to_string()).await;
            assert_eq!(parse(&answer)["result"]["value"], "from the server");
            stop(mcp).await;
            stop(server).await;
        },
    );
}

/// Node 22 and the Python venv with the SDKs, when installed.
fn sdk_clients() -> Option<(PathBuf, PathBuf)> {
    let needed = [
        NODE,
        ".venv/bin/python",
        "node_modules/@modelcontextprotocol/sdk",
    ];
    let dir = tests_mcp(&needed, "the MCP SDK clients")?;
    Some((dir.join(NODE), dir.join(".venv/bin/python")))
}

/// Runs one SDK client script and checks it passed every check.
async fn run_client(home: &Path, program: &Path, script: &str, args: &[&str]) {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/mcp");
    let mut command = Command::new(program);
    command
        .arg(dir.join(script))
        .args(args)
        .env("HOME", home)
        .env("MICRO_REGISTRY", "mdns")
        .env("MICRO_BROKER_ADDRESS", "127.0.0.1:0")
        .env_remove("MICRO_STORE")
        .env_remove("MICRO_STORE_ADDRESS");
    let text = run_to_success(&mut command, &format!("{script} {args:?}")).await;
    assert!(text.contains(" passed, 0 failed"), "{text}");
}

#[test]
fn the_official_typescript_and_python_sdks_list_and_call_over_stdio_and_http() {
    let Some((node, python)) = sdk_clients() else {
        return;
    };
    support::in_netns(
        "the_official_typescript_and_python_sdks_list_and_call_over_stdio_and_http",
        async move {
            let _service = helloworld().await;
            let home = tempfile::tempdir().unwrap();
            let home = home.path();
            tools_once_found(home, CALL).await;
            let micro = env!("CARGO_BIN_EXE_micro");
            run_client(home, &node, "ts_client.mjs", &["stdio", micro]).await;
            run_client(home, &python, "py_client.py", &["stdio", micro]).await;

            let (server, address) =
                serving(home, &["mcp", "serve", "--address", "127.0.0.1:0"], "MCP ").await;
            let url = format!("http://{address}/mcp");
            run_client(home, &node, "ts_client.mjs", &["http", &url]).await;
            run_client(home, &python, "py_client.py", &["http", &url]).await;
            stop(server).await;
        },
    );
}
