//! The MCP protocol over [`Mcp`], with rmcp: `initialize`, `tools/list` (only the tools the
//! caller may call), `tools/call`, and `notifications/tools/list_changed` when services come
//! or go. Served over stdio by [`serve_stdio`] and over Streamable HTTP by
//! [`super::http`].
//!
//! A tool that fails answers a result with `isError: true` and the reason as text; only an
//! unknown tool name is a JSON-RPC error (invalid params), as the MCP spec asks.

use super::{CallError, Caller, Mcp, Tool};
use crate::auth::{Auth, Claims};
use crate::errors::{Error, Kind, Result};
use hyper::http::request::Parts;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorCode,
    Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
    SubscriptionFilter,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::Value as Json;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

/// The JSON-RPC error code of a call refused by the rate limit (an implementation-defined
/// server error; its `data` holds `retry_after` in seconds), the MCP form of HTTP's 429.
pub const RATE_LIMITED: i32 = -32029;

const ID: &str = "micro.mcp";
/// How long registry changes must settle before clients are told the list changed.
const SETTLE: Duration = Duration::from_millis(200);

/// One MCP session's handler: the catalogue, the session's token when it is fixed (stdio),
/// and the tool-list generation to follow.
#[derive(Clone)]
pub(super) struct Server {
    mcp: Arc<Mcp>,
    token: Option<String>,
    changes: watch::Receiver<u64>,
}

impl Server {
    /// A handler calling with `token`, verified again for every request so that revoking it
    /// takes effect at once, unless a request brings its own claims (HTTP puts verified claims
    /// in the request's extensions).
    pub(super) fn new(
        mcp: Arc<Mcp>,
        token: Option<String>,
        changes: watch::Receiver<u64>,
    ) -> Server {
        Server {
            mcp,
            token,
            changes,
        }
    }

    /// True when tool `name` answers MCP content itself (see [`Tool::answers_content`]).
    async fn answers_content(&self, name: &str) -> bool {
        self.mcp
            .tools()
            .await
            .is_ok_and(|tools| tools.iter().any(|t| t.name == name && t.answers_content()))
    }

    /// The caller of one request, with a fresh trace id; an error when the session's token
    /// no longer passes (revoked, expired, or its account deleted).
    async fn caller(&self, context: &RequestContext<RoleServer>) -> Result<Caller> {
        let from_http = context
            .extensions
            .get::<Parts>()
            .and_then(|parts| parts.extensions.get::<Claims>());
        if let Some(claims) = from_http {
            return Ok(Caller::new(Some(claims.clone())));
        }
        match (self.mcp.authenticator(), &self.token) {
            (Some(auth), Some(token)) => Ok(Caller::new(Some(verify(auth, token).await?))),
            _ => Ok(Caller::new(None)),
        }
    }
}

