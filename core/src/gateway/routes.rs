//! The gateway's JSON routes: which path does what, and the JSON each answers. Shapes follow
//! go-micro v5's `micro api`: `{"error": "..."}` for the gateway's own failures, a service's
//! error object as the service wrote it with its own status, maps with sorted keys, and a
//! newline after each JSON document the gateway writes itself. Every route is declared once,
//! in [`ROUTES`] (and [`SERVICE_ROUTES`] when the dashboard does not own those paths), which
//! both builds the router and prints the start-up banner.

#[cfg(feature = "dashboard")]
use super::pages::Pages;
use crate::Client;
use crate::auth::{Auth, published_scopes};
use crate::broker::{Broker, Message};
use crate::client::{CallOptions, RawRequest};
use crate::errors::{Error, Kind};
use crate::http::{Caller, Failure, Limits, json, read_body};
use crate::registry::{Cache, Metadata, Service};
use crate::store::{ListOptions, ReadOptions, Record, Store, WriteOptions};
use crate::transport::Header;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderName};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, get, post};
use bytes::Bytes;
use serde::Serialize;
use serde::de::IgnoredAny;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a readiness answer is kept: probes at any rate ask the registry at most this often
/// (on mDNS every ask is a multicast query).
const READY_TTL: Duration = Duration::from_secs(5);

/// What every request shares.
pub(super) struct Shared {
    pub(super) cache: Cache,
    pub(super) client: Client,
    pub(super) store: Arc<dyn Store>,
    pub(super) broker: Arc<dyn Broker>,
    pub(super) limits: Limits,
    /// Accounts, tokens and scopes; `None` when auth is off. Only the pages read it: the JSON
    /// routes find the caller through [`crate::http::Authenticator`].
    #[cfg_attr(not(feature = "dashboard"), allow(dead_code))]
    pub(super) auth: Option<Arc<Auth>>,
    /// The HTML pages: their templates and whether the dashboard is on.
    #[cfg(feature = "dashboard")]
    pub(super) pages: Pages,
    /// The last readiness answer and when it was found.
    ready: Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Shared {
    /// Shares these components, limits and faces.
    pub(super) fn new(
        cache: Cache,
        client: Client,
        (store, broker): (Arc<dyn Store>, Arc<dyn Broker>),
        limits: Limits,
        auth: Option<Arc<Auth>>,
        #[cfg(feature = "dashboard")] pages: Pages,
    ) -> Shared {
        Shared {
            cache,
            client,
            store,
            broker,
            limits,
            auth,
            #[cfg(feature = "dashboard")]
            pages,
            ready: Mutex::new(None),
        }
    }
}

impl Shared {
    /// The whole request body, within the gateway's limits.
    pub(super) async fn read_body(&self, body: Body) -> Result<Bytes, Failure> {
        read_body(body, self.limits.max_body_size).await
    }
}

/// The answer to one request.
pub(super) type Reply = Response;

/// One route: its path, its uses for the banner (a method and what it does, each), and its
/// handler.
pub(super) struct Route {
    path: &'static str,
    uses: &'static [(&'static str, &'static str)],
    handler: fn() -> MethodRouter<Arc<Shared>>,
}

impl Route {
    /// The banner lines, one per use: `METHOD path  what it does`.
    pub(super) fn lines(&self) -> impl Iterator<Item = String> + '_ {
        let path = self.path.replace("{*", "{");
        self.uses
            .iter()
            .map(move |(method, doc)| format!("{method:<5}{path:<37}{doc}"))
    }
}

/// The routes every gateway serves.
pub(super) const ROUTES: &[Route] = &[
    Route {
        path: "/api/{service}/{endpoint}",
        uses: &[("POST", "call an endpoint (Handler.Method)")],
        handler: || any(api_call),
    },
    Route {
        path: "/api/{service}/{handler}/{method}",
        uses: &[("POST", "call an endpoint")],
        handler: || any(api_call_split),
    },
    Route {
        path: "/api/{service}",
        uses: &[("GET", "describe a service")],
        handler: || any(api_describe),
    },
    Route {
        path: "/health",
        uses: &[("GET", "gateway health")],
        handler: || get(health),
    },
    Route {
        path: "/health/live",
        uses: &[("GET", "the gateway runs")],
        handler: || get(health),
    },
    Route {
        path: "/health/ready",
        uses: &[("GET", "the gateway reaches the registry")],
        handler: || get(ready),
    },
    Route {
        path: "/micro/registry",
        uses: &[("GET", "registered services")],
        handler: || get(list),
    },
    Route {
        path: "/micro/registry/{*name}",
        uses: &[("GET", "describe a service")],
        handler: || get(registry_describe),
    },
    Route {
        path: "/micro/store",
        uses: &[("GET", "list store keys")],
        handler: || get(store_list).fallback(|| async { Failure::only("GET") }),
    },
    Route {
        path: "/micro/store/{*key}",
        uses: &[("GET", "read a record"), ("POST", "write a record")],
        handler: || {
            get(store_read)
                .post(store_write)
                .fallback(|| async { Failure::only("GET or POST") })
        },
    },
    Route {
        path: "/micro/broker",
        uses: &[("POST", "publish a message (name the topic)")],
        handler: || any(no_topic),
    },
    Route {
        path: "/micro/broker/{*topic}",
        uses: &[("POST", "publish a message")],
        handler: || post(publish).fallback(|| async { Failure::only("POST") }),
    },
];

