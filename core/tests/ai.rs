//! Models and the tool loop against a provider on loopback for each of the nine providers,
//! speaking that provider's wire format: the request's path, auth headers, system prompt and
//! tool encoding; text whole and streamed; a tool round trip; parallel tool calls; the step
//! limit and approval; and 401/429/500 with the provider's own error bodies.

#[path = "support/provider.rs"]
mod provider;

use futures::StreamExt;
use micro::ai::{Agent, Event, Model, PROVIDERS, Request, Settings, ToolCall, ToolSpec, Tools};
use micro::errors::Kind;
use provider::{INPUT_TOKENS, OUTPUT_TOKENS, Provider, Reply, Seen, Wire};
use serde_json::{Value as Json, json};
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "sk-test-5ecret-key";
const MODEL: &str = "test-model-1";

async fn start(name: &str) -> (Provider, Model) {
    let provider = Provider::start(name).await;
    let model = Model::new(&Settings {
        provider: name.into(),
        model: MODEL.into(),
        api_key: KEY.into(),
        base_url: provider.url.clone(),
    })
    .unwrap();
    (provider, model)
}

/// The request's path, auth and model, as the provider documents them.
fn assert_addressed(name: &str, seen: &Seen, stream: bool) {
    let wire = Wire::of(name);
    let path = match (wire, stream) {
        (Wire::OpenAi, _) => "/v1/chat/completions".to_string(),
        (Wire::Anthropic, _) => "/v1/messages".to_string(),
        (Wire::Gemini, false) => format!("/v1beta/models/{MODEL}:generateContent"),
        (Wire::Gemini, true) => format!("/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"),
        (Wire::Ollama, _) => "/api/chat".to_string(),
    };
    assert_eq!(seen.path, path, "{name}");
    match wire {
        Wire::OpenAi => assert_eq!(
            seen.header("authorization"),
            format!("Bearer {KEY}"),
            "{name}"
        ),
        Wire::Anthropic => {
            assert_eq!(seen.header("x-api-key"), KEY, "{name}");
            assert_eq!(seen.header("anthropic-version"), "2023-06-01", "{name}");
        }
        Wire::Gemini => assert_eq!(seen.header("x-goog-api-key"), KEY, "{name}"),
        Wire::Ollama => {}
    }
    if wire != Wire::Gemini {
        assert_eq!(seen.body["model"], MODEL, "{name}");
    }
}

/// The system prompt where the provider wants it.
fn system_of(wire: Wire, body: &Json) -> String {
    let text = match wire {
        Wire::OpenAi | Wire::Ollama => &body["messages"][0]["content"],
        Wire::Anthropic => &body["system"],
        Wire::Gemini => &body["systemInstruction"]["parts"][0]["text"],
    };
    match text {
        Json::String(s) => s.clone(),
        Json::Array(blocks) => blocks.iter().filter_map(|b| b["text"].as_str()).collect(),
        other => other.to_string(),
    }
}

/// The tools offered, as (name, description, schema), where the provider wants them.
fn tools_of(wire: Wire, body: &Json) -> Vec<(String, String, Json)> {
    let list = |v: &Json| v.as_array().cloned().unwrap_or_default();
    match wire {
        Wire::OpenAi | Wire::Ollama => list(&body["tools"])
            .iter()
            .map(|t| {
                assert_eq!(t["type"], "function");
                let f = &t["function"];
                (
                    f["name"].as_str().unwrap().into(),
                    f["description"].as_str().unwrap().into(),
                    f["parameters"].clone(),
                )
            })
            .collect(),
        Wire::Anthropic => list(&body["tools"])
            .iter()
            .map(|t| {
                (
                    t["name"].as_str().unwrap().into(),
                    t["description"].as_str().unwrap().into(),
                    t["input_schema"].clone(),
                )
            })
            .collect(),
        Wire::Gemini => list(&body["tools"][0]["functionDeclarations"])
            .iter()
            .map(|t| {
                (
                    t["name"].as_str().unwrap().into(),
                    t["description"].as_str().unwrap().into(),
                    t["parametersJsonSchema"].clone(),
                )
            })
            .collect(),
    }
}

