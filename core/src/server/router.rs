//! The router: endpoint name (`Handler.Method`) to handler, with each endpoint's documentation
//! and schemas, and the middleware chain every unary call goes through.

use super::handler::{Context, Handler, Middleware, StreamHandler};
use crate::errors::{Error, Result};
use crate::registry::{Endpoint, Value};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How an endpoint is served.
#[derive(Clone)]
pub enum Route {
    /// One request, one response.
    Unary(Handler),
    /// Any number of messages each way.
    Stream(StreamHandler),
}

/// An endpoint: its handler and what is published about it.
#[derive(Clone)]
pub struct Entry {
    /// The handler.
    pub route: Route,
    /// The registry's view: name, request/response type trees, metadata (`stream`,
    /// `description`, `example`, `scopes`, and the JSON Schemas `request_schema` and
    /// `response_schema` when known, which MCP tools and API docs read).
    pub endpoint: Endpoint,
}

/// Endpoints by name, and the middleware around them.
#[derive(Clone, Default)]
pub struct Router {
    entries: BTreeMap<String, Entry>,
    middleware: Vec<Middleware>,
}

impl Router {
    /// Adds or replaces an endpoint.
    pub fn insert(&mut self, name: &str, route: Route) -> &mut Entry {
        let mut endpoint = Endpoint {
            name: name.to_string(),
            ..Default::default()
        };
        if matches!(route, Route::Stream(_)) {
            endpoint.metadata.insert("stream".into(), "true".into());
        }
        let entry = Entry { route, endpoint };
        self.entries.insert(name.to_string(), entry);
        self.entries.get_mut(name).expect("just inserted")
    }

    /// The endpoint, if served.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name)
    }

    /// The endpoint, for documenting it; a clear error if it is not served.
    pub fn get_mut(&mut self, name: &str) -> Result<&mut Entry> {
        let known = self.names();
        self.entries.get_mut(name).ok_or_else(|| {
            Error::not_found(
                "micro.server",
                format!("no endpoint {name:?} to document; endpoints: {known}"),
            )
        })
    }

    /// Every endpoint, in name order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// The endpoints as the registry publishes them.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.entries.values().map(|e| e.endpoint.clone()).collect()
    }

    /// Adds middleware; the first added runs outermost.
    pub fn wrap(&mut self, middleware: Middleware) {
        self.middleware.push(middleware);
    }

    /// The names of all endpoints, comma-joined, for error messages.
    pub fn names(&self) -> String {
        self.entries.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    /// Runs a unary handler through the middleware chain.
    pub fn call(
        &self,
        handler: &Handler,
        ctx: Context,
        body: Bytes,
    ) -> futures::future::BoxFuture<'static, Result<Bytes>> {
        let mut next = handler.clone();
        for middleware in self.middleware.iter().rev() {
            let (middleware, inner) = (middleware.clone(), next);
            next = Arc::new(move |ctx, body| middleware(ctx, body, inner.clone()));
        }
        next(ctx, body)
    }
}

/// The endpoint metadata key holding the request's JSON Schema (compact JSON text).
pub const REQUEST_SCHEMA: &str = "request_schema";
/// The endpoint metadata key holding the response's JSON Schema (compact JSON text).
pub const RESPONSE_SCHEMA: &str = "response_schema";

/// Sets the endpoint's published type trees and JSON Schemas.
pub(crate) fn set_schemas(
    entry: &mut Entry,
    request: Option<(Value, serde_json::Value)>,
    response: Option<(Value, serde_json::Value)>,
) {
    for (key, pair, tree) in [
        (REQUEST_SCHEMA, request, &mut entry.endpoint.request),
        (RESPONSE_SCHEMA, response, &mut entry.endpoint.response),
    ] {
        if let Some((value, json)) = pair {
            *tree = Some(value);
            entry
                .endpoint
                .metadata
                .insert(key.to_string(), json.to_string());
        }
    }
}
