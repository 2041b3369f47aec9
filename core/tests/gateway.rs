//! The HTTP API gateway over real loopback sockets, in front of a real `micro::Service` found
//! through a memory registry: every route (the framework routes too), the JSON shapes
//! go-micro's `micro api` answers, and its error statuses (404, 400, 413, 405, and a service's own).

mod helloworld;
#[allow(dead_code)]
mod http;

use http::Http;
use micro::broker::{self, Broker, SubscribeOptions};
use micro::gateway::{self, Gateway};
use micro::registry::{Memory, Node, Registry, Service};
use micro::store::{self, Store};
use micro::{Error, service};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// The body cap the tests' gateway runs with.
const LIMIT: usize = 1024;

/// A gateway in front of a helloworld service, both on loopback.
struct Setup {
    http: Http,
    registry: Arc<dyn Registry>,
    store: Arc<dyn Store>,
    broker: Arc<dyn Broker>,
    gateway: gateway::Running,
    _service: service::Running,
}

async fn setup() -> Setup {
    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let store: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
    let broker: Arc<dyn Broker> = Arc::new(broker::Memory::new());
    let service = helloworld::service(&registry)
        .stream("Helloworld.Stream", |_ctx, _stream| async move { Ok(()) })
        .start()
        .await
        .unwrap();
    let gateway = Gateway::new(registry.clone(), store.clone(), broker.clone())
        .max_body_size(LIMIT)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    Setup {
        http: Http::new(gateway.address().to_string()),
        registry,
        store,
        broker,
        gateway,
        _service: service,
    }
}

#[tokio::test]
async fn health_answers_ok() {
    let setup = setup().await;
    let answer = setup.http.get("/health").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), "application/json");
    assert_eq!(answer.body, "{\"status\":\"ok\"}\n");
}

#[tokio::test]
async fn root_and_registry_list_services_with_their_endpoints() {
    let setup = setup().await;
    for path in ["/", "/micro/registry", "/micro/registry/"] {
        let answer = setup.http.get(path).await;
        assert_eq!(answer.status, 200, "{path}");
        let listed = answer.json();
        let services = listed.as_array().unwrap();
        assert_eq!(services.len(), 1, "{path}: {listed}");
        assert_eq!(services[0]["name"], "helloworld");
        let endpoints: Vec<&str> = services[0]["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        for endpoint in ["Helloworld.Call", "Helloworld.Fail", "Helloworld.Stream"] {
            assert!(endpoints.contains(&endpoint), "{path}: {endpoints:?}");
        }
    }
}

#[tokio::test]
async fn service_and_registry_name_describe_a_service_as_go_micro_does() {
    let setup = setup().await;
    for path in ["/helloworld", "/helloworld/", "/micro/registry/helloworld"] {
        let answer = setup.http.get(path).await;
        assert_eq!(answer.status, 200, "{path}");
        let described = answer.json();
        assert_eq!(described["name"], "helloworld");
        assert_eq!(described["version"], "latest");
        assert_eq!(described["nodes"], 1);
        let call = described["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "Helloworld.Call")
            .unwrap();
        assert_eq!(call["metadata"]["description"], "Greets a person");
    }
    let missing = setup.http.get("/micro/registry/nope").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error(), "service not found: nope");
    assert_eq!(setup.http.get("/nope").await.status, 404);
}

#[tokio::test]
async fn endpoints_are_called_by_path_header_and_api_routes() {
    let setup = setup().await;
    let body = r#"{"name":"Alice"}"#;
    let by_header = [("Micro-Endpoint", "Helloworld.Call")];
    let answers = [
        setup.http.post("/helloworld/Helloworld.Call", body).await,
        setup.http.post("/helloworld/Helloworld/Call", body).await,
        setup
            .http
            .send("POST", "/helloworld", &by_header, body)
            .await,
        setup
            .http
            .post("/api/helloworld/Helloworld.Call", body)
            .await,
        setup
            .http
            .post("/api/helloworld/Helloworld/Call", body)
            .await,
    ];
    for answer in answers {
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.header("content-type"), "application/json");
        assert_eq!(answer.body, r#"{"msg":"Hello Alice"}"#);
    }
}