/// The tool result the request carries back to the model: the call it answers (an id, or
/// Gemini's function name) and the content.
fn tool_result_of(wire: Wire, body: &Json) -> (String, Json) {
    let parse = |v: &Json| match v {
        Json::String(s) => serde_json::from_str(s).unwrap_or(Json::String(s.clone())),
        other => other.clone(),
    };
    match wire {
        Wire::OpenAi | Wire::Ollama => {
            let m = body["messages"]
                .as_array()
                .unwrap()
                .iter()
                .rfind(|m| m["role"] == "tool")
                .expect("a tool message");
            (
                m["tool_call_id"].as_str().unwrap_or_default().into(),
                parse(&m["content"]),
            )
        }
        Wire::Anthropic => {
            let m = body["messages"].as_array().unwrap().last().unwrap();
            assert_eq!(m["role"], "user");
            let block = m["content"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["type"] == "tool_result")
                .expect("a tool_result");
            let content = match &block["content"] {
                Json::Array(parts) => {
                    Json::String(parts.iter().filter_map(|p| p["text"].as_str()).collect())
                }
                other => other.clone(),
            };
            (
                block["tool_use_id"].as_str().unwrap().into(),
                parse(&content),
            )
        }
        Wire::Gemini => {
            let part = body["contents"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|c| c["parts"].as_array().cloned().unwrap_or_default())
                .find(|p| p.get("functionResponse").is_some())
                .expect("a functionResponse");
            let response = &part["functionResponse"];
            let content = response["response"]
                .get("content")
                .cloned()
                .unwrap_or(response["response"].clone());
            (response["name"].as_str().unwrap().into(), parse(&content))
        }
    }
}

#[tokio::test]
async fn each_provider_answers_whole() {
    for provider in PROVIDERS {
        let (server, model) = start(provider.name).await;
        server.reply(Reply::text("Hello from the model."));
        let answer = model
            .generate(&Request::new("Say hello").system("Be brief."))
            .await
            .unwrap();
        assert_eq!(answer.text, "Hello from the model.", "{}", provider.name);
        assert_eq!(
            (answer.usage.input_tokens, answer.usage.output_tokens),
            (INPUT_TOKENS, OUTPUT_TOKENS),
            "{}",
            provider.name
        );
        let seen = &server.seen()[0];
        assert_addressed(provider.name, seen, false);
        assert_eq!(
            system_of(server.wire, &seen.body),
            "Be brief.",
            "{}",
            provider.name
        );
        assert!(
            seen.body.to_string().contains("Say hello"),
            "{}",
            provider.name
        );
    }
}

#[tokio::test]
async fn each_provider_streams() {
    for provider in PROVIDERS {
        let (server, model) = start(provider.name).await;
        server.reply(Reply::text("One two three four five."));
        let mut events = model.stream(&Request::new("Count")).await.unwrap();
        let mut pieces = Vec::new();
        let mut done = None;
        while let Some(event) = events.next().await {
            match event.unwrap() {
                Event::Text { text } => pieces.push(text),
                Event::Done { response } => done = Some(response),
                other => panic!("{}: unexpected {other:?}", provider.name),
            }
        }
        assert!(
            pieces.len() > 1,
            "{}: the text came in one piece: {pieces:?}",
            provider.name
        );
        assert_eq!(
            pieces.concat(),
            "One two three four five.",
            "{}",
            provider.name
        );
        let done = done.expect("a Done event");
        assert_eq!(done.text, "One two three four five.", "{}", provider.name);
        assert_eq!(done.usage.output_tokens, OUTPUT_TOKENS, "{}", provider.name);
        assert_addressed(provider.name, &server.seen()[0], true);
    }
}

fn adder() -> Tools {
    let spec = ToolSpec {
        name: "calc_Calc_Add".into(),
        description: "Adds a and b.".into(),
        parameters: json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}),
    };
    Tools::new(
        vec![spec],
        Arc::new(|call: ToolCall| async move {
            let (a, b) = (
                call.arguments["a"].as_i64().unwrap_or(0),
                call.arguments["b"].as_i64().unwrap_or(0),
            );
            Ok(json!({"sum": a + b}))
        }),
    )
}

