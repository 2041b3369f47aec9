//! The MCP transports over real loopback sockets, in front of a real helloworld service found
//! through a memory registry: rmcp's own client over Streamable HTTP (each protocol version)
//! and over a stdio-like pipe, `notifications/tools/list_changed`, go-micro's REST surface,
//! and the controls (auth and scopes, rate limit, circuit breaker, audit, Mcp-* metadata,
//! DNS-rebinding protection), standalone and mounted in the gateway.

mod helloworld;

use helloworld::{Reply, Request};
#[allow(dead_code)]
mod http;

use http::Http;
use micro::auth::{Auth, Kind};
use micro::broker::{self, Broker};
use micro::gateway::{self, Gateway};
use micro::mcp::control::Audit;
use micro::mcp::{self, Mcp};
use micro::registry::{Memory, Registry};
use micro::service;
use micro::store::{self, Store};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientConfig, ErrorCode, ProtocolVersion,
    ServerNotification, SubscriptionFilter,
};
use rmcp::service::{
    ClientLifecycleMode, NotificationContext, RunningService, serve_client_with_lifecycle,
};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, RoleClient, ServiceError, ServiceExt};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OnceCell, mpsc};

const CALL: &str = "helloworld.Helloworld.Call";
const FAIL: &str = "helloworld.Helloworld.Fail";
const META: &str = "helloworld.Helloworld.Meta";
/// How long to wait for something that should happen at once before calling it a hang.
const PATIENCE: Duration = Duration::from_secs(20);

/// The helloworld service, started.
async fn helloworld(registry: &Arc<dyn Registry>) -> service::Running {
    helloworld::service(registry).start().await.unwrap()
}

/// The keys directory every test shares, its pair made once per run.
async fn keys() -> &'static Path {
    static KEYS: OnceCell<PathBuf> = OnceCell::const_new();
    KEYS.get_or_init(|| async {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp_transports_keys");
        let memory: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
        Auth::open(memory, &dir).await.unwrap();
        dir
    })
    .await
}

/// The standalone MCP server (`micro mcp serve --address`) in front of helloworld.
struct Setup {
    http: Http,
    registry: Arc<dyn Registry>,
    auth: Arc<Auth>,
    server: gateway::Running,
    _service: service::Running,
}

/// Options for [`setup_with`]: what to turn on in the [`Mcp`].
#[derive(Default)]
struct Options {
    auth: bool,
    scopes: Vec<(&'static str, &'static [&'static str])>,
    rate_limit: Option<(f64, u32)>,
    breaker: Option<u32>,
    audit: Option<PathBuf>,
    allowed_hosts: Vec<String>,
}

async fn setup() -> Setup {
    setup_with(Options::default()).await
}

fn catalogue(registry: &Arc<dyn Registry>, store: Arc<dyn Store>) -> Mcp {
    let broker: Arc<dyn Broker> = Arc::new(broker::Memory::new());
    Mcp::new(registry.clone(), store, broker)
}

async fn setup_with(options: Options) -> Setup {
    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let store: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
    let service = helloworld(&registry).await;
    let auth = Arc::new(Auth::open(store.clone(), keys().await).await.unwrap());
    let mut mcp = catalogue(&registry, store);
    if options.auth {
        mcp = mcp.auth(auth.clone());
    }
    for (tool, scopes) in options.scopes {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        mcp = mcp.scope(tool, &scopes);
    }
    if let Some((per_second, burst)) = options.rate_limit {
        mcp = mcp.rate_limit(per_second, burst);
    }
    if let Some(failures) = options.breaker {
        mcp = mcp.circuit_breaker(failures, Duration::from_secs(60));
    }
    if let Some(path) = &options.audit {
        mcp = mcp.audit(Audit::new(Some(path)).unwrap());
    }
    let server = mcp::http::start(Arc::new(mcp), "127.0.0.1:0", options.allowed_hosts)
        .await
        .unwrap();
    Setup {
        http: Http::new(server.address().to_string()),
        registry,
        auth,
        server,
        _service: service,
    }
}

impl Setup {
    fn url(&self) -> String {
        format!("http://{}/mcp", self.http.address)
    }

    /// A token for a new service account `subject` with `scopes`.
    async fn token(&self, subject: &str, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        self.auth
            .create_account(subject, Kind::Service, None, &scopes)
            .await
            .unwrap();
        self.auth
            .issue(subject, &scopes, Duration::from_secs(3600))
            .await
            .unwrap()
            .token
    }

    /// `POST /mcp/call` with `body`, sending `token` when given.
    async fn call(&self, body: Value, token: Option<&str>) -> http::Answer {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer));
        }
        self.http
            .send("POST", "/mcp/call", &headers, &body.to_string())
            .await
    }

    /// `GET /mcp/tools` as `token`: the tool names listed.
    async fn tool_names(&self, token: &str) -> Vec<String> {
        let bearer = format!("Bearer {token}");
        let answer = self
            .http
            .send("GET", "/mcp/tools", &[("authorization", &bearer)], "")
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        names(&answer.json()["tools"])
    }
}