#[tokio::test]
async fn an_empty_body_is_sent_as_an_empty_object() {
    let setup = setup().await;
    let answer = setup.http.post("/helloworld/Helloworld.Call", "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json(), json!({"msg": "Hello "}));
}

#[tokio::test]
async fn request_headers_reach_the_handler_as_metadata_but_credentials_and_the_request_id_never_do()
{
    let setup = setup().await;
    let headers = [
        ("X-Trace-Id", "abc123"),
        ("Authorization", "Bearer t0k"),
        ("Cookie", "micro_token=secret; micro_csrf=x"),
        ("Proxy-Authorization", "Basic eA=="),
    ];
    for path in [
        "/helloworld/Helloworld.Meta",
        "/api/helloworld/Helloworld.Meta",
    ] {
        let answer = setup.http.send("POST", path, &headers, "{}").await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let metadata = answer.json();
        assert_eq!(metadata["X-Trace-Id"], "abc123", "{metadata}");
        for credential in ["Authorization", "Cookie", "Proxy-Authorization"] {
            assert!(
                metadata.get(credential).is_none(),
                "{credential} reached the service: {metadata}"
            );
        }
        // The HTTP request's id stays with the HTTP answer; the call has a Micro-Id.
        assert!(!answer.header("x-request-id").is_empty());
        assert!(metadata.get("X-Request-Id").is_none(), "{metadata}");
    }
    let answer = setup
        .http
        .send("POST", "/helloworld/Helloworld.Meta", &headers, "{}")
        .await;
    let metadata = answer.json();
    let gateway = setup.gateway.address().to_string();
    assert_ne!(
        metadata["Host"],
        gateway.as_str(),
        "the HTTP hop's Host stays behind"
    );
}

#[tokio::test]
async fn unknown_service_or_endpoint_is_404() {
    let setup = setup().await;
    let answer = setup.http.post("/nope/Nope.Call", "{}").await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.error(), "service not found: nope");
    let answer = setup.http.post("/api/nope/Nope/Call", "{}").await;
    assert_eq!(answer.status, 404);
    let answer = setup.http.post("/helloworld/Helloworld.Nope", "{}").await;
    answer.assert_error(404, "Helloworld.Nope");
}

