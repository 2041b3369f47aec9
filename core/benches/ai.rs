//! The engine's own cost per tool round, which must stay under 1 ms: a model asks for one tool,
//! the tool runs, the model answers, against a provider on loopback that answers at once (so
//! all that is measured is ours: two HTTP exchanges with the provider, its streamed answers
//! parsed, the tool call and the loop). `closure` runs the tool in the program; `service`
//! calls a real service on loopback through the MCP catalogue.

#[path = "../tests/support/provider.rs"]
mod provider;

use criterion::{Criterion, criterion_group, criterion_main};
use micro::ai::{Agent, Model, Request, Settings, ToolCall, ToolSpec, Tools};
use micro::mcp::{Caller, Mcp, Naming};
use micro::registry::{Memory, Registry};
use micro::{broker, store};
use provider::{Provider, Reply};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rounds(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (server, model, _service, registry_tools) = rt.block_on(async {
        let server = Provider::start("openai").await;
        let model = Model::new(&Settings {
            provider: "openai".into(),
            api_key: "sk-bench".into(),
            base_url: server.url.clone(),
            ..Settings::default()
        })
        .unwrap();
        let registry: Arc<dyn Registry> = Arc::new(Memory::new());
        let service = micro::Service::new("greeter")
            .registry(registry.clone())
            .address("127.0.0.1:0")
            .handle("Greeter.Hello", |_ctx, req: Value| async move {
                Ok(json!({"msg": format!("Hello {}", req["name"].as_str().unwrap_or("you"))}))
            })
            .start()
            .await
            .unwrap();
        let mcp = Mcp::new(
            registry,
            Arc::new(store::Memory::new(store::Options::default())),
            Arc::new(broker::Memory::new()),
        )
        .naming(Naming::Safe);
        let tools = Tools::registry(Arc::new(mcp), Caller::new(None))
            .await
            .unwrap();
        (server, model, service, tools)
    });
    let closure_tools = Tools::new(
        vec![ToolSpec {
            name: "greeter_Greeter_Hello".into(),
            description: "Greets".into(),
            parameters: json!({"type": "object"}),
        }],
        Arc::new(|call: ToolCall| async move { Ok(json!({"msg": call.arguments["name"]})) }),
    );
    let mut group = c.benchmark_group("tool_round");
    for (name, tools) in [("closure", closure_tools), ("service", registry_tools)] {
        let agent = Agent::new(model.clone(), tools);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    server.reply(Reply::call(
                        "greeter_Greeter_Hello",
                        json!({"name": "Alice"}),
                    ));
                    server.reply(Reply::text("Said hello."));
                    let started = Instant::now();
                    let answer = rt
                        .block_on(agent.generate(Request::new("Greet Alice")))
                        .unwrap();
                    total += started.elapsed();
                    assert_eq!(answer.tool_calls.len(), 1);
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = rounds
}
criterion_main!(benches);