#[tokio::test]
async fn each_provider_round_trips_a_tool() {
    for provider in PROVIDERS {
        let (server, model) = start(provider.name).await;
        server.reply(Reply::call("calc_Calc_Add", json!({"a": 2, "b": 3})));
        server.reply(Reply::text("The sum is 5."));
        let mut events = Agent::new(model, adder()).stream(Request::new("What is 2+3?"));
        let mut seen_events = Vec::new();
        while let Some(event) = events.next().await {
            seen_events.push(event.unwrap());
        }
        let name = provider.name;
        assert!(
            matches!(&seen_events[0], Event::ToolCall { call } if call.name == "calc_Calc_Add" && call.arguments == json!({"a": 2, "b": 3})),
            "{name}: {seen_events:?}"
        );
        assert!(
            matches!(&seen_events[1], Event::ToolResult { call } if call.result == Some(json!({"sum": 5}))),
            "{name}: {seen_events:?}"
        );
        let Some(Event::Done { response }) = seen_events.last() else {
            panic!("{name}: no Done")
        };
        assert_eq!(response.text, "The sum is 5.", "{name}");
        assert_eq!(response.tool_calls.len(), 1, "{name}");
        assert_eq!(response.usage.output_tokens, 2 * OUTPUT_TOKENS, "{name}");
        // user, assistant asking for the tool, the tool's result, the answer
        assert_eq!(
            response.messages.len(),
            4,
            "{name}: {:?}",
            response.messages
        );

        let seen = server.seen();
        assert_eq!(seen.len(), 2, "{name}");
        let offered = tools_of(server.wire, &seen[0].body);
        assert_eq!(offered.len(), 1, "{name}");
        assert_eq!(
            (offered[0].0.as_str(), offered[0].1.as_str()),
            ("calc_Calc_Add", "Adds a and b."),
            "{name}"
        );
        assert_eq!(offered[0].2["properties"]["a"]["type"], "integer", "{name}");
        let (answers, content) = tool_result_of(server.wire, &seen[1].body);
        let expected = match server.wire {
            Wire::OpenAi => "call_0",
            Wire::Anthropic => "toolu_0",
            Wire::Gemini => "calc_Calc_Add",
            // Ollama gives calls no id: the engine names one, which the result carries back.
            Wire::Ollama => answers.as_str(),
        };
        assert_eq!(answers, expected, "{name}");
        assert_eq!(content, json!({"sum": 5}), "{name}");
        assert!(
            seen[1].body.to_string().contains("What is 2+3?"),
            "{name}: the prompt is kept"
        );
    }
}

#[tokio::test]
async fn each_provider_error_says_what_went_wrong() {
    for provider in PROVIDERS {
        for (status, kind, says) in [
            (401, Kind::Unauthorized, "invalid api key"),
            (429, Kind::TooMany, "rate limit exceeded"),
            (500, Kind::Internal, "the server had an error"),
        ] {
            let (server, model) = start(provider.name).await;
            server.reply(Reply::status(status));
            let whole = model.generate(&Request::new("Hi")).await.unwrap_err();
            server.reply(Reply::status(status));
            let streamed = match model.stream(&Request::new("Hi")).await {
                Err(e) => e,
                Ok(mut events) => loop {
                    match events.next().await {
                        Some(Err(e)) => break e,
                        Some(Ok(_)) => continue,
                        None => panic!(
                            "{}: a {status} stream ended without an error",
                            provider.name
                        ),
                    }
                },
            };
            for err in [whole, streamed] {
                assert_eq!(err.kind, kind, "{} {status}: {err}", provider.name);
                assert!(
                    err.detail.contains(says),
                    "{} {status}: {}",
                    provider.name,
                    err.detail
                );
                assert!(
                    err.detail.contains(provider.name),
                    "{} {status}: {}",
                    provider.name,
                    err.detail
                );
                assert!(
                    !err.to_string().contains(KEY),
                    "{}: the key leaked",
                    provider.name
                );
            }
        }
    }
}

