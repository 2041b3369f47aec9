//! The MCP tool catalogue and its calls, in process over a memory registry and a real
//! service on loopback: names (dotted and safe), schemas, descriptions and examples, the
//! framework tools, scopes and their precedence, rate limits, the circuit breaker, audit
//! records and the metadata each call carries.

use micro::auth::{Auth, Claims};
use micro::broker::{self, Broker, SubscribeOptions};
use micro::mcp::control::Audit;
use micro::mcp::{CallError, Caller, Mcp, Naming};
use micro::registry::{Endpoint, Memory, Node, Registry, Service, Value};
use micro::store::{self, Store};
use micro::{Error, service};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Deserialize, JsonSchema)]
struct Request {
    name: String,
    /// Nested types stay nested in the tool's schema.
    #[serde(default)]
    address: Option<Address>,
}

#[derive(Deserialize, JsonSchema)]
struct Address {
    #[serde(default)]
    lines: Vec<String>,
}

#[derive(Serialize, JsonSchema)]
struct Reply {
    msg: String,
}

struct Setup {
    registry: Arc<dyn Registry>,
    store: Arc<dyn Store>,
    broker: Arc<dyn Broker>,
    /// The Mcp-* metadata helloworld saw on its last call.
    seen: mpsc::UnboundedReceiver<(String, String, String)>,
    /// How many times Helloworld.Fail has run.
    failures: Arc<AtomicU32>,
    _service: service::Running,
}

async fn setup(name: &str) -> Setup {
    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let store: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
    let broker: Arc<dyn Broker> = Arc::new(broker::Memory::new());
    let (tell, seen) = mpsc::unbounded_channel();
    let failures = Arc::new(AtomicU32::new(0));
    let counted = failures.clone();
    let service = micro::Service::new(name)
        .registry(registry.clone())
        .address("127.0.0.1:0")
        .handle("Helloworld.Call", move |ctx, req: Request| {
            let tell = tell.clone();
            async move {
                let header = |k: &str| ctx.metadata.get(k).cloned().unwrap_or_default();
                let _ = tell.send((
                    header("Mcp-Trace-Id"),
                    header("Mcp-Tool-Name"),
                    header("Mcp-Account-Id"),
                ));
                let lines = req.address.map(|a| a.lines.len()).unwrap_or(0);
                Ok(Reply {
                    msg: format!("Hello {}{}", req.name, ".".repeat(lines)),
                })
            }
        })
        .describe(
            "Helloworld.Call",
            "Greets a person by name",
            r#"{"name":"Alice"}"#,
        )
        .handle("Helloworld.Fail", move |_ctx, _req: Json| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Err::<Json, _>(Error::internal("helloworld", "down for maintenance"))
            }
        })
        .handle("Helloworld.Refuse", |_ctx, _req: Json| async move {
            Err::<Json, _>(Error::bad_request("helloworld", "no thanks"))
        })
        .scopes("Helloworld.Refuse", &["published"])
        .stream("Helloworld.Stream", |_ctx, _stream| async move { Ok(()) })
        .start()
        .await
        .unwrap();
    Setup {
        registry,
        store,
        broker,
        seen,
        failures,
        _service: service,
    }
}

impl Setup {
    fn mcp(&self) -> Mcp {
        Mcp::new(
            self.registry.clone(),
            self.store.clone(),
            self.broker.clone(),
        )
    }
}

