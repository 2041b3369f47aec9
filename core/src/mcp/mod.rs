//! MCP: every service endpoint a tool for AI agents. [`Mcp`] is the catalogue and the calls;
//! the transports (stdio, Streamable HTTP at `/mcp`, go-micro's REST `/mcp/tools` and
//! `/mcp/call`) sit on top of it.
//!
//! Tools come from the registry as services come and go ([`tools`] explains names, schemas
//! and what is left out). With auth on, a tool needs the scopes set for it: `--scope`
//! overrides first, then the scopes stored for the endpoint (the gateway's
//! `/auth/scopes`), then the endpoint's own `scopes` metadata; framework tools need
//! `micro:admin`. A token with `*` passes every check, and a caller only sees the tools it
//! may call. Each call carries `Mcp-Trace-Id`, `Mcp-Tool-Name` and `Mcp-Account-Id` to the
//! service as metadata.

pub mod control;
pub mod http;
mod server;
mod tools;

pub use server::{RATE_LIMITED, serve_io, serve_stdio};
pub use tools::{ADMIN_SCOPE, Conflict, Naming, Tool};

use crate::Client;
use crate::auth::{Auth, Claims, has_scopes, published_scopes};
use crate::broker::{Broker, Message};
use crate::client::{CallOptions, RawRequest};
use crate::errors::{Error, Kind, Result};
use crate::registry::{Cache, Registry, Service};
use crate::store::{ListOptions, ReadOptions, Record, Store, WriteOptions};
use crate::transport::Header;
use bytes::Bytes;
use control::{Audit, AuditRecord, CircuitBreaker, Outcome, RateLimiter};
use serde::de::IgnoredAny;
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tools::Found;

const ID: &str = "micro.mcp";
/// How long registry lookups are trusted without a watch event.
const CACHE_TTL: Duration = Duration::from_secs(60);

/// The tool catalogue over a registry, and calls to its tools.
pub struct Mcp {
    cache: Cache,
    client: Client,
    store: Arc<dyn Store>,
    broker: Arc<dyn Broker>,
    auth: Option<Arc<Auth>>,
    naming: Naming,
    overrides: HashMap<String, Vec<String>>,
    limiter: Option<RateLimiter>,
    breaker: Option<CircuitBreaker>,
    audit: Option<Audit>,
    /// How long a tool call may take (go-micro's default unless set).
    timeout: Duration,
    catalogue: Mutex<Option<Arc<Snapshot>>>,
}

/// The tools last built, and the registry and scope versions they were built from.
struct Snapshot {
    registry: u64,
    scopes: u64,
    at: Instant,
    tools: Vec<Arc<Tool>>,
    /// The tool names endpoints wanted more than once, and who has each.
    conflicts: Vec<Conflict>,
    /// Each endpoint tool by the address of its service record and its endpoint name, with
    /// the record kept alive (so the address is not reused): a rebuild reuses the tools of
    /// the records the registry cache still shares unchanged.
    built: HashMap<(usize, String), Built>,
}

/// A tool and the service record it was built from.
type Built = (Arc<Vec<Service>>, Arc<Tool>);

/// Who calls a tool, and the trace id the call carries.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The caller's verified token claims; `None` when auth is off.
    pub claims: Option<Claims>,
    /// The trace id passed to the service as `Mcp-Trace-Id`.
    pub trace_id: String,
}

impl Caller {
    /// A caller with a fresh trace id.
    pub fn new(claims: Option<Claims>) -> Caller {
        Caller {
            claims,
            trace_id: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// The account id, when known.
    pub fn account(&self) -> Option<&str> {
        self.claims.as_ref().map(|c| c.sub.as_str())
    }
}

/// Why a tool call did not run or failed.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// No tool has this name (a protocol error in MCP, a 404 on the REST surface).
    UnknownTool(String),
    /// Auth is on and the caller has no valid token (401).
    Unauthorized(String),
    /// The token lacks the tool's scopes (403); these are the scopes it requires.
    Forbidden(Vec<String>),
    /// The arguments were refused or the call failed: the service's or our own error.
    Failed(Error),
    /// The tool or the account is over its rate limit (429); try again after this long.
    RateLimited(Duration),
    /// The tool's circuit breaker is open after repeated failures (503); try again after
    /// this long.
    CircuitOpen(Duration),
}

impl CallError {
    /// The HTTP status for the REST surface.
    pub fn status(&self) -> u16 {
        match self {
            CallError::UnknownTool(_) => 404,
            CallError::Unauthorized(_) => 401,
            CallError::Forbidden(_) => 403,
            CallError::Failed(e) if (400..600).contains(&e.code) => e.code as u16,
            CallError::Failed(_) => 500,
            CallError::RateLimited(_) => 429,
            CallError::CircuitOpen(_) => 503,
        }
    }