/// go-micro's short routes, served when the dashboard does not own these paths.
pub(super) const SERVICE_ROUTES: &[Route] = &[
    Route {
        path: "/",
        uses: &[("GET", "services and their endpoints")],
        handler: || get(list),
    },
    Route {
        path: "/{service}",
        uses: &[(
            "GET",
            "describe a service (or call the endpoint a Micro-Endpoint header names)",
        )],
        handler: || any(service_root),
    },
    Route {
        path: "/{service}/{endpoint}",
        uses: &[("POST", "call an endpoint (Handler.Method)")],
        handler: || any(api_call),
    },
    Route {
        path: "/{service}/{handler}/{method}",
        uses: &[("POST", "call an endpoint")],
        handler: || any(api_call_split),
    },
];

/// The JSON routes over `shared`, with go-micro's short routes unless `with_services` is off.
pub(super) fn router(shared: Arc<Shared>, with_services: bool) -> Router {
    let mut router = Router::new();
    let routes = ROUTES
        .iter()
        .chain(if with_services { SERVICE_ROUTES } else { &[] });
    for route in routes {
        router = router.route(route.path, (route.handler)());
    }
    router.with_state(shared)
}

async fn health() -> Reply {
    json(StatusCode::OK, crate::http::encode(&Status::ok()))
}

/// 200 when the registry answers, 503 saying why when it does not; the answer is kept for
/// [`READY_TTL`].
async fn ready(State(shared): State<Arc<Shared>>) -> Reply {
    let kept = shared
        .ready
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .filter(|(at, _)| at.elapsed() < READY_TTL);
    let answer = match kept {
        Some((_, answer)) => answer,
        None => {
            let answer = match shared.cache.registry().list_services().await {
                Ok(_) => Ok(()),
                Err(err) => Err(format!("the registry does not answer: {}", err.detail)),
            };
            *shared.ready.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((Instant::now(), answer.clone()));
            answer
        }
    };
    match answer {
        Ok(()) => health().await,
        Err(why) => Failure::new(StatusCode::SERVICE_UNAVAILABLE, why).into_response(),
    }
}

/// `/api/{service}/{endpoint}` and `/{service}/{endpoint}`.
async fn api_call(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path((service, endpoint)): Path<(String, String)>,
    request: Request,
) -> Reply {
    call(&shared, &caller, &service, &endpoint, request).await
}

/// `/api/{service}/{Handler}/{Method}` and `/{service}/{Handler}/{Method}`.
async fn api_call_split(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path((service, handler, method)): Path<(String, String, String)>,
    request: Request,
) -> Reply {
    let endpoint = format!("{handler}.{method}");
    call(&shared, &caller, &service, &endpoint, request).await
}

/// `/api/{service}`: describes it, or calls the endpoint a `Micro-Endpoint` header names.
async fn api_describe(
    state: State<Arc<Shared>>,
    caller: Caller,
    service: Path<String>,
    request: Request,
) -> Reply {
    service_root(state, caller, service, request).await
}

/// `/{service}`: describes it, or calls the endpoint a `Micro-Endpoint` header names.
async fn service_root(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(service): Path<String>,
    request: Request,
) -> Reply {
    let chosen = request
        .headers()
        .get("micro-endpoint")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    match chosen {
        Some(endpoint) => call(&shared, &caller, &service, &endpoint, request).await,
        None => describe(&shared, &service).await,
    }
}