fn names(tools: &Value) -> Vec<String> {
    tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

/// rmcp's transport over `config`. Its reqwest client has rustls without a crypto provider of
/// its own (the engine's models bring ring through their own configuration), so ring is made
/// the process's provider first.
fn transport(
    config: StreamableHttpClientTransportConfig,
) -> StreamableHttpClientTransport<reqwest::Client> {
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    StreamableHttpClientTransport::from_config(config)
}

/// An rmcp client at `url`, speaking `version`, with `token` when given.
async fn client<H: ClientHandler>(
    handler: H,
    url: &str,
    token: Option<&str>,
) -> RunningService<RoleClient, H> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url);
    if let Some(token) = token {
        config = config.auth_header(token);
    }
    handler.serve(transport(config)).await.unwrap()
}

/// An rmcp client at `url` speaking 2026-07-28: `server/discover` and no session.
async fn newest_client(url: &str) -> RunningService<RoleClient, ClientConfig> {
    let transport = transport(StreamableHttpClientTransportConfig::with_uri(url));
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    serve_client_with_lifecycle(ClientConfig::default(), transport, lifecycle)
        .await
        .unwrap()
}

fn speaking(version: ProtocolVersion) -> ClientConfig {
    ClientConfig::default().with_protocol_version(version)
}

fn call(name: &str, arguments: Value) -> CallToolRequestParams {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object")
    };
    CallToolRequestParams::new(name.to_string()).with_arguments(arguments)
}

fn text(result: &CallToolResult) -> String {
    let text = result.content[0].as_text().expect("not text content");
    text.text.clone()
}

/// Lists and calls over an rmcp client: the schema and description of helloworld's Call,
/// the framework tools, a call's text and structured content, an unknown tool as a JSON-RPC
/// error, and a failing endpoint as an `isError` result.
async fn lists_and_calls<H: ClientHandler>(client: &RunningService<RoleClient, H>) {
    let tools = client.list_all_tools().await.unwrap();
    let hello = tools.iter().find(|t| t.name == CALL).expect("no Call tool");
    assert_eq!(hello.description.as_deref(), Some("Greets a person"));
    assert_eq!(hello.input_schema["type"], "object");
    assert_eq!(hello.input_schema["properties"]["name"]["type"], "string");
    for framework in [
        "micro_registry_list",
        "micro_store_read",
        "micro_broker_publish",
    ] {
        assert!(tools.iter().any(|t| t.name == framework), "no {framework}");
    }

    let result = client
        .call_tool(call(CALL, json!({"name": "Alice"})))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(false));
    let answer: Value = serde_json::from_str(&text(&result)).unwrap();
    assert_eq!(answer["msg"], "Hello Alice");
    assert_eq!(
        result.structured_content,
        Some(json!({"msg": "Hello Alice"}))
    );

    match client.call_tool(call("no.Such.Tool", json!({}))).await {
        Err(ServiceError::McpError(e)) => {
            assert_eq!(e.code, ErrorCode::INVALID_PARAMS);
            assert!(e.message.contains("Unknown tool"), "{}", e.message);
        }
        other => panic!("an unknown tool should be a JSON-RPC error, not {other:?}"),
    }

    let failed = client
        .call_tool(call(FAIL, json!({"name": "Bob"})))
        .await
        .unwrap();
    assert_eq!(failed.is_error, Some(true));
    assert!(
        text(&failed).contains("broken for Bob"),
        "{}",
        text(&failed)
    );
}