    /// How the audit log records it.
    fn outcome(&self) -> Outcome {
        match self {
            CallError::Unauthorized(_) | CallError::Forbidden(_) => Outcome::Denied,
            CallError::RateLimited(_) => Outcome::RateLimited,
            CallError::CircuitOpen(_) => Outcome::CircuitOpen,
            CallError::UnknownTool(_) | CallError::Failed(_) => Outcome::Error,
        }
    }

    /// A sentence for the caller: what went wrong and what to do.
    pub fn message(&self) -> String {
        match self {
            CallError::UnknownTool(name) => {
                format!("unknown tool {name:?}; list the tools to see what can be called")
            }
            CallError::Unauthorized(why) => why.clone(),
            CallError::Forbidden(required) => format!(
                "insufficient scopes: this tool requires one of {}",
                required.join(",")
            ),
            CallError::Failed(e) if e.detail.is_empty() => e.to_json(),
            CallError::Failed(e) => e.detail.clone(),
            CallError::RateLimited(wait) => format!(
                "rate limit reached; try again in {:.1} s",
                wait.as_secs_f64()
            ),
            CallError::CircuitOpen(wait) => format!(
                "this tool failed repeatedly and is paused; try again in {:.1} s",
                wait.as_secs_f64()
            ),
        }
    }
}

impl Mcp {
    /// Tools over the services in `registry`; framework tools over `store` and `broker`.
    pub fn new(registry: Arc<dyn Registry>, store: Arc<dyn Store>, broker: Arc<dyn Broker>) -> Mcp {
        Mcp {
            cache: Cache::with_ttl(registry.clone(), CACHE_TTL),
            client: Client::new(registry).broker(broker.clone()),
            store,
            broker,
            auth: None,
            naming: Naming::default(),
            overrides: HashMap::new(),
            limiter: None,
            breaker: None,
            audit: None,
            timeout: CallOptions::default().timeout,
            catalogue: Mutex::new(None),
        }
    }

    /// Limits calls to `per_second` per tool and per account, with bursts of `burst`. Only
    /// calls to a real tool that the caller may call are counted.
    pub fn rate_limit(mut self, per_second: f64, burst: u32) -> Mcp {
        self.limiter = Some(RateLimiter::new(per_second, burst));
        self
    }

    /// Pauses a tool for `open_for` after `failures` failed calls in a row (service errors
    /// and timeouts, not refused input), then lets one trial call through.
    pub fn circuit_breaker(mut self, failures: u32, open_for: Duration) -> Mcp {
        self.breaker = Some(CircuitBreaker::new(failures, open_for));
        self
    }

    /// Lets each tool call take up to `timeout` (a 408 error after it).
    pub fn timeout(mut self, timeout: Duration) -> Mcp {
        self.timeout = timeout;
        self
    }

    /// Writes an audit record for every call: tool, account, trace id, duration, outcome.
    pub fn audit(mut self, audit: Audit) -> Mcp {
        self.audit = Some(audit);
        self
    }

    /// Turns auth on: calls need a token with the tool's scopes, listings show only those.
    pub fn auth(mut self, auth: Arc<Auth>) -> Mcp {
        self.auth = Some(auth);
        self
    }

    /// Chooses how tools are named (default [`Naming::Dotted`]).
    pub fn naming(mut self, naming: Naming) -> Mcp {
        self.naming = naming;
        self
    }

    /// Requires `scopes` for `tool`, over anything stored or published for it.
    pub fn scope(mut self, tool: &str, scopes: &[String]) -> Mcp {
        self.overrides.insert(tool.to_string(), scopes.to_vec());
        self
    }

    /// The auth checking tokens, when on.
    pub fn authenticator(&self) -> Option<&Arc<Auth>> {
        self.auth.as_ref()
    }

    /// The registry tools come from (watch it to learn when the list changes).
    pub fn registry(&self) -> &Arc<dyn Registry> {
        self.cache.registry()
    }

    /// Every tool, with the scopes each requires, in name order (framework tools last).
    pub async fn tools(&self) -> Result<Vec<Arc<Tool>>> {
        Ok(self.snapshot().await?.tools.clone())
    }

