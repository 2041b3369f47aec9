//! MCP speed: `tools/list` over 1,000 endpoints (50 services of 20, each publishing a JSON
//! Schema and an example, as libmicro services do) must take under 5 ms. The catalogue is
//! built once per registry or scope change and shared until the next: `tools_list` is the
//! usual call, `after_change` the first one after one service re-registers (its tools are
//! rebuilt, the others reused), `cold` the first one of a new gateway.

use criterion::{Criterion, criterion_group, criterion_main};
use micro::mcp::Mcp;
use micro::registry::{Endpoint, Memory, Node, Registry, Service};
use micro::{broker, store};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};

#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
struct Request {
    name: String,
    tags: Vec<String>,
    limit: Option<u32>,
}

fn service(index: usize) -> Service {
    let schema = micro::schema::of::<Request>().json.to_string();
    Service {
        name: format!("service{index}"),
        version: "latest".into(),
        endpoints: (0..20)
            .map(|e| Endpoint {
                name: format!("Handler.Method{e}"),
                metadata: [
                    ("request_schema".to_string(), schema.clone()),
                    ("description".to_string(), "Does one thing well".to_string()),
                    ("example".to_string(), r#"{"name":"Alice"}"#.to_string()),
                ]
                .into(),
                ..Default::default()
            })
            .collect(),
        nodes: vec![Node {
            id: format!("service{index}-1"),
            address: "127.0.0.1:9".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn tools_list(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let fresh = || {
        Mcp::new(
            registry.clone(),
            Arc::new(store::Memory::new(store::Options::default())),
            Arc::new(broker::Memory::new()),
        )
    };
    let mcp = rt.block_on(async {
        for i in 0..50 {
            registry.register(&service(i), None).await.unwrap();
        }
        let mcp = fresh();
        assert_eq!(mcp.tools().await.unwrap().len(), 1000 + 6);
        mcp
    });
    c.bench_function("mcp/tools_list_1000_endpoints", |b| {
        b.iter(|| rt.block_on(async { black_box(mcp.tools().await.unwrap()) }))
    });
    // One service re-registers with a new version (its record changes, the other 49 stay
    // shared in the registry cache): time the first listing after the change.
    let mut version = 0u64;
    c.bench_function("mcp/tools_list_1000_endpoints_after_change", |b| {
        b.iter_custom(|iterations| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    version += 1;
                    let mut changed = service(0);
                    changed.endpoints[0]
                        .metadata
                        .insert("description".into(), format!("v{version}"));
                    registry.register(&changed, None).await.unwrap();
                    // Let the cache's watch task see the change before timing the listing.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    let started = Instant::now();
                    let tools = mcp.tools().await.unwrap();
                    total += started.elapsed();
                    assert_eq!(
                        tools[0].description,
                        format!("v{version}"),
                        "the listing was rebuilt"
                    );
                }
                total
            })
        })
    });
    // The whole `tools/list` request as an MCP server answers it: the JSON-RPC request over a
    // pipe to `serve_io`, the tools turned into the protocol's and written back, read as the
    // line of text it is (a client's own parsing is not the server's time).
    let mut pipe = rt.block_on(async {
        let (server_end, client_end) = tokio::io::duplex(1 << 20);
        let (reader, writer) = tokio::io::split(server_end);
        tokio::spawn(micro::mcp::serve_io(Arc::new(fresh()), None, reader, writer));
        let mut pipe = BufReader::new(client_end);
        let initialize = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;
        exchange(&mut pipe, initialize).await;
        pipe.write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
            .await
            .unwrap();
        pipe
    });
    c.bench_function("mcp/tools_list_1000_endpoints_over_mcp", |b| {
        b.iter(|| {
            rt.block_on(async {
                let answer = exchange(
                    &mut pipe,
                    r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
                )
                .await;
                assert!(
                    answer.contains("service49.Handler.Method19"),
                    "{}",
                    &answer[..200.min(answer.len())]
                );
                black_box(answer)
            })
        })
    });
    c.bench_function("mcp/tools_list_1000_endpoints_cold", |b| {
        b.iter(|| rt.block_on(async { black_box(fresh().tools().await.unwrap()) }))
    });
}

/// Writes one JSON-RPC line to the MCP server and reads its answer line.
async fn exchange(pipe: &mut BufReader<DuplexStream>, request: &str) -> String {
    pipe.write_all(request.as_bytes()).await.unwrap();
    pipe.write_all(b"\n").await.unwrap();
    let mut answer = String::new();
    pipe.read_line(&mut answer).await.unwrap();
    answer
}

criterion_group!(benches, tools_list);
criterion_main!(benches);