#[tokio::test]
async fn parallel_tool_calls_run_at_once() {
    let (server, model) = start("openai").await;
    server.reply(Reply::calls(&[
        ("slow_a", json!({})),
        ("slow_b", json!({})),
    ]));
    server.reply(Reply::text("Both done."));
    // Each call waits for the other to start: run one after the other, they never finish.
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let specs = ["slow_a", "slow_b"].map(|n| ToolSpec {
        name: n.into(),
        description: n.into(),
        parameters: json!({"type": "object"}),
    });
    let tools = Tools::new(
        specs.to_vec(),
        Arc::new(move |call: ToolCall| {
            let barrier = barrier.clone();
            async move {
                barrier.wait().await;
                Ok(json!({"done": call.name}))
            }
        }),
    );
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        Agent::new(model, tools).generate(Request::new("Do both")),
    )
    .await
    .expect("the two calls ran one after the other")
    .unwrap();
    assert_eq!(answer.text, "Both done.");
    let results: Vec<_> = answer
        .tool_calls
        .iter()
        .map(|c| c.result.clone().unwrap())
        .collect();
    assert_eq!(
        results,
        [json!({"done": "slow_a"}), json!({"done": "slow_b"})],
        "in the order asked"
    );
}

#[tokio::test]
async fn the_step_limit_stops_a_model_that_never_answers() {
    let (server, model) = start("anthropic").await;
    server.always(Reply::call("calc_Calc_Add", json!({"a": 1, "b": 1})));
    let err = Agent::new(model, adder())
        .max_steps(3)
        .generate(Request::new("Loop"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, Kind::BadRequest);
    assert!(err.detail.contains("3 times"), "{}", err.detail);
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn a_refused_or_unknown_tool_is_told_to_the_model() {
    let (server, model) = start("openai").await;
    server.reply(Reply::calls(&[
        ("calc_Calc_Add", json!({"a": 1, "b": 2})),
        ("rm_rf", json!({})),
    ]));
    server.reply(Reply::text("I could not."));
    let agent =
        Agent::new(model, adder()).approve(Arc::new(|_call: ToolCall| Box::pin(async { false })));
    let answer = agent
        .generate(Request::new("Add and delete"))
        .await
        .unwrap();
    assert_eq!(
        answer.tool_calls[0].error.as_deref(),
        Some("the user did not allow this call")
    );
    assert!(
        answer.tool_calls[0].result.is_none(),
        "a refused call does not run"
    );
    let body = &server.seen()[1].body;
    let told: Vec<_> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect();
    assert!(told[0].contains("did not allow"), "{told:?}");

    // Approved, the tool that is not offered still does not run.
    let (server, model) = start("openai").await;
    server.reply(Reply::call("rm_rf", json!({})));
    server.reply(Reply::text("No such tool."));
    let answer = Agent::new(model, adder())
        .generate(Request::new("Delete"))
        .await
        .unwrap();
    assert!(
        answer.tool_calls[0]
            .error
            .as_deref()
            .unwrap()
            .contains("there is no tool \"rm_rf\"")
    );
}

#[tokio::test]
async fn settings_say_what_is_missing() {
    let err = Model::new(&Settings {
        provider: "nope".into(),
        ..Settings::default()
    })
    .unwrap_err();
    assert!(
        err.detail.contains("unknown AI provider \"nope\""),
        "{}",
        err.detail
    );
    let err = Model::new(&Settings {
        provider: "mistral".into(),
        ..Settings::default()
    })
    .unwrap_err();
    assert!(err.detail.contains("MISTRAL_API_KEY"), "{}", err.detail);
    // Ollama runs locally without a key.
    assert!(
        Model::new(&Settings {
            provider: "ollama".into(),
            ..Settings::default()
        })
        .is_ok()
    );
}

#[tokio::test]
async fn an_unreachable_provider_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let model = Model::new(&Settings {
        provider: "groq".into(),
        api_key: KEY.into(),
        base_url: url.clone(),
        ..Settings::default()
    })
    .unwrap();
    let err = model.generate(&Request::new("Hi")).await.unwrap_err();
    assert_eq!(err.kind, Kind::Unavailable);
    assert!(
        err.detail.contains(&url) && err.detail.contains("MICRO_AI_BASE_URL"),
        "{}",
        err.detail
    );
}

/// A real service on loopback behind the MCP catalogue with auth: `Greeter.Hello` needs the
/// scope `greet`, `Greeter.Admin` the scope `admin`. Each call's account is sent on the
/// channel.
async fn greeter() -> (
    Arc<micro::mcp::Mcp>,
    micro::service::Running,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    use micro::registry::{Memory, Registry};
    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let store: Arc<dyn micro::store::Store> =
        Arc::new(micro::store::Memory::new(micro::store::Options::default()));
    let (tell, accounts) = tokio::sync::mpsc::unbounded_channel();
    let service =
        micro::Service::new("greeter")
            .registry(registry.clone())
            .address("127.0.0.1:0")
            .handle("Greeter.Hello", move |ctx, req: Json| {
                let _ = tell.send(
                    ctx.metadata
                        .get("Mcp-Account-Id")
                        .cloned()
                        .unwrap_or_default(),
                );
                async move {
                    Ok(json!({"msg": format!("Hello {}", req["name"].as_str().unwrap_or("you"))}))
                }
            })
            .handle("Greeter.Admin", |_ctx, _req: Json| async move {
                Ok(json!({"done": true}))
            })
            .start()
            .await
            .unwrap();
    let keys = tempfile::tempdir().unwrap();
    let auth = Arc::new(
        micro::auth::Auth::open(store.clone(), keys.path())
            .await
            .unwrap(),
    );
    auth.set_scopes("greeter", "Greeter.Hello", &["greet".into()])
        .await
        .unwrap();
    auth.set_scopes("greeter", "Greeter.Admin", &["admin".into()])
        .await
        .unwrap();
    let mcp = micro::mcp::Mcp::new(registry, store, Arc::new(micro::broker::Memory::new()))
        .naming(micro::mcp::Naming::Safe)
        .auth(auth);
    (Arc::new(mcp), service, accounts)
}

fn caller(account: &str, scopes: &[&str]) -> micro::mcp::Caller {
    micro::mcp::Caller::new(Some(micro::auth::Claims {
        sub: account.into(),
        kind: "user".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        exp: u64::MAX,
        iat: 0,
        nbf: 0,
        jti: "test".into(),
    }))
}

#[tokio::test]
async fn registry_tools_are_the_callers_and_run_as_the_caller() {
    let (mcp, _service, mut accounts) = greeter().await;
    let alice = Tools::registry(mcp.clone(), caller("alice", &["greet"]))
        .await
        .unwrap();
    let names: Vec<_> = alice.specs().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["greeter_Greeter_Hello"],
        "only the tools alice may call, no framework tools"
    );

    let (server, model) = start("openai").await;
    server.reply(Reply::calls(&[
        ("greeter_Greeter_Hello", json!({"name": "Alice"})),
        ("greeter_Greeter_Admin", json!({})),
    ]));
    server.reply(Reply::text("Greeted."));
    let answer = Agent::new(model, alice)
        .generate(Request::new("Greet me"))
        .await
        .unwrap();
    assert_eq!(
        answer.tool_calls[0].result,
        Some(json!({"msg": "Hello Alice"}))
    );
    assert_eq!(
        accounts.recv().await.unwrap(),
        "alice",
        "the call carries the caller's account"
    );
    let refused = answer.tool_calls[1].error.as_deref().unwrap();
    assert!(
        refused.contains("there is no tool \"greeter_Greeter_Admin\""),
        "{refused}"
    );
    assert!(
        accounts.try_recv().is_err(),
        "the admin endpoint was never called"
    );

    // A caller whose scopes change between listing and calling is refused by the catalogue.
    let (mcp, _service, _accounts) = greeter().await;
    let listed = Tools::registry(mcp.clone(), caller("bob", &["greet", "admin"]))
        .await
        .unwrap();
    let tools = Tools::new(
        listed.specs().to_vec(),
        Arc::new(move |call: ToolCall| {
            let mcp = mcp.clone();
            async move {
                mcp.call(&caller("bob", &["greet"]), &call.name, call.arguments)
                    .await
                    .map_err(|e| e.message())
            }
        }),
    );
    let outcome = tools
        .call(&ToolCall {
            id: "1".into(),
            name: "greeter_Greeter_Admin".into(),
            arguments: json!({}),
            result: None,
            error: None,
        })
        .await
        .unwrap_err();
    assert!(outcome.contains("insufficient scopes"), "{outcome}");
}