impl ServerHandler for Server {
    // Logging is deprecated in rmcp (SEP-2577, a later revision), but the 2025-06-18 and
    // 2025-11-25 revisions that clients speak have it, and the conformance suite checks it.
    #[allow(deprecated)]
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_logging()
            .enable_tools()
            .enable_tool_list_changed()
            .build();
        let mut info = ServerConfig::new(capabilities);
        info.server_info = Implementation::new("micro", env!("CARGO_PKG_VERSION"));
        info.instructions = Some(
            "Every tool calls an endpoint of a service in the micro registry; \
             micro_* tools read the registry and store and publish to the broker."
                .into(),
        );
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, ErrorData> {
        let caller = self
            .caller(&context)
            .await
            .map_err(|e| ErrorData::invalid_request(e.detail, None))?;
        let tools = self
            .mcp
            .tools_for(&caller)
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        Ok(ListToolsResult::with_all_items(
            tools.iter().map(to_rmcp).collect(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.map_or(Json::Null, Json::Object);
        let called = match self.caller(&context).await {
            Ok(caller) => self.mcp.call(&caller, &request.name, arguments).await,
            Err(refused) => Err(CallError::Unauthorized(refused.detail)),
        };
        let result = match called {
            Ok(json) if self.answers_content(&request.name).await => as_content(json),
            Ok(json) => {
                let mut result =
                    CallToolResult::success(vec![ContentBlock::text(json.to_string())]);
                if json.is_object() {
                    result.structured_content = Some(json);
                }
                result
            }
            Err(CallError::UnknownTool(name)) => {
                return Err(ErrorData::invalid_params(
                    format!("Unknown tool: {name}; call tools/list to see what can be called"),
                    None,
                ));
            }
            Err(err @ CallError::RateLimited(wait)) => {
                return Err(ErrorData::new(
                    ErrorCode(RATE_LIMITED),
                    err.message(),
                    Some(serde_json::json!({ "retry_after": wait.as_secs_f64().ceil() })),
                ));
            }
            Err(err) => CallToolResult::error(vec![ContentBlock::text(err.message())]),
        };
        Ok(result.into())
    }

    /// Accepts any level: the gateway sends no log notifications, so there is nothing to
    /// filter yet.
    #[allow(deprecated)] // as in get_info
    async fn set_level(
        &self,
        _request: rmcp::model::SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<(), ErrorData> {
        Ok(())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        let (peer, mut changes) = (context.peer, self.changes.clone());
        // Only changes from now on: the client has just started and lists anyway.
        changes.mark_unchanged();
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                if peer.notify_tool_list_changed().await.is_err() {
                    break; // the session is gone
                }
            }
        });
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        (requested.tools_list_changed == Some(true))
            .then(|| SubscriptionFilter::builder().tools_list_changed().build())
    }

    async fn listen(&self, context: SubscriptionContext) -> std::result::Result<(), ErrorData> {
        let mut changes = self.changes.clone();
        changes.mark_unchanged();
        loop {
            tokio::select! {
                _ = context.cancelled() => return Ok(()),
                changed = changes.changed() => {
                    if changed.is_err() || context.sink().notify_tool_list_changed().await.is_err() {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// A service's response that is meant to be the tool result (`mcp_result` = `content`), or an
/// `isError` result saying why it is not one.
fn as_content(json: Json) -> CallToolResult {
    let problem = match json.get("content") {
        Some(Json::Array(_)) => match serde_json::from_value::<CallToolResult>(json) {
            Ok(result) => return result,
            Err(err) => format!("it is not a valid MCP tool result: {err}"),
        },
        _ => "it has no \"content\" array".to_string(),
    };
    CallToolResult::error(vec![ContentBlock::text(format!(
        "the service answered for MCP content (mcp_result=content), but {problem}; it must \
         answer {{\"content\": [...], \"isError\"?: bool, \"structuredContent\"?: ...}}"
    ))])
}

/// Our tool as rmcp's: name, description and input schema (shared, not copied).
fn to_rmcp(tool: &Arc<Tool>) -> rmcp::model::Tool {
    rmcp::model::Tool::new(
        tool.name.clone(),
        tool.description.clone(),
        tool.input_schema.clone(),
    )
}

/// A tool-list generation that moves on when `mcp`'s tools change, following its registry
/// in the background for as long as anyone holds a receiver.
pub(super) fn changes(mcp: &Arc<Mcp>) -> watch::Receiver<u64> {
    let (sender, receiver) = watch::channel(0);
    tokio::spawn(follow(mcp.clone(), sender));
    receiver
}

/// Bumps `generation` each time the registry's changes settle into a different tool list.
async fn follow(mcp: Arc<Mcp>, generation: watch::Sender<u64>) {
    let mut watcher = match mcp.registry().watch(None).await {
        Ok(watcher) => watcher,
        Err(err) => {
            tracing::warn!(%err, "cannot watch the registry; MCP clients will not hear of new tools");
            return;
        }
    };
    let gone = |event: &Result<_>| matches!(event, Err(e) if e.kind != Kind::Lagged);
    let mut last = mcp.tools().await.ok();
    loop {
        let event = tokio::select! {
            event = watcher.next() => event,
            _ = generation.closed() => return,
        };
        if gone(&event) {
            return;
        }
        let settled = tokio::time::sleep(SETTLE);
        tokio::pin!(settled);
        loop {
            tokio::select! {
                _ = &mut settled => break,
                event = watcher.next() => if gone(&event) { return },
            }
        }
        let now = mcp.tools().await.ok();
        if now != last {
            last = now;
            generation.send_modify(|n| *n += 1);
        }
    }
}

/// `token`'s claims, or a 401 saying why it was refused.
async fn verify(auth: &Auth, token: &str) -> Result<Claims> {
    auth.verify(token).await.map_err(|e| {
        Error::unauthorized(
            ID,
            format!(
                "the token was refused ({}); pass a valid, unexpired token",
                e.detail
            ),
        )
    })
}

/// Serves MCP on stdin and stdout until stdin ends. With auth on, `token` must be a valid
/// token; every request runs as its account, and fails once the token is revoked.
pub async fn serve_stdio(mcp: Arc<Mcp>, token: Option<String>) -> Result<()> {
    let (stdin, stdout) = rmcp::transport::stdio();
    serve_io(mcp, token, stdin, stdout).await
}

/// Serves MCP (JSON-RPC, one message a line) on `reader` and `writer` until `reader` ends, as
/// [`serve_stdio`] does on stdin and stdout.
pub async fn serve_io<R, W>(
    mcp: Arc<Mcp>,
    token: Option<String>,
    reader: R,
    writer: W,
) -> Result<()>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let token = match (mcp.authenticator(), token) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(Error::unauthorized(
                ID,
                "auth is on, so MCP over stdio needs a token: set MICRO_TOKEN to a token with \
                 the scopes of the tools to call",
            ));
        }
        // Checked now to fail at once, and again for every request.
        (Some(auth), Some(token)) => verify(auth, &token).await.map(|_| Some(token))?,
    };
    let server = Server::new(mcp.clone(), token, changes(&mcp));
    let running = server
        .serve((reader, writer))
        .await
        .map_err(|e| Error::internal(ID, format!("MCP session did not start: {e}")))?;
    running
        .waiting()
        .await
        .map_err(|e| Error::internal(ID, format!("MCP session failed: {e}")))?;
    Ok(())
}