#[tokio::test]
async fn streamable_http_serves_every_protocol_version() {
    let setup = setup().await;
    for version in [ProtocolVersion::V_2025_06_18, ProtocolVersion::V_2025_11_25] {
        let client = client(speaking(version.clone()), &setup.url(), None).await;
        let info = client.peer_info().expect("no initialize result");
        assert_eq!(info.protocol_version, version);
        let server = info.server_info.as_ref().expect("no server info");
        assert_eq!(server.name, "micro");
        assert_eq!(server.version, env!("CARGO_PKG_VERSION"));
        let tools = info
            .capabilities
            .tools
            .as_ref()
            .expect("no tools capability");
        assert_eq!(tools.list_changed, Some(true));
        lists_and_calls(&client).await;
        client.cancel().await.unwrap();
    }
    // The newest revision, without a handshake.
    let client = newest_client(&setup.url()).await;
    lists_and_calls(&client).await;
    client.cancel().await.unwrap();
    setup.server.stop().await;
}

#[tokio::test]
async fn stdio_pipes_serve_mcp_until_they_close() {
    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let store: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
    let _service = helloworld(&registry).await;
    let mcp = Arc::new(catalogue(&registry, store));
    let (server_end, client_end) = tokio::io::duplex(64 * 1024);
    let (reader, writer) = tokio::io::split(server_end);
    let served = tokio::spawn(mcp::serve_io(mcp, None, reader, writer));
    let client = speaking(ProtocolVersion::V_2025_11_25)
        .serve(client_end)
        .await
        .unwrap();
    let info = client.peer_info().unwrap();
    assert_eq!(info.server_info.as_ref().unwrap().name, "micro");
    lists_and_calls(&client).await;
    client.cancel().await.unwrap();
    tokio::time::timeout(PATIENCE, served)
        .await
        .expect("the server did not end with its input")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn stdio_with_auth_needs_a_valid_token() {
    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let store: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
    let auth = Arc::new(Auth::open(store.clone(), keys().await).await.unwrap());
    let mcp = Arc::new(catalogue(&registry, store).auth(auth));
    for token in [None, Some("not-a-token".to_string())] {
        let (server_end, _client_end) = tokio::io::duplex(1024);
        let (reader, writer) = tokio::io::split(server_end);
        let err = mcp::serve_io(mcp.clone(), token, reader, writer)
            .await
            .unwrap_err();
        assert_eq!(err.code, 401, "{err}");
        assert!(err.detail.contains("token"), "{}", err.detail);
    }
}

#[tokio::test]
async fn stdio_checks_its_token_on_every_request_so_a_revoked_token_stops_working() {
    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let store: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
    let _service = helloworld(&registry).await;
    let auth = Arc::new(Auth::open(store.clone(), keys().await).await.unwrap());
    auth.create_account("agent", Kind::Service, None, &[])
        .await
        .unwrap();
    let token = auth
        .issue("agent", &[], Duration::from_secs(3600))
        .await
        .unwrap();
    let mcp = Arc::new(catalogue(&registry, store).auth(auth.clone()));
    // Two OS pipes, as a parent process and its MCP child would have.
    let (to_server, server_reads) = tokio::net::unix::pipe::pipe().unwrap();
    let (server_writes, from_server) = tokio::net::unix::pipe::pipe().unwrap();
    let served = tokio::spawn(mcp::serve_io(
        mcp,
        Some(token.token),
        server_reads,
        server_writes,
    ));
    let client = ().serve((from_server, to_server)).await.unwrap();
    let greet = || call(CALL, json!({"name": "Alice"}));
    let called = client.call_tool(greet()).await.unwrap();
    assert_eq!(called.is_error, Some(false), "{}", text(&called));

    auth.revoke(&token.id).await.unwrap();
    let refused = client.call_tool(greet()).await.unwrap();
    assert_eq!(refused.is_error, Some(true));
    assert_eq!(
        text(&refused),
        "the token was refused (the token has been revoked; log in again or ask for a new \
         token); pass a valid, unexpired token"
    );
    match client.list_all_tools().await {
        Err(ServiceError::McpError(e)) => {
            assert_eq!(e.code, ErrorCode::INVALID_REQUEST);
            assert!(e.message.contains("has been revoked"), "{}", e.message);
        }
        other => panic!("a revoked token should list nothing, not {other:?}"),
    }
    client.cancel().await.unwrap();
    tokio::time::timeout(PATIENCE, served)
        .await
        .expect("the server did not end with its input")
        .unwrap()
        .unwrap();
}

/// A client that reports `notifications/tools/list_changed`.
struct Listener {
    changed: mpsc::UnboundedSender<()>,
    info: ClientConfig,
}

impl ClientHandler for Listener {
    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        let _ = self.changed.send(());
    }
}

