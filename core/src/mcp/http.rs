//! MCP over HTTP: Streamable HTTP at `/mcp` (rmcp's server, sessions kept in memory) and
//! go-micro's REST surface, `GET /mcp/tools` (also `/api/mcp/tools`, as go-micro's guides call
//! it) and `POST /mcp/call`. [`router`] is these routes, for the gateway to mount; [`start`]
//! serves them alone (`micro mcp serve --address`), with `/health`. Both run on
//! [`crate::http`]: its host check (loopback by default) answers a foreign `Host` or `Origin`
//! with a 403, and its auth layer, with auth on, a missing or bad token with a 401; the token's
//! scopes decide which tools it sees and may call.
//!
//! REST answers: `{"tools": [...]}`; `{"result": ..., "trace_id": ...}` for a call, which
//! takes `{"tool", "input"}` or `{"name", "arguments"}`; `{"error": ...}` with the call
//! error's status otherwise (a 403 adds `required_scopes`, a 429 or 503 a `Retry-After`).

use super::server::{self, Server};
use super::{CallError, Mcp};
use crate::errors::Result;
use crate::http::{self, Authenticator, Failure, Limits, Running, json, read_body};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use bytes::Bytes;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value as Json, json};
use std::borrow::Cow;
use std::sync::Arc;

/// What the MCP routes share.
struct Face {
    mcp: Arc<Mcp>,
    streamable: StreamableHttpService<Server, LocalSessionManager>,
    limits: Limits,
}

impl Drop for Face {
    /// Ends the Streamable HTTP sessions still open.
    fn drop(&mut self) {
        self.streamable.config.cancellation_token.cancel();
    }
}

/// `/mcp`, `/mcp/tools`, `/api/mcp/tools` and `/mcp/call` over one [`Mcp`], reading bodies
/// within `limits`. Call it within a Tokio runtime: it follows the registry to tell clients
/// when the tool list changes. Whoever serves it adds the host check and the
/// [`Authenticator`].
pub fn router(mcp: Arc<Mcp>, limits: Limits) -> Router {
    let changes = server::changes(&mcp);
    let factory_mcp = mcp.clone();
    let streamable = StreamableHttpService::new(
        move || Ok(Server::new(factory_mcp.clone(), None, changes.clone())),
        Arc::new(LocalSessionManager::default()),
        // Hosts are checked by the HTTP layer, for every route.
        StreamableHttpServerConfig::default().disable_allowed_hosts(),
    );
    let face = Arc::new(Face {
        mcp,
        streamable,
        limits,
    });
    Router::new()
        .route("/mcp", any(streamable_http))
        .route(
            "/mcp/tools",
            get(tools).fallback(|| async { Failure::only("GET /mcp/tools") }),
        )
        .route(
            "/api/mcp/tools",
            get(tools).fallback(|| async { Failure::only("GET /api/mcp/tools") }),
        )
        .route(
            "/mcp/call",
            post(call).fallback(|| async { Failure::only("POST /mcp/call") }),
        )
        .with_state(face)
}

/// Streamable HTTP, with the caller's claims for the server to check tools against.
async fn streamable_http(
    State(face): State<Arc<Face>>,
    caller: http::Caller,
    mut request: Request,
) -> Response {
    if let Some(claims) = caller.claims() {
        request.extensions_mut().insert(claims.clone());
    }
    face.streamable.handle(request).await.map(Body::new)
}