    /// The tool names that endpoints wanted more than once, in name order: who has each name,
    /// what the others are called instead, and why.
    pub async fn conflicts(&self) -> Result<Vec<Conflict>> {
        Ok(self.snapshot().await?.conflicts.clone())
    }

    /// The current catalogue, rebuilt when the registry or the stored scopes changed.
    async fn snapshot(&self) -> Result<Arc<Snapshot>> {
        // Read what the catalogue depends on before building, so a change during the build
        // makes the next call build again.
        let registry = self.cache.generation().await;
        let scopes = self.auth.as_ref().map_or(0, |a| a.scopes_version());
        let previous = self
            .catalogue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(snapshot) = &previous
            && (snapshot.registry, snapshot.scopes) == (registry, scopes)
            && snapshot.at.elapsed() < CACHE_TTL
        {
            return Ok(snapshot.clone());
        }
        let services = self.services().await?;
        let stored = self.stored_scopes().await?;
        let (found, conflicts) = tools::found(
            services.iter().filter_map(|versions| versions.first()),
            self.naming,
        );
        let known = previous.as_ref().map_or(&[][..], |p| &p.conflicts);
        for conflict in conflicts.iter().filter(|c| !known.contains(c)) {
            tracing::warn!(%conflict, "endpoints want the same MCP tool name");
        }
        let address = |service: &Service| std::ptr::from_ref(service) as usize;
        let records: HashMap<usize, &Arc<Vec<Service>>> = services
            .iter()
            .filter_map(|versions| Some((address(versions.first()?), versions)))
            .collect();
        let mut built = HashMap::with_capacity(found.len());
        let mut list: Vec<Arc<Tool>> = Vec::with_capacity(found.len() + 6);
        for f in &found {
            let scopes = self.endpoint_scopes(f, &stored);
            let key = (address(f.service), f.endpoint.name.clone());
            let tool = previous
                .as_ref()
                .and_then(|p| p.built.get(&key))
                .map(|(_, tool)| tool)
                .filter(|t| t.name == f.name && t.scopes == scopes)
                .cloned()
                .unwrap_or_else(|| Arc::new(tools::tool(f, scopes)));
            if let Some(record) = records.get(&key.0) {
                built.insert(key, (Arc::clone(record), tool.clone()));
            }
            list.push(tool);
        }
        list.extend(
            tools::framework(&|name| self.framework_scopes(name))
                .into_iter()
                .map(Arc::new),
        );
        let snapshot = Arc::new(Snapshot {
            registry,
            scopes,
            at: Instant::now(),
            tools: list,
            conflicts,
            built,
        });
        *self.catalogue.lock().unwrap_or_else(|e| e.into_inner()) = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// The tools `caller` may call: all of them when auth is off.
    pub async fn tools_for(&self, caller: &Caller) -> Result<Vec<Arc<Tool>>> {
        let mut list = self.tools().await?;
        if self.auth.is_some() {
            let held = caller.claims.as_ref().map(|c| c.scopes.as_slice());
            list.retain(|t| held.is_some_and(|held| has_scopes(held, &t.scopes)));
        }
        Ok(list)
    }

    /// Calls tool `name` with `arguments` (a JSON object; `null` means `{}`) for `caller`,
    /// within the rate limits and the circuit breaker, and audits it; the answer is the
    /// service's JSON.
    pub async fn call(
        &self,
        caller: &Caller,
        name: &str,
        arguments: Json,
    ) -> std::result::Result<Json, CallError> {
        let arguments = Bytes::from(arguments.to_string());
        let text = self.call_json(caller, name, arguments).await?;
        Ok(serde_json::from_slice(&text).unwrap_or(Json::Null))
    }

    /// [`call`](Mcp::call) with the arguments as JSON text, answering with the JSON text as
    /// the service wrote it, for transports that pass both on without parsing them (a body
    /// that is not JSON comes back as a JSON string).
    pub async fn call_json(
        &self,
        caller: &Caller,
        name: &str,
        arguments: Bytes,
    ) -> std::result::Result<Bytes, CallError> {
        let started = Instant::now();
        let result = self.call_limited(caller, name, arguments).await;
        if let Some(audit) = &self.audit {
            let (outcome, error) = match &result {
                Ok(_) => (Outcome::Ok, None),
                Err(e) => (e.outcome(), Some(e.message())),
            };
            let record = AuditRecord::new(
                name,
                caller.account(),
                &caller.trace_id,
                started.elapsed(),
                outcome,
                error,
            );
            audit.record(&record);
        }
        result
    }

    async fn call_limited(
        &self,
        caller: &Caller,
        name: &str,
        arguments: Bytes,
    ) -> std::result::Result<Bytes, CallError> {
        let snapshot = self.snapshot().await.map_err(CallError::Failed)?;
        let Some(tool) = snapshot.tools.iter().find(|t| t.name == name) else {
            return Err(CallError::UnknownTool(name.to_string()));
        };
        self.check(caller, &tool.scopes)?;
        // Only a call that may run spends budget, and the account's before the tool's: a
        // refused caller can never use up a bucket that others share.
        if let Some(limiter) = &self.limiter {
            if let Some(account) = caller.account() {
                limiter
                    .try_acquire(format!("account:{account}"))
                    .map_err(CallError::RateLimited)?;
            }
            limiter
                .try_acquire(format!("tool:{name}"))
                .map_err(CallError::RateLimited)?;
        }
        let arguments = object_arguments(arguments).map_err(CallError::Failed)?;
        if tool.is_framework() {
            let arguments = serde_json::from_slice(&arguments).unwrap_or_default();
            let answer = self
                .framework_call(name, &arguments)
                .await
                .map_err(CallError::Failed)?;
            return Ok(Bytes::from(answer.to_string()));
        }
        let mut metadata = Header::with_capacity(3);
        metadata.insert("Mcp-Trace-Id".into(), caller.trace_id.clone());
        metadata.insert("Mcp-Tool-Name".into(), name.to_string());
        if let Some(account) = caller.account() {
            metadata.insert("Mcp-Account-Id".into(), account.to_string());
        }
        let request = RawRequest {
            service: tool.service.clone(),
            endpoint: tool.endpoint.clone(),
            body: arguments,
        };
        let options = CallOptions {
            metadata,
            timeout: self.timeout,
            ..CallOptions::default()
        };
        if let Some(breaker) = &self.breaker {
            breaker.allow(name).map_err(CallError::CircuitOpen)?;
        }
        let result = self.client.call_raw(request, &options).await;
        if let Some(breaker) = &self.breaker {
            // Refused input (a 4xx) says nothing about the service's health; a timeout does.
            let healthy = result.as_ref().map_or_else(
                |e| !matches!(e.kind, Kind::Timeout | Kind::Internal | Kind::Unavailable),
                |_| true,
            );
            breaker.record(name, healthy);
        }
        let body = result.map_err(CallError::Failed)?.body;
        if serde_json::from_slice::<IgnoredAny>(&body).is_ok() {
            return Ok(body);
        }
        let text = Json::String(String::from_utf8_lossy(&body).into_owned());
        Ok(Bytes::from(text.to_string()))
    }

    /// Lets the call through when auth is off or the token holds `required` (or `*`).
    fn check(&self, caller: &Caller, required: &[String]) -> std::result::Result<(), CallError> {
        if self.auth.is_none() {
            return Ok(());
        }
        let Some(claims) = &caller.claims else {
            return Err(CallError::Unauthorized(
                "authentication required: send Authorization: Bearer <token>".into(),
            ));
        };
        if has_scopes(&claims.scopes, required) {
            Ok(())
        } else {
            Err(CallError::Forbidden(required.to_vec()))
        }
    }

    /// Every registered service name's versions, looked up through the cache.
    async fn services(&self) -> Result<Vec<Arc<Vec<Service>>>> {
        let names = self.cache.names().await?;
        let mut services = Vec::with_capacity(names.len());
        for name in names.iter() {
            match self.cache.lookup(name).await {
                Ok(found) => services.push(found),
                Err(e) if e.kind == Kind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(services)
    }

    /// Scopes stored for endpoints (`service.Handler.Method` → scopes); none when auth is off.
    async fn stored_scopes(&self) -> Result<HashMap<String, Vec<String>>> {
        match &self.auth {
            Some(auth) => Ok(auth.list_scopes().await?.into_iter().collect()),
            None => Ok(HashMap::new()),
        }
    }

    /// An endpoint tool's scopes: the `--scope` override, else the stored scopes, else the
    /// endpoint's `scopes` metadata.
    fn endpoint_scopes(&self, found: &Found, stored: &HashMap<String, Vec<String>>) -> Vec<String> {
        if let Some(scopes) = self.overrides.get(&found.name) {
            return scopes.clone();
        }
        let key = format!("{}.{}", found.service.name, found.endpoint.name);
        if let Some(scopes) = stored.get(&key) {
            return scopes.clone();
        }
        published_scopes(&found.endpoint.metadata)
    }

    /// A framework tool's scopes: the override, else `micro:admin`.
    fn framework_scopes(&self, name: &str) -> Vec<String> {
        self.overrides
            .get(name)
            .cloned()
            .unwrap_or_else(|| vec![ADMIN_SCOPE.to_string()])
    }

    async fn framework_call(&self, name: &str, arguments: &Json) -> Result<Json> {
        let text = |key: &str| -> Result<String> {
            match &arguments[key] {
                Json::String(s) if !s.is_empty() => Ok(s.clone()),
                Json::Null => Err(Error::bad_request(ID, format!("{name} needs {key:?}"))),
                other if key == "message" => Ok(other.to_string()),
                other => Err(Error::bad_request(
                    ID,
                    format!("{name}: {key:?} must be a string, not {other}"),
                )),
            }
        };
        match name {
            "micro_registry_list" => {
                let services = self.services().await?;
                Ok(Json::Array(
                    services
                        .iter()
                        .filter_map(|versions| versions.first())
                        .map(|s| {
                            json!({
                                "name": s.name,
                                "version": s.version,
                                "endpoints": s.endpoints.iter().map(|e| &e.name).collect::<Vec<_>>(),
                            })
                        })
                        .collect(),
                ))
            }
            "micro_registry_get" => {
                let services = self.cache.lookup(&text("name")?).await?;
                Ok(serde_json::to_value(&*services).unwrap_or_default())
            }
            "micro_store_list" => Ok(json!(self.store.list(&ListOptions::default()).await?)),
            "micro_store_read" => {
                let key = text("key")?;
                let records = self.store.read(&key, &ReadOptions::default()).await?;
                let record = records
                    .first()
                    .ok_or_else(|| Error::not_found(ID, format!("no record at {key:?}")))?;
                Ok(json!({"key": record.key, "value": String::from_utf8_lossy(&record.value)}))
            }
            "micro_store_write" => {
                let (key, value) = (text("key")?, text("value")?);
                self.store
                    .write(Record::new(key.clone(), value), &WriteOptions::default())
                    .await?;
                Ok(json!({"key": key, "status": "ok"}))
            }
            "micro_broker_publish" => {
                let (topic, message) = (text("topic")?, text("message")?);
                self.broker.publish(&topic, Message::new(message)).await?;
                Ok(json!({"topic": topic, "status": "ok"}))
            }
            _ => Err(Error::not_found(ID, format!("no framework tool {name}"))),
        }
    }
}

/// Tool arguments as the JSON object text the service gets: empty or `null` is `{}`;
/// anything but an object is refused.
fn object_arguments(arguments: Bytes) -> Result<Bytes> {
    let text = arguments.trim_ascii();
    if text.is_empty() || text == b"null" {
        return Ok(Bytes::from_static(b"{}"));
    }
    if text.first() == Some(&b'{') && serde_json::from_slice::<IgnoredAny>(text).is_ok() {
        return Ok(arguments);
    }
    Err(Error::bad_request(
        ID,
        format!(
            "tool arguments must be a JSON object, not {}",
            String::from_utf8_lossy(&text[..text.len().min(200)])
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{broker, registry, store};

    #[tokio::test]
    async fn calls_naming_no_tool_keep_no_rate_limit_buckets() {
        let mcp = Mcp::new(
            Arc::new(registry::Memory::new()),
            Arc::new(store::Memory::new(store::Options::default())),
            Arc::new(broker::Memory::new()),
        )
        .rate_limit(1.0, 1);
        let caller = Caller::new(Some(Claims {
            sub: "mallory".into(),
            kind: "user".into(),
            scopes: Vec::new(),
            exp: u64::MAX,
            iat: 0,
            nbf: 0,
            jti: "test".into(),
        }));
        for i in 0..100 {
            let refused = mcp.call(&caller, &format!("nosuch{i}"), Json::Null).await;
            assert!(
                matches!(refused, Err(CallError::UnknownTool(_))),
                "{refused:?}"
            );
        }
        let limiter = mcp.limiter.as_ref().expect("a rate limit was set");
        assert_eq!(limiter.len(), 0);
    }
}
