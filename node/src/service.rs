//! `Service`: endpoints and subscribers gathered in JS, then started on the engine. It wraps
//! the engine's builder until `start`, then its running handle until `stop`.

use crate::components::{Broker, Registry, Store};
use crate::error::{OrThrow, bad_input};
use crate::handlers::{self, EventFn, StreamFn, UnaryFn};
use micro::schema;
use micro::service::Running;
use napi_derive::napi;
use std::collections::HashMap;
use std::sync::Mutex;

const ID: &str = "go-micro.node";

/// How a service is published.
#[napi(object)]
pub struct ServiceOptions {
    /// The version published in the registry (default `latest`).
    pub version: Option<String>,
    /// The listen address, `host:port` (default `MICRO_SERVER_ADDRESS`, else `127.0.0.1:0`).
    pub address: Option<String>,
    /// Service metadata published in the registry.
    pub metadata: Option<HashMap<String, String>>,
}

/// What is published about an endpoint.
#[napi(object)]
pub struct EndpointDoc {
    /// What the endpoint does.
    pub description: Option<String>,
    /// An example request, as JSON text.
    pub example: Option<String>,
    /// The request's JSON Schema, as JSON text (an object schema).
    pub request_schema: Option<String>,
    /// The request type's name in the registry (default: the schema's `title`, else `Request`).
    pub request_type: Option<String>,
    /// The response's JSON Schema, as JSON text (an object schema).
    pub response_schema: Option<String>,
    /// The response type's name in the registry (default: the schema's `title`, else `Response`).
    pub response_type: Option<String>,
    /// The scopes a caller's token needs.
    pub scopes: Option<Vec<String>>,
    /// More endpoint metadata (for example `mcp_name`).
    pub metadata: Option<HashMap<String, String>>,
}

enum State {
    Building(Box<micro::Service>),
    Starting,
    Running(Box<Running>),
    Stopped,
}

/// A service: add endpoints and subscribers, then `start` it (or `run` it from JS).
#[napi]
pub struct Service {
    name: String,
    state: Mutex<State>,
}

#[napi]
impl Service {
    /// A service named `name`, using `registry`, `broker` and `store` when given and the
    /// `MICRO_*` environment's choices otherwise.
    #[napi(constructor)]
    pub fn new(
        name: String,
        options: Option<ServiceOptions>,
        registry: Option<&Registry>,
        broker: Option<&Broker>,
        store: Option<&Store>,
    ) -> napi::Result<Self> {
        if name.trim().is_empty() {
            return Err(bad_input(
                ID,
                "a service needs a name, e.g. new Service('greeter')",
            ));
        }
        let mut service = micro::Service::new(name.clone());
        if let Some(options) = options {
            if let Some(version) = options.version {
                service = service.version(version);
            }
            if let Some(address) = options.address {
                service = service.address(address);
            }
            for (key, value) in options.metadata.unwrap_or_default() {
                service = service.metadata(key, value);
            }
        }
        if let Some(registry) = registry {
            service = service.registry(registry.inner.clone());
        }
        if let Some(broker) = broker {
            service = service.broker(broker.inner.clone());
        }
        if let Some(store) = store {
            service = service.store(store.inner.clone());
        }
        Ok(Service {
            name,
            state: Mutex::new(State::Building(Box::new(service))),
        })
    }

