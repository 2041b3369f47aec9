//! The gateway's routes: which path does what, and the JSON each answers. Shapes follow
//! go-micro v5's `micro api`: `{"error": "..."}` for every failure, maps with sorted keys,
//! and a newline after each JSON document the gateway writes itself.

use super::ID;
use super::guard::{self, LoginLimiter};
use super::pages::{self, Pages};
use crate::Client;
use crate::auth::{Auth, Claims, published_scopes};
use crate::broker::{Broker, Message};
use crate::client::{CallOptions, RawRequest};
use crate::errors::Error;
use crate::registry::{Cache, Metadata, Service};
use crate::store::{ListOptions, ReadOptions, Record, Store, WriteOptions};
use crate::transport::Header;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;
use serde::de::IgnoredAny;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// The id of errors the client raises itself, e.g. for a service with no nodes.
const CLIENT_ID: &str = "go.micro.client";

/// What every request shares.
pub(super) struct Shared {
    pub(super) cache: Cache,
    pub(super) client: Client,
    pub(super) store: Arc<dyn Store>,
    pub(super) broker: Arc<dyn Broker>,
    pub(super) max_body_size: usize,
    /// Accounts, tokens and scopes; `None` when auth is off.
    pub(super) auth: Option<Arc<Auth>>,
    /// Where `micro run` keeps logs and pid files; `Some` turns the dashboard on.
    pub(super) dashboard: Option<PathBuf>,
    /// The HTML pages' templates.
    pub(super) pages: Pages,
    /// Failed logins per client address.
    pub(super) limiter: LoginLimiter,
}

/// The answer to one request.
pub(super) type Reply = Response<Full<Bytes>>;

/// What a path asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    /// `/health`, `/health/live`: the gateway runs.
    Health,
    /// `/health/ready`: the gateway can reach the registry.
    Ready,
    /// An HTML page or the login route.
    Page,
    /// `/`, `/micro/registry`.
    List,
    /// `/micro/registry/{name}`.
    Describe(&'a str),
    /// `/{service}[/{endpoint}]`, go-micro's form: no endpoint (and no `Micro-Endpoint`
    /// header) describes the service.
    Service(&'a str, Cow<'a, str>),
    /// `/api/{service}/{Handler.Method}` or `/api/{service}/{Handler}/{Method}`.
    Call(&'a str, Cow<'a, str>),
    /// `/micro/store`.
    StoreList,
    /// `/micro/store/{key}`.
    StoreKey(&'a str),
    /// `/micro/broker/{topic}`.
    Publish(&'a str),
}

/// Answers one request from `peer` (the connection adds the security headers).
pub(super) async fn handle(shared: &Shared, request: Request<Incoming>, peer: IpAddr) -> Reply {
    let (parts, body) = request.into_parts();
    let path = percent_encoding::percent_decode_str(parts.uri.path()).decode_utf8_lossy();
    let route = if pages::owns(shared, &path) {
        Route::Page
    } else {
        route(&path)
    };
    let claims = match route {
        Route::Health | Route::Ready | Route::Page => None,
        _ => match guard::permit(shared, &parts.headers, parts.uri.query()).await {
            Ok(claims) => claims,
            Err(reply) => return reply,
        },
    };
    if matches!(
        route,
        Route::StoreList | Route::StoreKey(_) | Route::Publish(_)
    ) && !guard::admin_or_open(claims.as_ref())
    {
        return guard::forbidden(&[crate::auth::ALL_SCOPES.to_string()]);
    }
    match route {
        Route::Health => json(StatusCode::OK, encode(&Status::ok())),
        Route::Ready => ready(shared).await,
        Route::Page => {
            // Boxed: the pages' future is large, and the API calls should not carry its size.
            let path = path.into_owned();
            Box::pin(pages::handle(shared, parts, body, peer, &path)).await
        }
        Route::List => list(shared).await,
        Route::Describe(name) => describe(shared, name).await,
        Route::Service(service, endpoint) => {
            let chosen = parts
                .headers
                .get("micro-endpoint")
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty());
            match chosen {
                Some(endpoint) => {
                    call(shared, claims, service, endpoint, &parts.headers, body).await
                }
                None if endpoint.is_empty() => describe(shared, service).await,
                None => call(shared, claims, service, &endpoint, &parts.headers, body).await,
            }
        }
        Route::Call(service, endpoint) => {
            call(shared, claims, service, &endpoint, &parts.headers, body).await
        }
        Route::StoreList => store_list(shared).await,
        Route::StoreKey(key) => store_key(shared, key, &parts.method, body).await,
        Route::Publish(topic) => publish(shared, topic, &parts.method, body).await,
    }
}

/// 200 when the registry answers, 503 saying why when it does not.
async fn ready(shared: &Shared) -> Reply {
    match shared.cache.registry().list_services().await {
        Ok(_) => json(StatusCode::OK, encode(&Status::ok())),
        Err(err) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the registry does not answer: {}", err.detail),
        ),
    }
}

