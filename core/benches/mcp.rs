//! MCP speed: `tools/list` over 1,000 endpoints (50 services of 20, each publishing a JSON
//! Schema and an example, as libmicro services do) must take under 5 ms. The catalogue is
//! built once per registry or scope change and shared until the next: `tools_list` is the
//! usual call, `tools_list_rebuilt` the first one after a change (a fresh catalogue and
//! registry cache).

use criterion::{Criterion, criterion_group, criterion_main};
use micro::mcp::Mcp;
use micro::registry::{Endpoint, Memory, Node, Registry, Service};
use micro::{broker, store};
use std::hint::black_box;
use std::sync::Arc;

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
    c.bench_function("mcp/tools_list_1000_endpoints_rebuilt", |b| {
        b.iter(|| rt.block_on(async { black_box(fresh().tools().await.unwrap()) }))
    });
}

criterion_group!(benches, tools_list);
criterion_main!(benches);
