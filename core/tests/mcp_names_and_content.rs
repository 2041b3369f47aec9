//! What a service can say about its MCP tools through endpoint metadata: `mcp_name` names a
//! tool exactly (refused when unsafe or taken), and `mcp_result=content` makes the service's
//! response the tool result itself, checked. Also `logging/setLevel`. Over rmcp's client on a
//! pipe, in front of a real service on loopback found through a memory registry.

use micro::broker::{self, Broker};
use micro::mcp::{self, Mcp};
use micro::registry::{Memory, Registry};
use micro::server::Context;
use micro::store::{self, Store};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock};
use rmcp::service::{RoleClient, RunningService};
use serde_json::{Value, json};
use std::future::Ready;
use std::sync::Arc;

/// A handler that always answers `value`.
fn answer(value: Value) -> impl Fn(Context, Value) -> Ready<micro::Result<Value>> + Send + Sync {
    move |_ctx, _req| std::future::ready(Ok(value.clone()))
}

/// A service whose endpoints choose names and answer content.
async fn service(registry: &Arc<dyn Registry>) -> micro::service::Running {
    let image =
        json!({"content": [{"type": "image", "data": "iVBORw0K", "mimeType": "image/png"}]});
    micro::Service::new("fixture")
        .registry(registry.clone())
        .address("127.0.0.1:0")
        .handle("Fixture.Text", answer(json!({"text": "plain"})))
        .endpoint_metadata("Fixture.Text", "mcp_name", "simple_text")
        .handle("Fixture.Image", answer(image))
        .endpoint_metadata("Fixture.Image", "mcp_name", "image")
        .endpoint_metadata("Fixture.Image", "mcp_result", "content")
        .handle(
            "Fixture.Failed",
            answer(json!({"content": [{"type": "text", "text": "no"}], "isError": true})),
        )
        .endpoint_metadata("Fixture.Failed", "mcp_result", "content")
        .handle("Fixture.NoContent", answer(json!({"text": "plain"})))
        .endpoint_metadata("Fixture.NoContent", "mcp_result", "content")
        .handle(
            "Fixture.Video",
            answer(json!({"content": [{"type": "video"}]})),
        )
        .endpoint_metadata("Fixture.Video", "mcp_result", "content")
        // Refused names: unsafe, chosen twice, a framework tool's.
        .handle("Fixture.Dotted", answer(json!({})))
        .endpoint_metadata("Fixture.Dotted", "mcp_name", "has.dots")
        .handle("Fixture.TwinA", answer(json!({})))
        .endpoint_metadata("Fixture.TwinA", "mcp_name", "twin")
        .handle("Fixture.TwinB", answer(json!({})))
        .endpoint_metadata("Fixture.TwinB", "mcp_name", "twin")
        .handle("Fixture.Store", answer(json!({})))
        .endpoint_metadata("Fixture.Store", "mcp_name", "micro_store_list")
        .start()
        .await
        .unwrap()
}

/// An rmcp client on a pipe to `serve_io` over a catalogue of `registry`.
async fn client(registry: &Arc<dyn Registry>) -> RunningService<RoleClient, ()> {
    let store: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
    let broker: Arc<dyn Broker> = Arc::new(broker::Memory::new());
    let mcp = Arc::new(Mcp::new(registry.clone(), store, broker));
    let (server_end, client_end) = tokio::io::duplex(64 * 1024);
    let (reader, writer) = tokio::io::split(server_end);
    tokio::spawn(mcp::serve_io(mcp, None, reader, writer));
    ().serve(client_end).await.unwrap()
}

async fn call(client: &RunningService<RoleClient, ()>, name: &str) -> CallToolResult {
    client
        .call_tool(CallToolRequestParams::new(name.to_string()))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn text(result: &CallToolResult) -> String {
    match &result.content[..] {
        [ContentBlock::Text(text), ..] => text.text.clone(),
        other => panic!("no text first: {other:?}"),
    }
}

#[tokio::test]
async fn mcp_name_names_a_tool_unless_it_is_unsafe_or_taken() {
    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let _service = service(&registry).await;
    let client = client(&registry).await;
    let names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .filter(|n| !n.starts_with("micro_"))
        .collect();
    assert_eq!(
        names,
        [
            "fixture.Fixture.Dotted",
            "fixture.Fixture.Failed",
            "fixture.Fixture.NoContent",
            "fixture.Fixture.Store",
            "fixture.Fixture.TwinA",
            "fixture.Fixture.TwinB",
            "fixture.Fixture.Video",
            "image",
            "simple_text",
        ]
    );
    // A named tool calls its endpoint; the default result is the JSON as text and structure.
    let plain = call(&client, "simple_text").await;
    assert_eq!(plain.is_error, Some(false));
    assert_eq!(text(&plain), r#"{"text":"plain"}"#);
    assert_eq!(plain.structured_content, Some(json!({"text": "plain"})));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn mcp_result_content_passes_the_result_through_or_says_why_not() {
    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let _service = service(&registry).await;
    let client = client(&registry).await;
    let image = call(&client, "image").await;
    assert_ne!(image.is_error, Some(true));
    match &image.content[..] {
        [ContentBlock::Image(image)] => {
            assert_eq!(
                (image.data.as_str(), image.mime_type.as_str()),
                ("iVBORw0K", "image/png")
            )
        }
        other => panic!("not one image: {other:?}"),
    }
    assert_eq!(image.structured_content, None);

    let failed = call(&client, "fixture.Fixture.Failed").await;
    assert_eq!(failed.is_error, Some(true));
    assert_eq!(text(&failed), "no");

    for (tool, why) in [
        ("fixture.Fixture.NoContent", "no \"content\" array"),
        ("fixture.Fixture.Video", "not a valid MCP tool result"),
    ] {
        let refused = call(&client, tool).await;
        assert_eq!(refused.is_error, Some(true), "{tool}");
        assert!(text(&refused).contains(why), "{tool}: {}", text(&refused));
    }
    client.cancel().await.unwrap();
}

#[tokio::test]
#[allow(deprecated)] // logging is deprecated in rmcp (SEP-2577) but in the revisions spoken now
async fn logging_is_declared_and_set_level_is_answered() {
    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let client = client(&registry).await;
    let capabilities = &client.peer_info().unwrap().capabilities;
    assert!(capabilities.logging.is_some(), "{capabilities:?}");
    client
        .set_level(rmcp::model::SetLevelRequestParams::new(
            rmcp::model::LoggingLevel::Info,
        ))
        .await
        .unwrap();
    client.cancel().await.unwrap();
}