    /// The service's name.
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// Serves the unary endpoint `endpoint` (`Handler.Method`) with `handler`, published
    /// with `doc`.
    #[napi(
        ts_args_type = "endpoint: string, handler: (request: Request) => Promise<Reply>, doc?: EndpointDoc | undefined | null"
    )]
    pub fn handle(
        &self,
        endpoint: String,
        handler: UnaryFn,
        doc: Option<EndpointDoc>,
    ) -> napi::Result<()> {
        let handler = handlers::unary(handler);
        self.build(|s| s.handle_raw(&endpoint, handler))?;
        self.document(&endpoint, doc)
    }

    /// Serves the stream endpoint `endpoint` with `handler`, which gets the stream and
    /// settles when it is done.
    #[napi(
        ts_args_type = "endpoint: string, handler: (stream: ServerStream) => Promise<Reply>, doc?: EndpointDoc | undefined | null"
    )]
    pub fn stream(
        &self,
        endpoint: String,
        handler: StreamFn,
        doc: Option<EndpointDoc>,
    ) -> napi::Result<()> {
        let handler = handlers::stream(handler);
        self.build(|s| s.stream(&endpoint, move |ctx, stream| handler(ctx, stream)))?;
        self.document(&endpoint, doc)
    }

    /// Runs `handler` for each message on `topic`; with a `queue`, the service's instances
    /// share the messages.
    #[napi(
        ts_args_type = "topic: string, handler: (event: Event) => Promise<Reply>, queue?: string | undefined | null"
    )]
    pub fn subscribe(
        &self,
        topic: String,
        handler: EventFn,
        queue: Option<String>,
    ) -> napi::Result<()> {
        let handler = handlers::subscriber(handler);
        self.build(|s| s.subscribe(&topic, handler, queue.as_deref()))
    }

    /// Listens, subscribes and registers; resolves to the address it listens on.
    #[napi]
    pub async fn start(&self) -> napi::Result<String> {
        let state = std::mem::replace(&mut *self.lock(), State::Starting);
        let service = match state {
            State::Building(service) => service,
            other => {
                let what = describe(&other);
                *self.lock() = other;
                return Err(bad_input(
                    ID,
                    format!("service {} is {what}; start a service once", self.name),
                ));
            }
        };
        match (*service).start().await {
            Ok(running) => {
                let address = running.address().to_string();
                *self.lock() = State::Running(Box::new(running));
                Ok(address)
            }
            Err(err) => {
                *self.lock() = State::Stopped;
                Err(crate::error::throw(err))
            }
        }
    }

    /// Deregisters, unsubscribes and waits for in-flight requests; stopping a service that
    /// is not running does nothing.
    #[napi]
    pub async fn stop(&self) -> napi::Result<()> {
        let state = std::mem::replace(&mut *self.lock(), State::Stopped);
        match state {
            State::Running(running) => running.stop().await.or_throw(),
            State::Building(service) => {
                drop(service);
                Ok(())
            }
            other => {
                *self.lock() = other;
                Ok(())
            }
        }
    }
}

impl Service {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the engine's builder; an error once the service has started.
    fn build(&self, change: impl FnOnce(micro::Service) -> micro::Service) -> napi::Result<()> {
        let mut state = self.lock();
        match std::mem::replace(&mut *state, State::Stopped) {
            State::Building(service) => {
                *state = State::Building(Box::new(change(*service)));
                Ok(())
            }
            other => {
                let what = describe(&other);
                *state = other;
                Err(bad_input(
                    ID,
                    format!(
                        "service {} is {what}; add endpoints and subscribers before start()",
                        self.name
                    ),
                ))
            }
        }
    }

    /// Publishes an endpoint's documentation and schemas; bad JSON or schemas are a 400 now
    /// rather than at start.
    fn document(&self, endpoint: &str, doc: Option<EndpointDoc>) -> napi::Result<()> {
        let Some(doc) = doc else { return Ok(()) };
        let request = schema_of(
            endpoint,
            "request",
            doc.request_schema,
            doc.request_type,
            "Request",
        )?;
        let response = schema_of(
            endpoint,
            "response",
            doc.response_schema,
            doc.response_type,
            "Response",
        )?;
        if let Some(example) = &doc.example
            && serde_json::from_str::<serde_json::Value>(example).is_err()
        {
            return Err(bad_input(
                ID,
                format!("the example for {endpoint} is not JSON: {example:?}"),
            ));
        }
        self.build(|mut s| {
            if doc.description.is_some() || doc.example.is_some() {
                let description = doc.description.as_deref().unwrap_or_default();
                s = s.describe(
                    endpoint,
                    description,
                    doc.example.as_deref().unwrap_or_default(),
                );
            }
            if request.is_some() || response.is_some() {
                s = s.schemas(endpoint, request, response);
            }
            if let Some(scopes) = &doc.scopes {
                let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
                s = s.scopes(endpoint, &scopes);
            }
            for (key, value) in doc.metadata.iter().flatten() {
                s = s.endpoint_metadata(endpoint, key, value);
            }
            s
        })
    }
}

/// The schema given as JSON text, read with the type name given, its `title`, or `fallback`.
fn schema_of(
    endpoint: &str,
    side: &str,
    text: Option<String>,
    name: Option<String>,
    fallback: &str,
) -> napi::Result<Option<schema::Schema>> {
    let Some(text) = text else { return Ok(None) };
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        bad_input(
            ID,
            format!("the {side} schema of {endpoint} is not JSON: {e}"),
        )
    })?;
    let title = json
        .get("title")
        .and_then(|t| t.as_str())
        .map(str::to_string);
    let name = name.or(title).unwrap_or_else(|| fallback.to_string());
    schema::from_json_schema(&name, &json).map(Some).or_throw()
}

/// A state, for error messages.
fn describe(state: &State) -> &'static str {
    match state {
        State::Building(_) => "not started",
        State::Starting => "starting",
        State::Running(_) => "running",
        State::Stopped => "stopped",
    }
}