async fn registry_describe(
    State(shared): State<Arc<Shared>>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Reply {
    describe(&shared, &name).await
}

/// Calls `endpoint` of `service` with the request's JSON body and headers.
async fn call(
    shared: &Shared,
    caller: &Caller,
    service: &str,
    endpoint: &str,
    request: Request,
) -> Reply {
    let (parts, body) = request.into_parts();
    let body = match shared.read_body(body).await {
        Ok(body) => body,
        Err(failure) => return failure.into_response(),
    };
    invoke(
        shared,
        caller,
        service,
        endpoint,
        metadata(&parts.headers),
        body,
    )
    .await
}

/// Calls `endpoint` of `service` for `caller` (checked against the endpoint's scopes) with a
/// JSON `body` (empty means `{}`) and call `metadata`; the answer is the endpoint's JSON, the
/// service's error object with its own status, or the gateway's `{"error": ...}`.
pub(super) async fn invoke(
    shared: &Shared,
    caller: &Caller,
    service: &str,
    endpoint: &str,
    metadata: Header,
    body: Bytes,
) -> Reply {
    match try_invoke(shared, caller, service, endpoint, metadata, body).await {
        Ok(reply) => reply,
        Err(failure) => failure.into_response(),
    }
}

async fn try_invoke(
    shared: &Shared,
    caller: &Caller,
    service: &str,
    endpoint: &str,
    metadata: Header,
    body: Bytes,
) -> Result<Reply, Failure> {
    let published = check_endpoint(shared, service, endpoint).await?;
    caller
        .require_endpoint(service, endpoint, &published)
        .await?;
    let body = if body.trim_ascii().is_empty() {
        Bytes::from_static(b"{}")
    } else {
        body
    };
    if let Err(err) = serde_json::from_slice::<IgnoredAny>(&body) {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            format!(
                "the request body is not JSON ({err}); send a JSON object such as {{\"name\":\"Alice\"}}"
            ),
        ));
    }
    let request = RawRequest {
        service: service.to_string(),
        endpoint: endpoint.to_string(),
        body,
    };
    let options = CallOptions {
        metadata,
        ..CallOptions::default()
    };
    match shared.client.call_raw(request, &options).await {
        Ok(response) => Ok(json(StatusCode::OK, response.body)),
        Err(err) if err.kind == Kind::NoService => Err(service_not_found(service)),
        Err(err) => Ok(service_error(&err)),
    }
}

/// A service's (or the client's) error as go-micro's `micro api` answers it: the error object
/// itself, with its code as the status (500 when the code is not an error status).
fn service_error(err: &Error) -> Reply {
    let status = u16::try_from(err.code)
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut text = err.to_json();
    text.push('\n');
    json(status, text)
}

/// A 404 unless the registry knows `service` with nodes and, when it lists endpoints,
/// `endpoint` among them; a 400 for a stream endpoint, which a unary HTTP call cannot drive.
/// Otherwise the scopes the endpoint publishes.
async fn check_endpoint(
    shared: &Shared,
    service: &str,
    endpoint: &str,
) -> Result<Vec<String>, Failure> {
    let services = match shared.cache.lookup(service).await {
        Ok(services) => services,
        Err(err) if err.kind == Kind::NotFound => return Err(service_not_found(service)),
        Err(err) => {
            return Err(Failure::new(
                StatusCode::BAD_GATEWAY,
                format!("looking up service {service}: {}", err.detail),
            ));
        }
    };
    if services.iter().all(|s| s.nodes.is_empty()) {
        return Err(service_not_found(service));
    }
    let mut endpoints = services.iter().flat_map(|s| &s.endpoints).peekable();
    if endpoints.peek().is_none() {
        // The service does not list its endpoints: let it answer for itself.
        return Ok(Vec::new());
    }
    match endpoints.find(|e| e.name == endpoint) {
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            format!("endpoint not found: {service} has no endpoint {endpoint}"),
        )),
        Some(e) if e.metadata.get("stream").is_some_and(|v| v == "true") => Err(Failure::new(
            StatusCode::BAD_REQUEST,
            format!(
                "{endpoint} of {service} is a stream endpoint; the gateway calls unary endpoints only"
            ),
        )),
        Some(e) => Ok(published_scopes(&e.metadata)),
    }
}

/// The request headers a call carries as metadata: all but those about this HTTP hop (the
/// `x-request-id` the HTTP layer answers with included: the call has its own `Micro-Id`),
/// those the client sets itself, and the caller's credentials (the gateway's business, never
/// the service's). The client leaves out a browser's own headers
/// ([`crate::transport::is_browser_header`]).
pub(super) fn metadata(headers: &HeaderMap) -> Header {
    const SKIPPED: &[HeaderName] = &[
        header::HOST,
        header::CONNECTION,
        header::CONTENT_LENGTH,
        header::CONTENT_TYPE,
        header::ACCEPT,
        header::ACCEPT_ENCODING,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::EXPECT,
        header::AUTHORIZATION,
        header::COOKIE,
        header::PROXY_AUTHORIZATION,
        header::REFERER,
    ];
    // Most requests carry only skipped headers: start empty, which allocates nothing.
    let mut metadata = Header::new();
    for (name, value) in headers {
        if SKIPPED.contains(name) || matches!(name.as_str(), "keep-alive" | "x-request-id") {
            continue;
        }
        if let Ok(value) = value.to_str() {
            metadata.insert(name.as_str().to_string(), value.to_string());
        }
    }
    metadata
}

