//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, server side)
//! against `micro mcp serve --address`, in its own network namespace, with a fixture service
//! on mDNS whose endpoints are the tools the suite calls (named with `mcp_name`, answering
//! MCP content with `mcp_result=content`). Every scenario runs (`--suite all`: active and
//! pending), and `tests/mcp/conformance.sh` holds the run to
//! `tests/mcp/conformance-baseline.txt`: every scenario passes but those listed there.

#[allow(dead_code)]
mod common;
#[path = "../../core/tests/support/mod.rs"]
mod support;

use common::{NODE, micro, run_to_success, tests_mcp, tools_once_found};
use micro::Error;
use micro::registry::{Mdns, MdnsOptions, Registry};
use micro::server::Context;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::future::Ready;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// A 1x1 PNG, one red pixel.
const PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
/// An 8-bit mono 8000 Hz WAV of one sample.
const WAV: &str = "UklGRiUAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQEAAACA";

/// The request of the tools that take no arguments.
#[derive(Deserialize, JsonSchema)]
struct Empty {}

/// The request of `json_schema_2020_12_tool`: its schema has `$schema` 2020-12, `$defs.address`
/// and `additionalProperties: false`, which the suite looks for.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read by the schema, not by the handler
struct JsonSchemaRequest {
    name: Option<String>,
    address: Option<Address>,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(rename = "address")]
#[allow(dead_code)] // read by the schema, not by the handler
struct Address {
    street: Option<String>,
    city: Option<String>,
}

/// A handler that always answers `value`.
fn answer(value: Value) -> impl Fn(Context, Empty) -> Ready<micro::Result<Value>> + Send + Sync {
    move |_ctx, _req| std::future::ready(Ok(value.clone()))
}

/// The fixture service `conformance`, registered over mDNS: each endpoint is one tool the
/// suite calls, by the suite's name.
async fn fixture() -> micro::service::Running {
    let registry: Arc<dyn Registry> = Arc::new(Mdns::new(MdnsOptions::default()).unwrap());
    let image = json!({"type": "image", "data": PNG, "mimeType": "image/png"});
    // (endpoint, tool name, description, response, whether the response is MCP content)
    let unary = [
        (
            "Conformance.SimpleText",
            "test_simple_text",
            "Answers a simple text.",
            json!({"text": "This is a simple text response for testing."}),
            false,
        ),
        (
            "Conformance.Image",
            "test_image_content",
            "Answers an image.",
            json!({"content": [image]}),
            true,
        ),
        (
            "Conformance.Audio",
            "test_audio_content",
            "Answers an audio clip.",
            json!({"content": [{"type": "audio", "data": WAV, "mimeType": "audio/wav"}]}),
            true,
        ),
        (
            "Conformance.EmbeddedResource",
            "test_embedded_resource",
            "Answers an embedded resource.",
            json!({"content": [{"type": "resource", "resource": {
                "uri": "test://embedded-resource",
                "mimeType": "text/plain",
                "text": "This is an embedded resource content.",
            }}]}),
            true,
        ),
        (
            "Conformance.MixedContent",
            "test_multiple_content_types",
            "Answers text, an image and a resource.",
            json!({"content": [
                {"type": "text", "text": "Multiple content types test:"},
                image,
                {"type": "resource", "resource": {
                    "uri": "test://mixed-content-resource",
                    "mimeType": "application/json",
                    "text": "{\"test\":\"data\",\"value\":123}",
                }},
            ]}),
            true,
        ),
    ];
    let mut service = micro::Service::new("conformance")
        .registry(registry)
        .address("127.0.0.1:0");
    for (endpoint, name, description, response, content) in unary {
        service = service
            .handle(endpoint, answer(response))
            .describe(endpoint, description, "{}")
            .endpoint_metadata(endpoint, "mcp_name", name);
        if content {
            service = service.endpoint_metadata(endpoint, "mcp_result", "content");
        }
    }
    service
        .handle("Conformance.Error", |_ctx, _req: Empty| async move {
            Err::<Value, _>(Error::internal(
                "conformance",
                "This tool intentionally returns an error for testing",
            ))
        })
        .describe("Conformance.Error", "Always fails.", "{}")
        .endpoint_metadata("Conformance.Error", "mcp_name", "test_error_handling")
        .handle("Conformance.JsonSchema", |_ctx, _req: JsonSchemaRequest| {
            std::future::ready(Ok(json!({"ok": true})))
        })
        .describe(
            "Conformance.JsonSchema",
            "Takes arguments described by a JSON Schema 2020-12 document.",
            "{}",
        )
        .endpoint_metadata(
            "Conformance.JsonSchema",
            "mcp_name",
            "json_schema_2020_12_tool",
        )
        .start()
        .await
        .unwrap()
}

/// tests/mcp, when Node 22 and the conformance suite are installed there.
fn suite() -> Option<PathBuf> {
    tests_mcp(
        &[NODE, "node_modules/@modelcontextprotocol/conformance"],
        "the MCP conformance suite",
    )
}

#[test]
fn the_official_conformance_suite_passes_but_for_its_baseline() {
    let Some(dir) = suite() else {
        return;
    };
    support::in_netns(
        "the_official_conformance_suite_passes_but_for_its_baseline",
        async move {
            let _service = fixture().await;
            let home = tempfile::tempdir().unwrap();
            let home = home.path();
            tools_once_found(home, "test_simple_text").await;

            let mut server = micro(home, &["mcp", "serve", "--address", "127.0.0.1:0"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
            let url = loop {
                let line = lines
                    .next_line()
                    .await
                    .unwrap()
                    .expect("micro mcp serve exited before it printed its URL");
                if let Some(url) = line.trim().strip_prefix("MCP") {
                    break url.trim().to_string();
                }
            };
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

            let results = tempfile::tempdir().unwrap();
            let mut command = Command::new("bash");
            command
                .arg(dir.join("conformance.sh"))
                .arg(&url)
                .args(["--suite", "all"])
                .env("CONFORMANCE_RESULTS", results.path());
            let text = run_to_success(&mut command, &format!("conformance.sh {url}")).await;
            assert!(text.contains("tools-call-simple-text"), "{text}");
            server.kill().await.unwrap();
        },
    );
}