/// `GET /mcp/tools`: the tools the caller may call.
async fn tools(State(face): State<Arc<Face>>, caller: http::Caller) -> Response {
    let caller = super::Caller::new(caller.claims().cloned());
    match face.mcp.tools_for(&caller).await {
        Ok(tools) => reply(StatusCode::OK, &json!({ "tools": tools })),
        Err(e) => Failure::new(StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// `POST /mcp/call`: `{"tool", "input"}` or `{"name", "arguments"}`.
async fn call(State(face): State<Arc<Face>>, caller: http::Caller, body: Body) -> Response {
    let bytes = match read_body(body, face.limits.max_body_size).await {
        Ok(bytes) => bytes,
        Err(failure) => return failure.into_response(),
    };
    let body: CallBody = match serde_json::from_slice(&bytes) {
        Ok(body) if bytes.trim_ascii_start().starts_with(b"{") => body,
        _ => {
            return Failure::new(
                StatusCode::BAD_REQUEST,
                r#"send a JSON object: {"tool": "<name>", "input": {...}} or {"name": "<name>", "arguments": {...}}"#,
            )
            .into_response();
        }
    };
    let Some(tool) = body.tool.or(body.name) else {
        return Failure::new(
            StatusCode::BAD_REQUEST,
            r#"name the tool: {"tool": "<name>"} or {"name": "<name>"}"#,
        )
        .into_response();
    };
    // The input goes to the service as the caller wrote it, a slice of the body.
    let input = body
        .input
        .or(body.arguments)
        .map_or_else(Bytes::new, |raw| bytes.slice_ref(raw.get().as_bytes()));
    let caller = super::Caller::new(caller.claims().cloned());
    match face.mcp.call_json(&caller, &tool, input).await {
        Ok(result) => answer(&result, &caller.trace_id),
        Err(err) => call_error(&err, &caller.trace_id),
    }
}

/// Serves `/mcp`, `/mcp/tools`, `/mcp/call` and `/health` on `address` (`:3000` means
/// 127.0.0.1:3000) in the background, checking tokens with the [`Mcp`]'s own auth and
/// answering `allowed_hosts` besides loopback and the bound address.
pub async fn start(mcp: Arc<Mcp>, address: &str, allowed_hosts: Vec<String>) -> Result<Running> {
    let listener = http::bind(address).await?;
    let limits = Limits::default();
    let auth = Authenticator(mcp.authenticator().cloned());
    let router = router(mcp, limits)
        .route(
            "/health",
            get(|| async { reply(StatusCode::OK, &json!({"status": "ok"})) }),
        )
        .fallback(|| async {
            Failure::new(
                StatusCode::NOT_FOUND,
                "not found: MCP is at /mcp (and GET /mcp/tools, POST /mcp/call)",
            )
        })
        .layer(axum::Extension(auth));
    http::serve(listener, router, limits, Some(&allowed_hosts))
}

/// A `POST /mcp/call` body in either shape; the input stays JSON text.
#[derive(Deserialize)]
struct CallBody<'a> {
    #[serde(borrow)]
    tool: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
    #[serde(borrow)]
    arguments: Option<&'a RawValue>,
}

/// A call error as the REST surface answers it.
fn call_error(err: &CallError, trace_id: &str) -> Response {
    let mut body = json!({ "error": err.message(), "trace_id": trace_id });
    let wait = match err {
        CallError::Forbidden(required) => {
            body["required_scopes"] = Json::from(required.join(","));
            None
        }
        CallError::RateLimited(wait) | CallError::CircuitOpen(wait) => Some(wait),
        _ => None,
    };
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = reply(status, &body);
    if let Some(wait) = wait {
        http::retry_after(response.headers_mut(), *wait);
    }
    response
}

/// `200 {"result": <the service's JSON text as is>, "trace_id": ...}`.
fn answer(result: &[u8], trace_id: &str) -> Response {
    let mut text = Vec::with_capacity(result.len() + trace_id.len() + 32);
    text.extend_from_slice(b"{\"result\":");
    text.extend_from_slice(result);
    text.extend_from_slice(b",\"trace_id\":");
    let _ = serde_json::to_writer(&mut text, trace_id);
    text.extend_from_slice(b"}\n");
    json(StatusCode::OK, text)
}

/// `body` as JSON with `status`.
fn reply(status: StatusCode, body: &Json) -> Response {
    json(status, http::encode(body))
}