fn claims(sub: &str, scopes: &[&str]) -> Claims {
    Claims {
        sub: sub.into(),
        kind: "user".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        exp: u64::MAX,
        iat: 0,
        nbf: 0,
        jti: "test".into(),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn every_unary_endpoint_is_a_tool_with_its_schema_description_and_example() {
    let setup = setup("helloworld").await;
    let tools = setup.mcp().tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "helloworld.Helloworld.Call",
            "helloworld.Helloworld.Fail",
            "helloworld.Helloworld.Refuse",
            "micro_registry_list",
            "micro_registry_get",
            "micro_store_list",
            "micro_store_read",
            "micro_store_write",
            "micro_broker_publish",
        ],
        "streams are not tools"
    );
    let call = &tools[0];
    assert_eq!(
        (call.service.as_str(), call.endpoint.as_str()),
        ("helloworld", "Helloworld.Call")
    );
    assert_eq!(call.description, "Greets a person by name");
    assert_eq!(call.example, Some(json!({"name": "Alice"})));
    let schema = json!(call.input_schema);
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["properties"]["name"]["type"], "string");
    assert_eq!(schema["required"], json!(["name"]));
    assert_eq!(schema["examples"], json!([{"name": "Alice"}]));
    // The nested type is kept whole, not flattened as go-micro's Value tree would be.
    let address = &schema["$defs"]["Address"]["properties"]["lines"];
    assert_eq!(address["type"], "array", "{schema:#}");
    assert_eq!(address["items"]["type"], "string");
    assert_eq!(
        tools[1].description,
        "Calls the Helloworld.Fail endpoint of the helloworld service."
    );
    assert_eq!(tools[2].scopes, strings(&["published"]));
    assert!(
        tools
            .iter()
            .filter(|t| t.is_framework())
            .all(|t| t.scopes == strings(&["micro:admin"]))
    );
}