#[tokio::test]
async fn clients_hear_when_services_come_and_go() {
    let setup = setup().await;
    let (changed, mut heard) = mpsc::unbounded_channel();
    let listener = Listener {
        changed,
        info: speaking(ProtocolVersion::V_2025_11_25),
    };
    let client = client(listener, &setup.url(), None).await;
    // The session is ready once it answers.
    assert!(!client.list_all_tools().await.unwrap().is_empty());
    // The newest revision has no sessions: a client listens for changes instead.
    let newest = newest_client(&setup.url()).await;
    let wanted = SubscriptionFilter::builder().tools_list_changed().build();
    let mut subscription = newest.listen(wanted.clone()).await.unwrap();
    assert_eq!(subscription.acknowledged(), &wanted);

    let greeter = micro::Service::new("greeter")
        .registry(setup.registry.clone())
        .address("127.0.0.1:0")
        .handle("Greeter.Hello", |_ctx, req: Request| async move {
            Ok(Reply { msg: req.name })
        })
        .start()
        .await
        .unwrap();
    tokio::time::timeout(PATIENCE, heard.recv())
        .await
        .expect("no list_changed after a service registered")
        .unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "greeter.Greeter.Hello"));
    let notification = tokio::time::timeout(PATIENCE, subscription.next())
        .await
        .expect("no list_changed on the subscription")
        .unwrap();
    assert!(
        matches!(
            notification,
            Some(ServerNotification::ToolListChangedNotification(_))
        ),
        "{notification:?}"
    );
    drop(subscription);
    newest.cancel().await.unwrap();

    greeter.stop().await.unwrap();
    tokio::time::timeout(PATIENCE, heard.recv())
        .await
        .expect("no list_changed after a service left")
        .unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert!(!tools.iter().any(|t| t.name == "greeter.Greeter.Hello"));
    client.cancel().await.unwrap();
    setup.server.stop().await;
}

#[tokio::test]
async fn rest_lists_tools_and_calls_with_either_body() {
    let setup = setup().await;
    let health = setup.http.get("/health").await;
    assert_eq!(health.status, 200);

    let listed = setup.http.get("/mcp/tools").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.assert_secure();
    let tools = listed.json()["tools"].clone();
    let hello = tools
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == CALL)
        .unwrap()
        .clone();
    assert_eq!(hello["service"], "helloworld");
    assert_eq!(hello["endpoint"], "Helloworld.Call");
    assert_eq!(hello["description"], "Greets a person");
    assert_eq!(hello["example"], json!({"name": "Alice"}));
    assert_eq!(hello["inputSchema"]["properties"]["name"]["type"], "string");
    assert!(hello["metadata"].is_object());
    assert_eq!(hello["scopes"], json!([]));

    for body in [
        json!({"tool": CALL, "input": {"name": "Alice"}}),
        json!({"name": CALL, "arguments": {"name": "Alice"}}),
    ] {
        let answer = setup.call(body, None).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.json()["result"], json!({"msg": "Hello Alice"}));
        assert!(!answer.json()["trace_id"].as_str().unwrap().is_empty());
    }

    setup
        .call(json!({"tool": "no.Such.Tool"}), None)
        .await
        .assert_error(404, "unknown tool");
    setup
        .call(json!({"input": {}}), None)
        .await
        .assert_error(400, "name the tool");
    setup
        .http
        .post("/mcp/call", "not json")
        .await
        .assert_error(400, "JSON object");
    setup
        .call(json!({"tool": FAIL, "input": {"name": "Bob"}}), None)
        .await
        .assert_error(500, "broken for Bob");
    setup
        .http
        .post("/mcp/tools", "")
        .await
        .assert_error(405, "GET /mcp/tools");
    setup.server.stop().await;
}