/// Routes a (decoded) path, with go-micro's precedence: exact framework paths, then
/// framework prefixes, then services.
fn route(path: &str) -> Route<'_> {
    match path {
        "/health" | "/health/live" => return Route::Health,
        "/health/ready" => return Route::Ready,
        "/micro/registry" => return Route::List,
        "/micro/store" => return Route::StoreList,
        _ => {}
    }
    if let Some(name) = path.strip_prefix("/micro/registry/") {
        return if name.is_empty() {
            Route::List
        } else {
            Route::Describe(name)
        };
    }
    if let Some(key) = path.strip_prefix("/micro/store/") {
        return if key.is_empty() {
            Route::StoreList
        } else {
            Route::StoreKey(key)
        };
    }
    if let Some(topic) = path.strip_prefix("/micro/broker/") {
        return Route::Publish(topic);
    }
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Route::List;
    }
    if let Some(route) = path.strip_prefix("api/").and_then(api_route) {
        return route;
    }
    let (service, endpoint) = path.split_once('/').unwrap_or((path, ""));
    Route::Service(service, endpoint_name(endpoint))
}

/// `{service}`, `{service}/{Handler.Method}` or `{service}/{Handler}/{Method}` after `/api/`.
fn api_route(rest: &str) -> Option<Route<'_>> {
    let (service, endpoint) = rest.split_once('/').unwrap_or((rest, ""));
    if service.is_empty() || endpoint.split('/').count() > 2 {
        return None;
    }
    let endpoint = endpoint_name(endpoint);
    Some(if endpoint.is_empty() {
        Route::Service(service, endpoint)
    } else {
        Route::Call(service, endpoint)
    })
}

/// `Handler/Method` as `Handler.Method`; anything else as given.
fn endpoint_name(endpoint: &str) -> Cow<'_, str> {
    match endpoint.split_once('/') {
        Some((handler, method)) if !method.contains('/') => {
            Cow::Owned(format!("{handler}.{method}"))
        }
        _ => Cow::Borrowed(endpoint),
    }
}

/// Calls `endpoint` of `service` with the request's JSON body and headers.
async fn call(
    shared: &Shared,
    claims: Option<Claims>,
    service: &str,
    endpoint: &str,
    headers: &HeaderMap,
    body: Incoming,
) -> Reply {
    let body = match read_body(body, shared.max_body_size).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    invoke(
        shared,
        claims.as_ref(),
        service,
        endpoint,
        metadata(headers),
        body,
    )
    .await
}