#[tokio::test]
async fn a_service_without_json_schema_gets_one_from_its_value_tree() {
    let setup = setup("helloworld").await;
    let value = |name: &str, kind: &str, values: Vec<Value>| Value {
        name: name.into(),
        kind: kind.into(),
        values,
    };
    let go_service = Service {
        name: "greeter".into(),
        version: "latest".into(),
        endpoints: vec![Endpoint {
            name: "Say.Hello".into(),
            request: Some(value(
                "Request",
                "Request",
                vec![
                    value("name", "string", vec![]),
                    value("times", "int32", vec![]),
                ],
            )),
            ..Default::default()
        }],
        nodes: vec![Node {
            id: "greeter-1".into(),
            address: "127.0.0.1:9".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    setup
        .registry
        .register(&go_service, Some(Duration::from_secs(60)))
        .await
        .unwrap();
    let tools = setup.mcp().tools().await.unwrap();
    let greeter = tools
        .iter()
        .find(|t| t.name == "greeter.Say.Hello")
        .unwrap();
    assert_eq!(
        json!(greeter.input_schema),
        json!({"type": "object", "properties": {
            "name": {"type": "string"},
            "times": {"type": "integer"},
        }})
    );
}

#[tokio::test]
async fn calls_answer_with_the_service_json_and_carry_trace_tool_and_account() {
    let mut setup = setup("helloworld").await;
    let mcp = setup.mcp();
    let caller = Caller {
        claims: Some(claims("alice", &[])),
        trace_id: "trace-1".into(),
    };
    let answer = mcp
        .call(
            &caller,
            "helloworld.Helloworld.Call",
            json!({"name": "Alice", "address": {"lines": ["a", "b"]}}),
        )
        .await
        .unwrap();
    assert_eq!(answer, json!({"msg": "Hello Alice.."}));
    assert_eq!(
        setup.seen.recv().await.unwrap(),
        (
            "trace-1".to_string(),
            "helloworld.Helloworld.Call".to_string(),
            "alice".to_string()
        )
    );

    let unknown = mcp
        .call(&caller, "helloworld.Nope", json!({}))
        .await
        .unwrap_err();
    assert_eq!(unknown, CallError::UnknownTool("helloworld.Nope".into()));
    assert_eq!(unknown.status(), 404);

    let not_object = mcp
        .call(&caller, "helloworld.Helloworld.Call", json!([1]))
        .await
        .unwrap_err();
    assert_eq!(not_object.status(), 400, "{}", not_object.message());

    let failed = mcp
        .call(&caller, "helloworld.Helloworld.Fail", Json::Null)
        .await
        .unwrap_err();
    assert_eq!(failed.status(), 500);
    assert!(failed.message().contains("down for maintenance"));
}

#[tokio::test]
async fn safe_names_map_back_even_with_dots_in_the_service_name() {
    let setup = setup("shop.v1").await;
    let mcp = setup.mcp().naming(Naming::Safe);
    let tools = mcp.tools().await.unwrap();
    let tool = tools
        .iter()
        .find(|t| t.endpoint == "Helloworld.Call")
        .unwrap();
    assert_eq!(tool.name, "shop_v1_Helloworld_Call");
    let answer = mcp
        .call(&Caller::new(None), &tool.name, json!({"name": "Bob"}))
        .await
        .unwrap();
    assert_eq!(answer, json!({"msg": "Hello Bob"}));
    // The dotted name is not a tool under safe naming.
    let dotted = mcp
        .call(&Caller::new(None), "shop.v1.Helloworld.Call", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(dotted, CallError::UnknownTool(_)));
}

#[tokio::test]
async fn a_service_never_shadows_a_framework_tool_and_the_clash_is_reported() {
    let setup = setup("helloworld").await;
    // A service whose safe names would be framework tools' names.
    let _impostor = micro::Service::new("micro")
        .registry(setup.registry.clone())
        .address("127.0.0.1:0")
        .handle("store.list", |_ctx, _req: Json| async move {
            Ok(json!({"impostor": true}))
        })
        .handle("Store.Read", |_ctx, _req: Json| async move {
            Ok(json!({"impostor": true}))
        })
        .endpoint_metadata("Store.Read", "mcp_name", "micro_store_read")
        .start()
        .await
        .unwrap();
    setup
        .store
        .write(store::Record::new("k", "v"), &Default::default())
        .await
        .unwrap();
    let mcp = setup.mcp().naming(Naming::Safe);
    let tools = mcp.tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    let count = names.len();
    names.dedup();
    assert_eq!(names.len(), count, "every name is one tool's: {names:?}");

    // The framework's names call the framework, with the framework's scopes.
    let caller = Caller::new(None);
    let listed = mcp
        .call(&caller, "micro_store_list", json!({}))
        .await
        .unwrap();
    assert_eq!(listed, json!(["k"]));
    let read = mcp
        .call(&caller, "micro_store_read", json!({"key": "k"}))
        .await
        .unwrap();
    assert_eq!(read, json!({"key": "k", "value": "v"}));
    for name in ["micro_store_list", "micro_store_read"] {
        let tool = tools.iter().find(|t| t.name == name).unwrap();
        assert!(tool.is_framework(), "{name} is {tool:?}");
    }
    // The service's endpoints are still tools, under names of their own.
    let impostor = tools.iter().find(|t| t.endpoint == "store.list").unwrap();
    assert!(
        impostor.name.starts_with("micro_store_list_"),
        "{}",
        impostor.name
    );
    assert_eq!(
        mcp.call(&caller, &impostor.name, json!({})).await.unwrap(),
        json!({"impostor": true})
    );

    // Both clashes are reported, saying who has the name.
    let conflicts = mcp.conflicts().await.unwrap();
    let reported: Vec<(&str, &str)> = conflicts
        .iter()
        .map(|c| (c.name.as_str(), c.claimants[1].as_str()))
        .collect();
    assert_eq!(
        reported,
        [
            ("micro_store_list", "store.list of micro"),
            ("micro_store_read", "Store.Read of micro"),
        ]
    );
    for conflict in &conflicts {
        assert_eq!(conflict.claimants[0], "the framework tool");
        assert!(
            conflict.to_string().contains("the framework tool keeps it")
                || conflict.to_string().contains("the framework tool has it"),
            "{conflict}"
        );
    }
    // Dotted names cannot clash with the framework's; an mcp_name still can.
    let dotted: Vec<String> = setup
        .mcp()
        .conflicts()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(dotted, ["micro_store_read"]);
}

#[tokio::test]
async fn framework_tools_reach_the_registry_store_and_broker() {
    let setup = setup("helloworld").await;
    let mcp = setup.mcp();
    let caller = Caller::new(None);
    let (tell, mut published) = mpsc::unbounded_channel();
    let _subscription = setup
        .broker
        .subscribe(
            "events",
            broker::handler(move |_topic, message| {
                let tell = tell.clone();
                async move {
                    let _ = tell.send(message.body.clone());
                    Ok(())
                }
            }),
            SubscribeOptions::default(),
        )
        .await
        .unwrap();

    let listed = mcp
        .call(&caller, "micro_registry_list", json!({}))
        .await
        .unwrap();
    assert_eq!(listed[0]["name"], "helloworld");
    let got = mcp
        .call(&caller, "micro_registry_get", json!({"name": "helloworld"}))
        .await
        .unwrap();
    assert_eq!(got[0]["nodes"].as_array().unwrap().len(), 1);

    let write = json!({"key": "greeting", "value": "hi"});
    mcp.call(&caller, "micro_store_write", write).await.unwrap();
    let read = mcp
        .call(&caller, "micro_store_read", json!({"key": "greeting"}))
        .await
        .unwrap();
    assert_eq!(read, json!({"key": "greeting", "value": "hi"}));
    let keys = mcp
        .call(&caller, "micro_store_list", json!({}))
        .await
        .unwrap();
    assert_eq!(keys, json!(["greeting"]));
    let missing = mcp
        .call(&caller, "micro_store_read", json!({"key": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(missing.status(), 404, "{}", missing.message());
    let no_key = mcp
        .call(&caller, "micro_store_read", json!({}))
        .await
        .unwrap_err();
    assert_eq!(no_key.status(), 400, "{}", no_key.message());

    let message = json!({"topic": "events", "message": {"id": 1}});
    mcp.call(&caller, "micro_broker_publish", message)
        .await
        .unwrap();
    assert_eq!(&published.recv().await.unwrap()[..], br#"{"id":1}"#);
}

#[tokio::test]
async fn with_auth_scopes_decide_what_is_listed_and_callable() {
    let setup = setup("helloworld").await;
    let keys = tempfile::tempdir().unwrap();
    let auth = Arc::new(Auth::open(setup.store.clone(), keys.path()).await.unwrap());
    auth.set_scopes("helloworld", "Helloworld.Call", &strings(&["greet"]))
        .await
        .unwrap();
    // Stored scopes win over published ones; --scope overrides win over both.
    auth.set_scopes("helloworld", "Helloworld.Refuse", &strings(&["stored"]))
        .await
        .unwrap();
    let mcp = setup
        .mcp()
        .auth(auth)
        .scope("helloworld.Helloworld.Fail", &strings(&["ops"]));
    let tools = mcp.tools().await.unwrap();
    let scopes = |name: &str| {
        tools
            .iter()
            .find(|t| t.name == name)
            .unwrap()
            .scopes
            .clone()
    };
    assert_eq!(scopes("helloworld.Helloworld.Call"), strings(&["greet"]));
    assert_eq!(scopes("helloworld.Helloworld.Refuse"), strings(&["stored"]));
    assert_eq!(scopes("helloworld.Helloworld.Fail"), strings(&["ops"]));

    let greeter = Caller::new(Some(claims("bob", &["greet"])));
    let visible: Vec<String> = mcp
        .tools_for(&greeter)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.clone())
        .collect();
    assert_eq!(visible, ["helloworld.Helloworld.Call"]);
    let call = |caller: Caller, tool: &'static str| {
        let mcp = &mcp;
        async move { mcp.call(&caller, tool, json!({"name": "Bob"})).await }
    };
    assert_eq!(
        call(greeter.clone(), "helloworld.Helloworld.Call")
            .await
            .unwrap(),
        json!({"msg": "Hello Bob"})
    );
    assert_eq!(
        call(greeter.clone(), "helloworld.Helloworld.Fail")
            .await
            .unwrap_err(),
        CallError::Forbidden(strings(&["ops"]))
    );
    assert_eq!(
        call(greeter, "micro_store_list").await.unwrap_err(),
        CallError::Forbidden(strings(&["micro:admin"]))
    );
    let anonymous = call(Caller::new(None), "helloworld.Helloworld.Call")
        .await
        .unwrap_err();
    assert_eq!(anonymous.status(), 401);
    assert!(mcp.tools_for(&Caller::new(None)).await.unwrap().is_empty());

    let admin = Caller::new(Some(claims("root", &["*"])));
    assert_eq!(mcp.tools_for(&admin).await.unwrap().len(), tools.len());
    let ops = Caller::new(Some(claims("ops", &["micro:admin"])));
    call(ops, "micro_store_list").await.unwrap();
}

#[tokio::test]
async fn rate_limits_apply_per_tool_and_per_account() {
    let setup = setup("helloworld").await;
    let mcp = setup.mcp().rate_limit(0.001, 2);
    let alice = Caller::new(Some(claims("alice", &[])));
    for _ in 0..2 {
        mcp.call(&alice, "micro_store_list", json!({}))
            .await
            .unwrap();
    }
    let limited = mcp
        .call(&alice, "micro_store_list", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(limited, CallError::RateLimited(wait) if wait > Duration::from_secs(1)));
    assert_eq!(limited.status(), 429);
    // Another tool has its own bucket, but alice's account has spent its burst too.
    let account = mcp
        .call(&alice, "micro_registry_list", json!({}))
        .await
        .unwrap_err();
    assert_eq!(account.status(), 429);
    let bob = Caller::new(Some(claims("bob", &[])));
    mcp.call(&bob, "micro_registry_list", json!({}))
        .await
        .unwrap();
}

#[tokio::test]
async fn refused_calls_spend_no_bucket_that_others_share() {
    let setup = setup("helloworld").await;
    let keys = tempfile::tempdir().unwrap();
    let auth = Arc::new(Auth::open(setup.store.clone(), keys.path()).await.unwrap());
    let mcp = setup.mcp().auth(auth).rate_limit(0.001, 2);

    // A token without the admin scope hammers an admin tool: every call is a 403, none a 429.
    let mallory = Caller::new(Some(claims("mallory", &[])));
    for _ in 0..20 {
        let refused = mcp
            .call(&mallory, "micro_store_list", json!({}))
            .await
            .unwrap_err();
        assert_eq!(refused, CallError::Forbidden(strings(&["micro:admin"])));
    }
    // Unknown tools cost nothing either, not even the caller's own budget.
    for i in 0..20 {
        let unknown = mcp
            .call(&mallory, &format!("no.such.Tool{i}"), json!({}))
            .await
            .unwrap_err();
        assert!(matches!(unknown, CallError::UnknownTool(_)), "{unknown:?}");
    }
    mcp.call(&mallory, "helloworld.Helloworld.Call", json!({"name": "M"}))
        .await
        .unwrap();
    // The admin tool's bucket is whole: an admin gets its full burst.
    let admin = Caller::new(Some(claims("root", &["*"])));
    mcp.call(&admin, "micro_store_list", json!({}))
        .await
        .unwrap();
    let ops = Caller::new(Some(claims("ops", &["micro:admin"])));
    mcp.call(&ops, "micro_store_list", json!({})).await.unwrap();

    // An account over its own limit is refused before the tool is charged, so it cannot
    // drain a tool that others call.
    let alice = Caller::new(Some(claims("alice", &["micro:admin"])));
    for _ in 0..2 {
        mcp.call(&alice, "micro_registry_list", json!({}))
            .await
            .unwrap();
    }
    for _ in 0..5 {
        let limited = mcp
            .call(&alice, "micro_store_read", json!({"key": "k"}))
            .await
            .unwrap_err();
        assert_eq!(limited.status(), 429, "{limited:?}");
    }
    let read = mcp
        .call(&ops, "micro_store_read", json!({"key": "k"}))
        .await
        .unwrap_err();
    assert_eq!(read.status(), 404, "ops reaches the store: {read:?}");
}

#[tokio::test]
async fn the_circuit_opens_after_repeated_failures_but_not_for_refused_input() {
    let setup = setup("helloworld").await;
    let mcp = setup.mcp().circuit_breaker(2, Duration::from_secs(60));
    let caller = Caller::new(None);
    for _ in 0..3 {
        let refused = mcp
            .call(&caller, "helloworld.Helloworld.Refuse", json!({}))
            .await
            .unwrap_err();
        assert_eq!(refused.status(), 400);
    }
    for _ in 0..2 {
        let failed = mcp
            .call(&caller, "helloworld.Helloworld.Fail", json!({}))
            .await
            .unwrap_err();
        assert_eq!(failed.status(), 500);
    }
    // (The client retries a 500 once, so each failed call reached the service twice.)
    let reached = setup.failures.load(Ordering::SeqCst);
    let open = mcp
        .call(&caller, "helloworld.Helloworld.Fail", json!({}))
        .await
        .unwrap_err();
    assert_eq!(open.status(), 503, "{}", open.message());
    assert_eq!(
        setup.failures.load(Ordering::SeqCst),
        reached,
        "an open circuit does not call the service"
    );
    // Other tools are not affected.
    mcp.call(&caller, "helloworld.Helloworld.Call", json!({"name": "A"}))
        .await
        .unwrap();
}

#[tokio::test]
async fn every_call_leaves_an_audit_record() {
    let setup = setup("helloworld").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit/mcp.jsonl");
    let mcp = setup.mcp().audit(Audit::new(Some(&path)).unwrap());
    let caller = Caller {
        claims: Some(claims("alice", &[])),
        trace_id: "trace-9".into(),
    };
    mcp.call(&caller, "helloworld.Helloworld.Call", json!({"name": "A"}))
        .await
        .unwrap();
    mcp.call(&caller, "helloworld.Helloworld.Fail", json!({}))
        .await
        .unwrap_err();
    let records: Vec<Json> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["tool"], "helloworld.Helloworld.Call");
    assert_eq!(records[0]["account"], "alice");
    assert_eq!(records[0]["trace_id"], "trace-9");
    assert_eq!(records[0]["outcome"], "ok");
    assert!(records[0]["duration_us"].as_u64().unwrap() > 0);
    assert_eq!(records[1]["outcome"], "error");
    assert!(
        records[1]["error"]
            .as_str()
            .unwrap()
            .contains("down for maintenance")
    );
}

#[tokio::test]
async fn the_catalogue_follows_registry_and_scope_changes() {
    let setup = setup("helloworld").await;
    let keys = tempfile::tempdir().unwrap();
    let auth = Arc::new(Auth::open(setup.store.clone(), keys.path()).await.unwrap());
    let mcp = setup.mcp().auth(auth.clone());
    let scopes_of = |tools: &[Arc<micro::mcp::Tool>], name: &str| {
        tools
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.scopes.clone())
    };
    let before = mcp.tools().await.unwrap();
    assert_eq!(
        scopes_of(&before, "helloworld.Helloworld.Call"),
        Some(vec![])
    );

    // A scope set through auth shows at once.
    auth.set_scopes("helloworld", "Helloworld.Call", &strings(&["greet"]))
        .await
        .unwrap();
    let after = mcp.tools().await.unwrap();
    assert_eq!(
        scopes_of(&after, "helloworld.Helloworld.Call"),
        Some(strings(&["greet"]))
    );

    // A service that registers shows once the registry's watch event arrives.
    let _second = micro::Service::new("greeter")
        .registry(setup.registry.clone())
        .address("127.0.0.1:0")
        .handle("Say.Hello", |_ctx, req: Request| async move {
            Ok(Reply { msg: req.name })
        })
        .start()
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let tools = mcp.tools().await.unwrap();
        if scopes_of(&tools, "greeter.Say.Hello").is_some() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "greeter never listed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
