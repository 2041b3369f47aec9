//! MCP over HTTP: Streamable HTTP at `/mcp` (rmcp's server, sessions kept in memory) and
//! go-micro's REST surface, `GET /mcp/tools` and `POST /mcp/call`. [`Handler`] serves them
//! in the gateway; [`start`] serves them alone (`micro mcp serve --address`), with `/health`.
//!
//! Every request first passes DNS-rebinding protection: its `Host`, and its `Origin` when
//! it sends one, must name an allowed host (loopback by default), else a 403. With auth on,
//! it then needs a valid token (`Authorization: Bearer`, `?token=` or the gateway's cookie),
//! else a 401; the token's scopes decide which tools it sees and may call.
//!
//! REST answers: `{"tools": [...]}`; `{"result": ..., "trace_id": ...}` for a call, which
//! takes `{"tool", "input"}` or `{"name", "arguments"}`; `{"error": ...}` with the call
//! error's status otherwise (a 403 adds `required_scopes`, a 429 or 503 a `Retry-After`).

use super::server::{self, Server};
use super::{CallError, Caller, Mcp};
use crate::auth::Claims;
use crate::errors::Result;
use crate::gateway::{self, DEFAULT_MAX_BODY_SIZE, Running, guard};
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value as Json, json};
use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::Arc;

/// The hosts allowed when none are given: loopback by name and address, on any port.
pub const DEFAULT_ALLOWED_HOSTS: &[&str] = &["localhost", "127.0.0.1", "[::1]"];

/// An answer's body: whole for REST, streamed (SSE) for Streamable HTTP.
pub type Body = BoxBody<Bytes, Infallible>;

/// True for the paths [`Handler`] serves: `/mcp` and everything under it.
pub fn owns(path: &str) -> bool {
    path == "/mcp" || path.starts_with("/mcp/")
}

/// Serves `/mcp`, `/mcp/tools` and `/mcp/call` over one [`Mcp`].
pub struct Handler {
    mcp: Arc<Mcp>,
    streamable: StreamableHttpService<Server, LocalSessionManager>,
    allowed_hosts: Vec<String>,
}

impl Handler {
    /// A handler accepting requests for `allowed_hosts` (a host, or `host:port` for one
    /// port; empty means [`DEFAULT_ALLOWED_HOSTS`]). Call it within a Tokio runtime: it
    /// follows the registry to tell clients when the tool list changes.
    pub fn new(mcp: Arc<Mcp>, allowed_hosts: Vec<String>) -> Handler {
        let allowed_hosts = if allowed_hosts.is_empty() {
            DEFAULT_ALLOWED_HOSTS
                .iter()
                .map(|h| h.to_string())
                .collect()
        } else {
            allowed_hosts
        };
        let changes = server::changes(&mcp);
        let factory_mcp = mcp.clone();
        let streamable = StreamableHttpService::new(
            move || Ok(Server::new(factory_mcp.clone(), None, changes.clone())),
            Arc::new(LocalSessionManager::default()),
            // Hosts are checked here, for the REST routes too.
            StreamableHttpServerConfig::default().disable_allowed_hosts(),
        );
        Handler {
            mcp,
            streamable,
            allowed_hosts,
        }
    }

    /// Answers one request for a path [`owns`] accepts.
    pub async fn handle(&self, mut request: Request<Incoming>) -> Response<Body> {
        if let Err(why) = self.check_host(request.headers()) {
            return error(StatusCode::FORBIDDEN, &why);
        }
        let claims = match self.mcp.authenticator() {
            None => None,
            Some(auth) => match guard::token(request.headers(), request.uri().query()) {
                None => {
                    return unauthorized(
                        "authentication required: send Authorization: Bearer <token>",
                    );
                }
                Some(token) => match auth.verify(&token).await {
                    Ok(claims) => Some(claims),
                    Err(e) => {
                        return unauthorized(&format!(
                            "the token was refused ({}); log in again or use a valid token",
                            e.detail
                        ));
                    }
                },
            },
        };
        let path = request.uri().path().to_string();
        match (path.as_str(), request.method()) {
            ("/mcp", _) => {
                if let Some(claims) = claims {
                    request.extensions_mut().insert(claims);
                }
                self.streamable.handle(request).await
            }
            ("/mcp/tools", &Method::GET) => self.tools(claims).await,
            ("/mcp/call", &Method::POST) => self.call(claims, request.into_body()).await,
            ("/mcp/tools", _) => error(StatusCode::METHOD_NOT_ALLOWED, "use GET /mcp/tools"),
            ("/mcp/call", _) => error(StatusCode::METHOD_NOT_ALLOWED, "use POST /mcp/call"),
            _ => error(
                StatusCode::NOT_FOUND,
                "no such MCP route: use /mcp, GET /mcp/tools or POST /mcp/call",
            ),
        }
    }

    /// `GET /mcp/tools`: the tools the caller may call.
    async fn tools(&self, claims: Option<Claims>) -> Response<Body> {
        match self.mcp.tools_for(&Caller::new(claims)).await {
            Ok(tools) => reply(StatusCode::OK, &json!({ "tools": tools })),
            Err(e) => error(StatusCode::BAD_GATEWAY, &e.to_string()),
        }
    }