/// One entry of the service list.
#[derive(Serialize)]
struct Listed<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    endpoints: Vec<&'a str>,
}

/// Every registered service with its endpoints, sorted by name.
async fn list(State(shared): State<Arc<Shared>>, _caller: Caller) -> Reply {
    let names: BTreeSet<String> = match shared.cache.registry().list_services().await {
        Ok(services) => services.into_iter().map(|s| s.name).collect(),
        Err(err) => return Failure::from_error(&err).into_response(),
    };
    let mut found = Vec::with_capacity(names.len());
    for name in &names {
        found.push((name, shared.cache.lookup(name).await.ok()));
    }
    let listed: Vec<Listed> = found
        .iter()
        .map(|(name, services)| Listed {
            name,
            endpoints: services
                .as_ref()
                .and_then(|s| s.first())
                .map(|s| s.endpoints.iter().map(|e| e.name.as_str()).collect())
                .unwrap_or_default(),
        })
        .collect();
    json(StatusCode::OK, crate::http::encode(&listed))
}

/// A service as go-micro's `micro api` describes it (keys in Go's sorted map order).
#[derive(Serialize)]
struct Described<'a> {
    endpoints: Option<Vec<DescribedEndpoint<'a>>>,
    name: &'a str,
    nodes: usize,
    version: &'a str,
}

#[derive(Serialize)]
struct DescribedEndpoint<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Metadata::is_empty")]
    metadata: &'a Metadata,
}

/// The first version of `name`: its version, endpoints and node count; 404 when unknown.
async fn describe(shared: &Shared, name: &str) -> Reply {
    let services = match shared.cache.lookup(name).await {
        Ok(services) if !services.is_empty() => services,
        _ => return service_not_found(name).into_response(),
    };
    let service: &Service = &services[0];
    let endpoints: Vec<DescribedEndpoint> = service
        .endpoints
        .iter()
        .map(|e| DescribedEndpoint {
            name: &e.name,
            metadata: &e.metadata,
        })
        .collect();
    let described = Described {
        endpoints: (!endpoints.is_empty()).then_some(endpoints),
        name: &service.name,
        nodes: service.nodes.len(),
        version: &service.version,
    };
    json(StatusCode::OK, crate::http::encode(&described))
}

/// `{"status":"ok"}`, with the key or topic acted on.
#[derive(Serialize)]
struct Status<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    topic: Option<&'a str>,
}

impl Status<'_> {
    fn ok() -> Self {
        Status {
            key: None,
            status: "ok",
            topic: None,
        }
    }
}

/// Every key in the store's default table (administrators only).
async fn store_list(State(shared): State<Arc<Shared>>, caller: Caller) -> Result<Reply, Failure> {
    caller.require_admin()?;
    let keys = shared
        .store
        .list(&ListOptions::default())
        .await
        .map_err(|e| Failure::from_error(&e))?;
    Ok(json(StatusCode::OK, crate::http::encode(&keys)))
}

/// The value at `key` as the body (administrators only).
async fn store_read(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<Reply, Failure> {
    caller.require_admin()?;
    let not_found = || Failure::new(StatusCode::NOT_FOUND, "key not found");
    match shared.store.read(&key, &ReadOptions::default()).await {
        Ok(mut records) if !records.is_empty() => {
            Ok(json(StatusCode::OK, records.swap_remove(0).value))
        }
        Ok(_) => Err(not_found()),
        Err(err) if err.kind == Kind::NotFound => Err(not_found()),
        Err(err) => Err(Failure::from_error(&err)),
    }
}

/// Writes the body at `key` (administrators only).
async fn store_write(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(key): Path<String>,
    body: Body,
) -> Result<Reply, Failure> {
    caller.require_admin()?;
    let value = shared.read_body(body).await?;
    shared
        .store
        .write(Record::new(&key, value), &WriteOptions::default())
        .await
        .map_err(|e| Failure::from_error(&e))?;
    let status = Status {
        key: Some(&key),
        ..Status::ok()
    };
    Ok(json(StatusCode::OK, crate::http::encode(&status)))
}

async fn no_topic(_caller: Caller) -> Failure {
    Failure::new(
        StatusCode::BAD_REQUEST,
        "topic required: /micro/broker/{topic}",
    )
}

/// Publishes the body, as is, on `topic` (administrators only).
async fn publish(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(topic): Path<String>,
    body: Body,
) -> Result<Reply, Failure> {
    caller.require_admin()?;
    let body = shared.read_body(body).await?;
    shared
        .broker
        .publish(&topic, Message::new(body))
        .await
        .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.detail))?;
    let status = Status {
        topic: Some(&topic),
        ..Status::ok()
    };
    Ok(json(StatusCode::OK, crate::http::encode(&status)))
}

fn service_not_found(service: &str) -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        format!("service not found: {service}"),
    )
}