#[tokio::test]
async fn an_error_from_the_service_reaches_the_caller_with_its_own_status_and_error_object() {
    let setup = setup().await;
    for path in [
        "/helloworld/Helloworld.Fail",
        "/api/helloworld/Helloworld.Fail",
    ] {
        let answer = setup.http.post(path, r#"{"name":"Bob"}"#).await;
        assert_eq!(answer.status, 500, "{}", answer.body);
        assert_eq!(answer.header("content-type"), "application/json");
        assert_eq!(
            Error::parse(&answer.body),
            Error::internal("helloworld", "broken for Bob")
        );
    }
    // The service's codec refuses a request of the wrong shape: a 400 of its own, not a 502
    // holding JSON inside a string.
    let answer = setup
        .http
        .post("/api/helloworld/Helloworld.Call", r#"{"name":5}"#)
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    let err = Error::parse(&answer.body);
    assert_eq!((err.code, err.id.as_str()), (400, "micro.codec"), "{err:?}");
}

#[tokio::test]
async fn a_relayed_404_from_a_services_own_client_is_the_services_error_not_the_gateways() {
    let setup = setup().await;
    // A go-micro service that calls another and hands back that call's error as it is: a 404
    // with the client's id, which only the gateway's own lookup may turn into its plain 404.
    let relayed = Error::not_found("go.micro.client", "service inventory: not found");
    let answer_with = relayed.clone();
    let _relay = micro::Service::new("relay")
        .registry(setup.registry.clone())
        .address("127.0.0.1:0")
        .handle("Relay.Call", move |_ctx, _req: serde_json::Value| {
            let err = answer_with.clone();
            async move { Err::<serde_json::Value, _>(err) }
        })
        .start()
        .await
        .unwrap();
    for path in ["/relay/Relay.Call", "/api/relay/Relay/Call"] {
        let answer = setup.http.post(path, "{}").await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
        assert_eq!(Error::parse(&answer.body), relayed, "{path}");
    }
}

#[tokio::test]
async fn an_unreachable_node_is_the_clients_500() {
    let setup = setup().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let ghost = Service {
        name: "ghost".into(),
        version: "latest".into(),
        nodes: vec![Node {
            id: "ghost-1".into(),
            address,
            ..Default::default()
        }],
        ..Default::default()
    };
    setup.registry.register(&ghost, None).await.unwrap();
    let answer = setup.http.post("/ghost/Ghost.Call", "{}").await;
    assert_eq!(answer.status, 500, "{}", answer.body);
    let err = Error::parse(&answer.body);
    assert_eq!(
        (err.code, err.id.as_str()),
        (500, "go.micro.client.transport"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_400() {
    let setup = setup().await;
    let answer = setup
        .http
        .post("/helloworld/Helloworld.Call", "{\"name\":")
        .await;
    answer.assert_error(400, "not JSON");
}

#[tokio::test]
async fn a_stream_endpoint_is_400() {
    let setup = setup().await;
    let answer = setup.http.post("/helloworld/Helloworld.Stream", "{}").await;
    answer.assert_error(400, "stream");
}

#[tokio::test]
async fn a_body_over_the_cap_is_413() {
    let setup = setup().await;
    let big = format!(r#"{{"name":"{}"}}"#, "a".repeat(LIMIT));
    for path in [
        "/helloworld/Helloworld.Call",
        "/micro/store/big",
        "/micro/broker/t",
    ] {
        let answer = setup.http.post(path, &big).await;
        assert_eq!(answer.status, 413, "{path}");
        assert!(answer.error().contains("1024 bytes"), "{}", answer.body);
    }
    // A body sent in chunks, with no Content-Length, is cut off at the cap too.
    let mut stream = TcpStream::connect(setup.gateway.address()).await.unwrap();
    let head = "POST /helloworld/Helloworld.Call HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..3 {
        let chunk = "x".repeat(500);
        let chunk = format!("{:x}\r\n{chunk}\r\n", chunk.len());
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test]
async fn store_routes_write_read_and_list_records() {
    let setup = setup().await;
    assert_eq!(setup.http.get("/micro/store").await.body, "[]\n");
    let written = setup.http.post("/micro/store/user/1", "alice").await;
    assert_eq!(written.status, 200);
    assert_eq!(written.body, "{\"key\":\"user/1\",\"status\":\"ok\"}\n");
    let read = setup.http.get("/micro/store/user/1").await;
    assert_eq!((read.status, read.body.as_str()), (200, "alice"));
    let record = setup
        .store
        .read("user/1", &Default::default())
        .await
        .unwrap();
    assert_eq!(record[0].value, "alice");
    setup.http.post("/micro/store/user%202", "bob").await;
    for path in ["/micro/store", "/micro/store/"] {
        let listed = setup.http.get(path).await;
        assert_eq!(listed.json(), json!(["user 2", "user/1"]), "{path}");
    }
    let missing = setup.http.get("/micro/store/nobody").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error(), "key not found");
    let deleted = setup
        .http
        .send("DELETE", "/micro/store/user/1", &[], "")
        .await;
    assert_eq!(deleted.status, 405);
    assert_eq!(deleted.error(), "use GET or POST");
}

#[tokio::test]
async fn broker_route_publishes_the_body() {
    let setup = setup().await;
    let (sent, mut received) = mpsc::unbounded_channel();
    let handler = broker::handler(move |topic, message| {
        let sent = sent.clone();
        async move {
            sent.send((topic, message.body)).unwrap();
            Ok(())
        }
    });
    let _subscription = setup
        .broker
        .subscribe("events", handler, SubscribeOptions::default())
        .await
        .unwrap();
    let answer = setup.http.post("/micro/broker/events", r#"{"id":1}"#).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, "{\"status\":\"ok\",\"topic\":\"events\"}\n");
    let (topic, body) = tokio::time::timeout(Duration::from_secs(5), received.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((topic.as_str(), &body[..]), ("events", &br#"{"id":1}"#[..]));
    assert_eq!(setup.http.get("/micro/broker/events").await.status, 405);
    let no_topic = setup.http.post("/micro/broker/", "{}").await;
    assert_eq!(no_topic.status, 400);
}

#[tokio::test]
async fn stop_closes_the_listener() {
    let setup = setup().await;
    let address = setup.gateway.address();
    assert_eq!(setup.http.get("/health").await.status, 200);
    tokio::time::timeout(Duration::from_secs(10), setup.gateway.stop())
        .await
        .expect("stop finishes");
    assert!(TcpStream::connect(address).await.is_err());
}

#[test]
fn routes_list_every_route_for_banners() {
    let routes = Gateway::routes().join("\n");
    for path in [
        "/health",
        "/{service}/{endpoint}",
        "/api/{service}/{handler}/{method}",
        "/micro/registry/{name}",
        "/micro/store/{key}",
        "/micro/broker/{topic}",
    ] {
        assert!(routes.contains(path), "{path} missing from {routes}");
    }
}

/// A registry that counts how often it is asked for the whole list (on mDNS, each ask is a
/// multicast query), answering from a real memory registry.
struct CountingLists {
    inner: Memory,
    lists: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl Registry for CountingLists {
    async fn register(&self, service: &Service, ttl: Option<Duration>) -> micro::Result<()> {
        self.inner.register(service, ttl).await
    }
    async fn deregister(&self, service: &Service) -> micro::Result<()> {
        self.inner.deregister(service).await
    }
    async fn get_service(&self, name: &str) -> micro::Result<Vec<Service>> {
        self.inner.get_service(name).await
    }
    async fn list_services(&self) -> micro::Result<Vec<Service>> {
        self.lists
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.list_services().await
    }
    async fn watch(&self, service: Option<&str>) -> micro::Result<micro::registry::Watcher> {
        self.inner.watch(service).await
    }
    fn name(&self) -> &'static str {
        "counting"
    }
}

#[tokio::test]
async fn readiness_probes_do_not_each_query_the_registry() {
    let registry = Arc::new(CountingLists {
        inner: Memory::new(),
        lists: Default::default(),
    });
    let store: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
    let broker: Arc<dyn Broker> = Arc::new(broker::Memory::new());
    let gateway = Gateway::new(registry.clone(), store, broker)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let http = Http::new(gateway.address().to_string());
    for _ in 0..20 {
        assert_eq!(http.get("/health/ready").await.status, 200);
    }
    let lists = registry.lists.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(lists, 1, "20 probes asked the registry {lists} times");
    gateway.stop().await;
}