/// Calls `endpoint` of `service` for `claims` (checked against the endpoint's scopes) with a
/// JSON `body` (empty means `{}`) and call `metadata`; the answer is the endpoint's JSON or
/// the gateway's `{"error": ...}`.
pub(super) async fn invoke(
    shared: &Shared,
    claims: Option<&Claims>,
    service: &str,
    endpoint: &str,
    metadata: Header,
    body: Bytes,
) -> Reply {
    let published = match check_endpoint(shared, service, endpoint).await {
        Ok(published) => published,
        Err(reply) => return reply,
    };
    if let Err(reply) = guard::allow(shared, claims, service, endpoint, &published).await {
        return reply;
    }
    let body = if body.trim_ascii().is_empty() {
        Bytes::from_static(b"{}")
    } else {
        body
    };
    if let Err(err) = serde_json::from_slice::<IgnoredAny>(&body) {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "the request body is not JSON ({err}); send a JSON object such as {{\"name\":\"Alice\"}}"
            ),
        );
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
        Ok(response) => json(StatusCode::OK, response.body),
        Err(err) if err.code == 404 && err.id == CLIENT_ID => service_not_found(service),
        Err(err) => error(StatusCode::BAD_GATEWAY, err.to_json()),
    }
}

/// A 404 unless the registry knows `service` with nodes and, when it lists endpoints,
/// `endpoint` among them; a 400 for a stream endpoint, which a unary HTTP call cannot drive.
/// Otherwise the scopes the endpoint publishes.
async fn check_endpoint(
    shared: &Shared,
    service: &str,
    endpoint: &str,
) -> Result<Vec<String>, Reply> {
    let services = match shared.cache.lookup(service).await {
        Ok(services) => services,
        Err(err) if err.code == 404 => return Err(service_not_found(service)),
        Err(err) => {
            return Err(error(
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
        None => Err(error(
            StatusCode::NOT_FOUND,
            format!("endpoint not found: {service} has no endpoint {endpoint}"),
        )),
        Some(e) if e.metadata.get("stream").is_some_and(|v| v == "true") => Err(error(
            StatusCode::BAD_REQUEST,
            format!(
                "{endpoint} of {service} is a stream endpoint; the gateway calls unary endpoints only"
            ),
        )),
        Some(e) => Ok(published_scopes(&e.metadata)),
    }
}

/// The request headers a call carries as metadata: all but those about this HTTP hop and
/// those the client sets itself.
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
    ];
    // Most requests carry only skipped headers: start empty, which allocates nothing.
    let mut metadata = Header::new();
    for (name, value) in headers {
        if SKIPPED.contains(name) || name.as_str() == "keep-alive" {
            continue;
        }
        if let Ok(value) = value.to_str() {
            metadata.insert(name.as_str().to_string(), value.to_string());
        }
    }
    metadata
}

/// The body, or a 413 when it is over `limit` (told by Content-Length or found reading).
pub(super) async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, Reply> {
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(limit)),
        Err(err) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("failed to read the request body: {err}"),
        )),
    }
}

fn too_large(limit: usize) -> Reply {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is over the gateway's limit of {limit} bytes; send less"),
    )
}

/// One entry of the service list.
#[derive(Serialize)]
struct Listed<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    endpoints: Vec<&'a str>,
}