#[tokio::test]
async fn auth_shows_and_allows_only_what_the_token_may_call() {
    let setup = setup_with(Options {
        auth: true,
        scopes: vec![(CALL, &["greet"])],
        ..Options::default()
    })
    .await;
    // No token: refused everywhere.
    setup
        .http
        .get("/mcp/tools")
        .await
        .assert_error(401, "Bearer");
    setup
        .call(json!({"tool": CALL, "input": {"name": "Alice"}}), None)
        .await
        .assert_error(401, "Bearer");
    let mcp = setup.http.post("/mcp", "{}").await;
    assert_eq!(mcp.status, 401, "{}", mcp.body);
    setup
        .call(json!({"tool": CALL}), Some("not-a-token"))
        .await
        .assert_error(401, "refused");

    // A token lacking the tool's scope sees fewer tools and gets a 403 naming the scope.
    let other = setup.token("carol", &["other"]).await;
    let seen = setup.tool_names(&other).await;
    assert!(!seen.contains(&CALL.to_string()), "{seen:?}");
    assert!(seen.contains(&META.to_string()), "{seen:?}");
    assert!(
        !seen.contains(&"micro_registry_list".to_string()),
        "{seen:?}"
    );
    let refused = setup
        .call(
            json!({"tool": CALL, "input": {"name": "Alice"}}),
            Some(&other),
        )
        .await;
    refused.assert_error(403, "greet");
    assert_eq!(refused.json()["required_scopes"], "greet");

    // The right scope passes, but framework tools need micro:admin.
    let greeter = setup.token("dave", &["greet"]).await;
    let seen = setup.tool_names(&greeter).await;
    assert!(seen.contains(&CALL.to_string()), "{seen:?}");
    let answer = setup
        .call(
            json!({"tool": CALL, "input": {"name": "Alice"}}),
            Some(&greeter),
        )
        .await;
    assert_eq!(answer.json()["result"]["msg"], "Hello Alice");
    let admin_only = setup
        .call(json!({"tool": "micro_registry_list"}), Some(&greeter))
        .await;
    admin_only.assert_error(403, "micro:admin");
    assert_eq!(admin_only.json()["required_scopes"], "micro:admin");

    // `*` passes everything, and micro:admin opens the framework tools.
    let root = setup.token("root", &["*"]).await;
    let seen = setup.tool_names(&root).await;
    assert!(seen.contains(&CALL.to_string()) && seen.contains(&"micro_store_list".to_string()));
    let admin = setup.token("ops", &["micro:admin"]).await;
    let listed = setup
        .call(json!({"tool": "micro_registry_list"}), Some(&admin))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()["result"][0]["name"], "helloworld");

    // The service hears who called, which tool and the trace id.
    let answer = setup
        .call(json!({"tool": META, "input": {}}), Some(&root))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let metadata = &answer.json()["result"];
    assert_eq!(metadata["Mcp-Trace-Id"], answer.json()["trace_id"]);
    assert_eq!(metadata["Mcp-Tool-Name"], META);
    assert_eq!(metadata["Mcp-Account-Id"], "root");

    // Over Streamable HTTP the same token sees the same tools and gets an isError result.
    let client = client(
        speaking(ProtocolVersion::V_2025_11_25),
        &setup.url(),
        Some(&other),
    )
    .await;
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().all(|t| t.name != CALL));
    assert!(tools.iter().any(|t| t.name == META));
    let refused = client
        .call_tool(call(CALL, json!({"name": "Alice"})))
        .await
        .unwrap();
    assert_eq!(refused.is_error, Some(true));
    assert!(text(&refused).contains("greet"), "{}", text(&refused));
    client.cancel().await.unwrap();
    setup.server.stop().await;
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let setup = setup_with(Options {
        rate_limit: Some((0.01, 2)),
        ..Options::default()
    })
    .await;
    let body = json!({"tool": CALL, "input": {"name": "Alice"}});
    for _ in 0..2 {
        assert_eq!(setup.call(body.clone(), None).await.status, 200);
    }
    let limited = setup.call(body, None).await;
    limited.assert_error(429, "rate limit");
    assert!(limited.header("retry-after").parse::<u64>().unwrap() >= 1);

    // Over MCP the same limit is a JSON-RPC error saying when to try again.
    let client = client(speaking(ProtocolVersion::V_2025_11_25), &setup.url(), None).await;
    match client.call_tool(call(CALL, json!({"name": "Alice"}))).await {
        Err(ServiceError::McpError(e)) => {
            assert_eq!(e.code, ErrorCode(micro::mcp::RATE_LIMITED));
            assert!(e.message.contains("rate limit"), "{}", e.message);
            assert!(e.data.unwrap()["retry_after"].as_f64().unwrap() >= 1.0);
        }
        other => panic!("a rate-limited call should be a JSON-RPC error, not {other:?}"),
    }
    client.cancel().await.unwrap();
    setup.server.stop().await;
}