    /// `POST /mcp/call`: `{"tool", "input"}` or `{"name", "arguments"}`.
    async fn call(&self, claims: Option<Claims>, body: Incoming) -> Response<Body> {
        let bytes = match Limited::new(body, DEFAULT_MAX_BODY_SIZE).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("the request body is over {DEFAULT_MAX_BODY_SIZE} bytes"),
                );
            }
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("cannot read the body: {e}"),
                );
            }
        };
        let body: CallBody = match serde_json::from_slice(&bytes) {
            Ok(body) if bytes.trim_ascii_start().starts_with(b"{") => body,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    r#"send a JSON object: {"tool": "<name>", "input": {...}} or {"name": "<name>", "arguments": {...}}"#,
                );
            }
        };
        let Some(tool) = body.tool.or(body.name) else {
            return error(
                StatusCode::BAD_REQUEST,
                r#"name the tool: {"tool": "<name>"} or {"name": "<name>"}"#,
            );
        };
        // The input goes to the service as the caller wrote it, a slice of the body.
        let input = body
            .input
            .or(body.arguments)
            .map_or_else(Bytes::new, |raw| bytes.slice_ref(raw.get().as_bytes()));
        let caller = Caller::new(claims);
        match self.mcp.call_json(&caller, &tool, input).await {
            Ok(result) => answer(&result, &caller.trace_id),
            Err(err) => call_error(&err, &caller.trace_id),
        }
    }

    /// Refuses a `Host` or `Origin` that is not an allowed host.
    fn check_host(&self, headers: &HeaderMap) -> std::result::Result<(), String> {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .ok_or("send a Host header")?;
        if !self.allowed(host) {
            return Err(format!(
                "host {host:?} is not allowed; add it with --allowed-host if it is really this server"
            ));
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or_default();
            let authority = origin.split_once("://").map(|(_, rest)| rest);
            if !authority.is_some_and(|a| self.allowed(a)) {
                return Err(format!("origin {origin:?} is not allowed"));
            }
        }
        Ok(())
    }

    /// True when `authority` (`host[:port]`) matches an allowed host, and its port if given.
    fn allowed(&self, authority: &str) -> bool {
        let (host, port) = split_authority(authority);
        self.allowed_hosts.iter().any(|allowed| {
            let (allowed_host, allowed_port) = split_authority(allowed);
            allowed_host.eq_ignore_ascii_case(host) && allowed_port.is_none_or(|p| Some(p) == port)
        })
    }
}

impl Drop for Handler {
    /// Ends the Streamable HTTP sessions still open.
    fn drop(&mut self) {
        self.streamable.config.cancellation_token.cancel();
    }
}

/// `host[:port]` into its host (IPv6 without brackets) and port.
fn split_authority(authority: &str) -> (&str, Option<&str>) {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').unwrap_or((rest, ""));
        return (host, after.strip_prefix(':'));
    }
    match authority.split_once(':') {
        Some((host, port)) if !port.contains(':') => (host, Some(port)),
        Some(_) => (authority, None), // a bare IPv6 address
        None => (authority, None),
    }
}

/// Serves `/mcp`, `/mcp/tools`, `/mcp/call` and `/health` on `address` (`:3000` means
/// 127.0.0.1:3000) in the background, accepting `allowed_hosts` (empty means
/// [`DEFAULT_ALLOWED_HOSTS`]).
pub async fn start(mcp: Arc<Mcp>, address: &str, allowed_hosts: Vec<String>) -> Result<Running> {
    let listener = gateway::bind(address).await?;
    let handler = Arc::new(Handler::new(mcp, allowed_hosts));
    Running::spawn(listener, move |request, _peer| {
        let handler = handler.clone();
        async move {
            let path = request.uri().path();
            if path == "/health" {
                reply(StatusCode::OK, &json!({"status": "ok"}))
            } else if owns(path) {
                handler.handle(request).await
            } else {
                error(
                    StatusCode::NOT_FOUND,
                    "not found: MCP is at /mcp (and GET /mcp/tools, POST /mcp/call)",
                )
            }
        }
    })
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
fn call_error(err: &CallError, trace_id: &str) -> Response<Body> {
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
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// 401 `{"error": why}`, asking for a Bearer token.
fn unauthorized(why: &str) -> Response<Body> {
    let mut response = error(StatusCode::UNAUTHORIZED, why);
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// `{"error": message}` with `status`.
fn error(status: StatusCode, message: &str) -> Response<Body> {
    reply(status, &json!({ "error": message }))
}

/// `200 {"result": <the service's JSON text as is>, "trace_id": ...}`.
fn answer(result: &[u8], trace_id: &str) -> Response<Body> {
    let mut text = Vec::with_capacity(result.len() + trace_id.len() + 32);
    text.extend_from_slice(b"{\"result\":");
    text.extend_from_slice(result);
    text.extend_from_slice(b",\"trace_id\":");
    let _ = serde_json::to_writer(&mut text, trace_id);
    text.extend_from_slice(b"}\n");
    let mut response = Response::new(Full::new(Bytes::from(text)).boxed());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `body` as JSON with `status`.
fn reply(status: StatusCode, body: &Json) -> Response<Body> {
    let mut text = body.to_string();
    text.push('\n');
    let mut response = Response::new(Full::new(Bytes::from(text)).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_split_into_host_and_port() {
        assert_eq!(
            split_authority("localhost:3000"),
            ("localhost", Some("3000"))
        );
        assert_eq!(split_authority("127.0.0.1"), ("127.0.0.1", None));
        assert_eq!(split_authority("[::1]:8080"), ("::1", Some("8080")));
        assert_eq!(split_authority("[::1]"), ("::1", None));
        assert_eq!(split_authority("::1"), ("::1", None));
    }
}