/// Every registered service with its endpoints, sorted by name.
async fn list(shared: &Shared) -> Reply {
    let names: BTreeSet<String> = match shared.cache.registry().list_services().await {
        Ok(services) => services.into_iter().map(|s| s.name).collect(),
        Err(err) => return error(StatusCode::INTERNAL_SERVER_ERROR, err.detail),
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
    json(StatusCode::OK, encode(&listed))
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
        _ => return service_not_found(name),
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
    json(StatusCode::OK, encode(&described))
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

/// Every key in the store's default table.
async fn store_list(shared: &Shared) -> Reply {
    match shared.store.list(&ListOptions::default()).await {
        Ok(keys) => json(StatusCode::OK, encode(&keys)),
        Err(err) => store_error(err),
    }
}

/// GET reads the value at `key` as the body; POST writes the body there.
async fn store_key(shared: &Shared, key: &str, method: &Method, body: Incoming) -> Reply {
    match *method {
        Method::GET => match shared.store.read(key, &ReadOptions::default()).await {
            Ok(records) if !records.is_empty() => json(StatusCode::OK, records[0].value.clone()),
            Ok(_) => error(StatusCode::NOT_FOUND, "key not found"),
            Err(err) if err.code == 404 => error(StatusCode::NOT_FOUND, "key not found"),
            Err(err) => store_error(err),
        },
        Method::POST => {
            let value = match read_body(body, shared.max_body_size).await {
                Ok(value) => value,
                Err(reply) => return reply,
            };
            let record = Record::new(key, value);
            match shared.store.write(record, &WriteOptions::default()).await {
                Ok(()) => json(
                    StatusCode::OK,
                    encode(&Status {
                        key: Some(key),
                        ..Status::ok()
                    }),
                ),
                Err(err) => store_error(err),
            }
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "use GET or POST"),
    }
}

/// The store's own 4xx (a bad key, ...) keeps its code; anything else is a 500.
fn store_error(err: Error) -> Reply {
    let status = match StatusCode::from_u16(err.code as u16) {
        Ok(status) if status.is_client_error() => status,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, err.detail)
}

/// Publishes the body, as is, on `topic`.
async fn publish(shared: &Shared, topic: &str, method: &Method, body: Incoming) -> Reply {
    if topic.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "topic required: /micro/broker/{topic}",
        );
    }
    if method != Method::POST {
        return error(StatusCode::METHOD_NOT_ALLOWED, "use POST to publish");
    }
    let body = match read_body(body, shared.max_body_size).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    match shared.broker.publish(topic, Message::new(body)).await {
        Ok(()) => json(
            StatusCode::OK,
            encode(&Status {
                topic: Some(topic),
                ..Status::ok()
            }),
        ),
        Err(err) => error(StatusCode::INTERNAL_SERVER_ERROR, err.detail),
    }
}

fn service_not_found(service: &str) -> Reply {
    error(
        StatusCode::NOT_FOUND,
        format!("service not found: {service}"),
    )
}

/// `{"error": message}` with `status`.
pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Reply {
    #[derive(Serialize)]
    struct ErrorBody {
        error: String,
    }
    let message = message.into();
    tracing::debug!(id = ID, %status, message, "gateway request failed");
    json(status, encode(&ErrorBody { error: message }))
}

/// JSON text and a newline, as Go's json.Encoder writes it.
pub(super) fn encode<T: Serialize>(value: &T) -> Bytes {
    let mut text = serde_json::to_vec(value).unwrap_or_default();
    text.push(b'\n');
    Bytes::from(text)
}

/// A JSON response.
pub(super) fn json(status: StatusCode, body: Bytes) -> Reply {
    let mut reply = Response::new(Full::new(body));
    *reply.status_mut() = status;
    reply.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_as_go_micro_routes_them() {
        let call = |s, e: &'static str| Route::Call(s, Cow::Borrowed(e));
        let service = |s, e: &'static str| Route::Service(s, Cow::Borrowed(e));
        let cases = [
            ("/", Route::List),
            ("/health", Route::Health),
            ("/health/live", Route::Health),
            ("/health/ready", Route::Ready),
            ("/micro/registry", Route::List),
            ("/micro/registry/", Route::List),
            ("/micro/registry/helloworld", Route::Describe("helloworld")),
            ("/micro/store", Route::StoreList),
            ("/micro/store/", Route::StoreList),
            ("/micro/store/user/1", Route::StoreKey("user/1")),
            ("/micro/broker/events", Route::Publish("events")),
            ("/micro/broker/", Route::Publish("")),
            ("/helloworld", service("helloworld", "")),
            ("/helloworld/", service("helloworld", "")),
            (
                "/helloworld/Helloworld.Call",
                service("helloworld", "Helloworld.Call"),
            ),
            (
                "/helloworld/Helloworld/Call",
                service("helloworld", "Helloworld.Call"),
            ),
            (
                "/api/helloworld/Helloworld.Call",
                call("helloworld", "Helloworld.Call"),
            ),
            (
                "/api/helloworld/Helloworld/Call",
                call("helloworld", "Helloworld.Call"),
            ),
            ("/api/helloworld", service("helloworld", "")),
            ("/api", service("api", "")),
            ("/api/a/b/c/d", service("api", "a/b/c/d")),
        ];
        for (path, expected) in cases {
            assert_eq!(route(path), expected, "{path}");
        }
    }
}