#[tokio::test]
async fn a_failing_tool_opens_its_circuit_breaker() {
    let setup = setup_with(Options {
        breaker: Some(2),
        ..Options::default()
    })
    .await;
    let body = json!({"tool": FAIL, "input": {"name": "Bob"}});
    for _ in 0..2 {
        setup
            .call(body.clone(), None)
            .await
            .assert_error(500, "broken");
    }
    let open = setup.call(body, None).await;
    open.assert_error(503, "paused");
    assert!(open.header("retry-after").parse::<u64>().unwrap() >= 1);
    // Other tools are not affected.
    let answer = setup
        .call(json!({"tool": CALL, "input": {"name": "Alice"}}), None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    setup.server.stop().await;
}

#[tokio::test]
async fn every_call_is_audited_with_its_trace_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let setup = setup_with(Options {
        audit: Some(path.clone()),
        ..Options::default()
    })
    .await;
    let ok = setup
        .call(json!({"tool": CALL, "input": {"name": "Alice"}}), None)
        .await;
    let failed = setup
        .call(json!({"tool": FAIL, "input": {"name": "Bob"}}), None)
        .await;
    let records: Vec<Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0]["tool"], CALL);
    assert_eq!(records[0]["trace_id"], ok.json()["trace_id"]);
    assert_eq!(records[0]["outcome"], "ok");
    assert_eq!(records[1]["tool"], FAIL);
    assert_eq!(records[1]["trace_id"], failed.json()["trace_id"]);
    assert_eq!(records[1]["outcome"], "error");
    setup.server.stop().await;
}

#[tokio::test]
async fn hosts_and_origins_not_allowed_are_refused() {
    let setup = setup().await;
    let path = "/mcp/tools";
    let evil = setup
        .http
        .send("GET", path, &[("host", "evil.example:80")], "")
        .await;
    evil.assert_error(403, "not allowed");
    let mcp = setup
        .http
        .send("POST", "/mcp", &[("host", "evil.example")], "{}")
        .await;
    assert_eq!(mcp.status, 403, "{}", mcp.body);
    let origin = setup
        .http
        .send("GET", path, &[("origin", "http://evil.example")], "")
        .await;
    origin.assert_error(403, "origin");
    for host in ["localhost:9", "[::1]:9", "127.0.0.1"] {
        let answer = setup
            .http
            .send(
                "GET",
                path,
                &[("host", host), ("origin", "http://localhost:3000")],
                "",
            )
            .await;
        assert_eq!(answer.status, 200, "{host}: {}", answer.body);
    }
    setup.server.stop().await;

    // A configured list adds to loopback; a port in it must match.
    let setup = setup_with(Options {
        allowed_hosts: vec!["mcp.example".into(), "other.example:8443".into()],
        ..Options::default()
    })
    .await;
    for (host, status) in [
        ("mcp.example:3000", 200),
        ("other.example:8443", 200),
        ("other.example:80", 403),
        ("localhost", 200),
        ("evil.example", 403),
    ] {
        let answer = setup.http.send("GET", path, &[("host", host)], "").await;
        assert_eq!(answer.status, status, "{host}: {}", answer.body);
    }
    setup.server.stop().await;
}

#[tokio::test]
async fn the_gateway_serves_mcp_at_slash_mcp() {
    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let store: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
    let broker: Arc<dyn Broker> = Arc::new(broker::Memory::new());
    let _service = helloworld(&registry).await;
    let mcp = Arc::new(catalogue(&registry, store.clone()));
    let gateway = Gateway::new(registry, store, broker)
        .mcp(mcp)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let http = Http::new(gateway.address().to_string());
    let answer = http
        .post_json(
            "/mcp/call",
            &json!({"name": CALL, "arguments": {"name": "Alice"}}),
        )
        .await;
    assert_eq!(answer.json()["result"]["msg"], "Hello Alice");
    // The gateway's own routes still answer.
    let described = http.get("/api/helloworld/Helloworld.Call").await;
    assert_ne!(described.status, 404, "{}", described.body);
    // The tool list is at /api/mcp/tools too (go-micro's agent guide calls it there), the same
    // list, not a service named mcp.
    let tools = http.get("/mcp/tools").await;
    let api_tools = http.get("/api/mcp/tools").await;
    assert_eq!(api_tools.status, 200, "{}", api_tools.body);
    assert_eq!(api_tools.json(), tools.json());
    let client = client(
        speaking(ProtocolVersion::V_2025_06_18),
        &format!("http://{}/mcp", gateway.address()),
        None,
    )
    .await;
    lists_and_calls(&client).await;
    client.cancel().await.unwrap();
    gateway.stop().await;
}
