//! `micro mcp` as a user runs it: the real binary with the default mDNS registry, in front of
//! a real helloworld service, inside its own network namespace. Lists, calls, documents and
//! exports the tools.

#[path = "../../core/tests/support/mod.rs"]
mod support;

use micro::Error;
use micro::registry::{Mdns, MdnsOptions, Registry};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;
use tokio::process::Command;

const CALL: &str = "helloworld.Helloworld.Call";

/// Starts helloworld, registered over mDNS: `Call` documented with an example, `Fail`
/// always refusing.
async fn helloworld() -> micro::service::Running {
    let registry: Arc<dyn Registry> = Arc::new(Mdns::new(MdnsOptions::default()).unwrap());
    micro::Service::new("helloworld")
        .registry(registry)
        .address("127.0.0.1:0")
        .handle("Helloworld.Call", |_ctx, req: Value| async move {
            Ok(json!({ "msg": format!("Hello {}", req["name"].as_str().unwrap_or("")) }))
        })
        .describe(
            "Helloworld.Call",
            "Greets a person by name.",
            r#"{"name":"Alice"}"#,
        )
        .handle("Helloworld.Fail", |_ctx, _req: Value| async move {
            Err::<Value, _>(Error::bad_request("helloworld", "no greeting today"))
        })
        .start()
        .await
        .unwrap()
}

/// `micro mcp <args>` with HOME (and so the store) in `home`.
fn micro(home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_micro"));
    command
        .arg("mcp")
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

/// Runs `micro mcp <args>` to the end.
async fn output(home: &Path, args: &[&str]) -> Output {
    micro(home, args).output().await.unwrap()
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

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `micro mcp list --json` until helloworld's tools are in it (mDNS answers take a moment).
async fn tools_once_found(home: &Path) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let listed = parse(&stdout(home, &["list", "--json"]).await);
        let tools = listed["tools"].as_array().unwrap().clone();
        if tools.iter().any(|t| t["name"] == CALL) {
            return tools;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "helloworld never showed up: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
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
            let tools = tools_once_found(home).await;
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
