//! The agent playground's server side: each account's model settings, kept in the gateway's
//! store, and go-micro's playground routes, `GET`/`POST /api/agent/settings` and `POST
//! /api/agent/prompt`, which answers the agent's [`Event`](crate::ai::Event)s as server-sent
//! events while they happen. The page itself is `/agent` ([`super::pages`]).
//!
//! The model calls the registry's endpoints as the logged-in account, through one [`Mcp`] with
//! names every provider accepts: the account's scopes decide which tools it is offered, and a
//! tool it asks for anyway is refused.
//!
//! Keys: an account's key is stored (table `agent`) and never answered. Settings an account
//! leaves empty come from the gateway's environment (`MICRO_AI_*`, then the provider's own key
//! variable), but the gateway's key never goes to a base URL an account chose.

use crate::ai::{Agent, Message, Model, Provider, Request, Settings, ToolSpec, Tools};
use crate::auth::Auth;
use crate::broker::Broker;
use crate::errors::Kind;
use crate::http::{Caller, Failure, encode, json, read_body};
use crate::mcp::{self, Mcp, Naming};
use crate::registry::Registry;
use crate::store::{ReadOptions, Record, Store, WriteOptions};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::response::Response;
use axum::routing::{get, post};
use bytes::Bytes;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;

/// The store table holding the settings.
const TABLE: &str = "agent";
/// The largest settings body taken: 16 KiB.
const MAX_SETTINGS_SIZE: usize = 16 << 10;
/// The largest prompt body taken, the conversation so far included: 1 MiB.
const MAX_PROMPT_SIZE: usize = 1 << 20;
/// The playground's model settings and tools, for every account.
pub(super) struct Playground {
    /// The registry's endpoints as tools, with names every provider accepts.
    mcp: Arc<Mcp>,
    /// Where each account's settings are kept.
    store: Arc<dyn Store>,
}

/// Settings as posted: any field left out or empty is cleared, except the key, which an empty
/// one keeps unless `forget_key` is set.
#[derive(Deserialize)]
pub(super) struct Posted {
    /// Provider, model, key and base URL.
    #[serde(flatten)]
    pub(super) settings: Settings,
    /// Removes the stored key.
    #[serde(default)]
    pub(super) forget_key: bool,
}

/// What an account sees of its settings: never the key, only whether one is stored, with the
/// tools it is offered and what is still to set up.
#[derive(Serialize)]
pub(super) struct View {
    /// Provider, model and base URL as saved (empty: the gateway's default).
    #[serde(flatten)]
    settings: Settings,
    /// Whether the account stored a key of its own.
    has_key: bool,
    /// Whether a prompt can reach a model with these settings: a key was found, or none is
    /// needed.
    ready: bool,
    /// The tools the model is offered for this account.
    tools: Vec<ToolSpec>,
    /// What to set up before the agent can work, one sentence each; empty when nothing.
    hints: Vec<String>,
}

/// `POST /api/agent/prompt`: a prompt and, to go on with a conversation, its messages so far.
#[derive(Deserialize)]
struct Asked {
    prompt: String,
    #[serde(default)]
    messages: Vec<Message>,
}

impl Playground {
    /// Settings in `store`, tools from `registry` (framework tools over `store` and `broker`
    /// are never offered), scopes checked by `auth` when it is on.
    pub(super) fn new(
        registry: Arc<dyn Registry>,
        store: Arc<dyn Store>,
        broker: Arc<dyn Broker>,
        auth: Option<Arc<Auth>>,
    ) -> Playground {
        let mut mcp = Mcp::new(registry, store.clone(), broker).naming(Naming::Safe);
        if let Some(auth) = auth {
            mcp = mcp.auth(auth);
        }
        Playground {
            mcp: Arc::new(mcp),
            store,
        }
    }

    /// The settings `caller` saved; empty ones when none are.
    pub(super) async fn settings(&self, caller: &Caller) -> Result<Settings, Failure> {
        let options = ReadOptions {
            table: Some(TABLE.into()),
            ..ReadOptions::default()
        };
        let records = match self.store.read(&key(caller), &options).await {
            Ok(records) => records,
            Err(err) if err.kind == Kind::NotFound => Vec::new(),
            Err(err) => return Err(store_failure(&err)),
        };
        Ok(records
            .first()
            .and_then(|r| serde_json::from_slice(&r.value).ok())
            .unwrap_or_default())
    }

    /// Saves `posted` as `caller`'s settings, keeping the stored key when none is given; a
    /// 400 for an unknown provider or a base URL that is not http(s).
    pub(super) async fn save(&self, caller: &Caller, posted: Posted) -> Result<(), Failure> {
        let trim = |s: String| s.trim().to_string();
        let given = posted.settings;
        let mut settings = Settings {
            provider: trim(given.provider),
            model: trim(given.model),
            api_key: trim(given.api_key),
            base_url: trim(given.base_url),
        };
        if !settings.provider.is_empty() {
            Provider::named(&settings.provider).map_err(|e| Failure::from_error(&e))?;
        }
        if !settings.base_url.is_empty()
            && !["http://", "https://"]
                .iter()
                .any(|scheme| settings.base_url.starts_with(scheme))
        {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "the base URL must start with http:// or https:// (e.g. http://127.0.0.1:11434 \
                 for a local ollama); leave it empty for the provider's own",
            ));
        }
        if settings.api_key.is_empty() && !posted.forget_key {
            settings.api_key = self.settings(caller).await?.api_key;
        }
        // Settings serialize without their key, which the record must keep.
        let value = json!({
            "provider": settings.provider,
            "model": settings.model,
            "api_key": settings.api_key,
            "base_url": settings.base_url,
        });
        let options = WriteOptions {
            table: Some(TABLE.into()),
            ..WriteOptions::default()
        };
        self.store
            .write(Record::new(key(caller), value.to_string()), &options)
            .await
            .map_err(|e| store_failure(&e))
    }

    /// The model `saved` settings reach, each empty field taken from the gateway's environment;
    /// a 400 saying what to set when there is none.
    pub(super) fn model(&self, saved: &Settings) -> Result<Model, Failure> {
        let settings = effective(saved, Settings::from_env(), |name| {
            std::env::var(name).unwrap_or_default()
        })?;
        Model::new(&settings).map_err(|e| Failure::from_error(&e))
    }

    /// The registry's endpoints `caller` may call, run as `caller`.
    pub(super) async fn tools(&self, caller: &Caller) -> Result<Tools, Failure> {
        let caller = mcp::Caller::new(caller.claims().cloned());
        Tools::registry(self.mcp.clone(), caller)
            .await
            .map_err(|e| registry_failure(&e))
    }

    /// What `caller` sees of its settings, with its tools and what is still to set up.
    pub(super) async fn view(&self, caller: &Caller) -> Result<View, Failure> {
        let settings = self.settings(caller).await?;
        let mut hints = Vec::new();
        let ready = match self.model(&settings) {
            Ok(_) => true,
            Err(failure) => {
                hints.push(failure.message().to_string());
                false
            }
        };
        let tools = match self.tools(caller).await {
            Ok(tools) if tools.specs().is_empty() => {
                hints.push(self.no_tools().await);
                Vec::new()
            }
            Ok(tools) => tools.specs().to_vec(),
            Err(failure) => {
                hints.push(failure.message().to_string());
                Vec::new()
            }
        };
        Ok(View {
            has_key: !settings.api_key.is_empty(),
            settings,
            ready,
            tools,
            hints,
        })
    }

    /// Why an account is offered no tools: no service is registered, or it may call none.
    async fn no_tools(&self) -> String {
        let tools = match self.mcp.tools().await {
            Ok(tools) => tools,
            Err(err) => return registry_failure(&err).message().to_string(),
        };
        let endpoints = tools.iter().filter(|t| !t.is_framework()).count();
        if endpoints == 0 {
            "No services are registered yet: run one (`micro run` in a project) and the agent \
             can call its endpoints."
                .to_string()
        } else {
            format!(
                "Your account may call none of the {endpoints} registered endpoints: an \
                 administrator can give it scopes on the Users page, or change the endpoints' \
                 scopes on the Scopes page."
            )
        }
    }
}

/// The settings a prompt runs with: `saved`, each empty field from `env` (the gateway's
/// `MICRO_AI_*`), whose provider reads its own key variable through `var` when no key is given.
/// A 400 when a base URL the account chose would get a key of the gateway's: that key goes only
/// to the provider's own address or `MICRO_AI_BASE_URL`.
fn effective(
    saved: &Settings,
    env: Settings,
    var: impl Fn(&str) -> String,
) -> Result<Settings, Failure> {
    let settings = saved.clone().or(env);
    if saved.base_url.is_empty() || !saved.api_key.is_empty() {
        return Ok(settings);
    }
    let name = match settings.provider.as_str() {
        "" => "openai",
        name => name,
    };
    let provider = Provider::named(name).map_err(|e| Failure::from_error(&e))?;
    let gateway_key = !settings.api_key.is_empty() || !var(provider.key_var).is_empty();
    if provider.needs_key && gateway_key {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            format!(
                "a base URL of your own needs an API key of your own: the gateway's key goes only \
                 to {}'s own address (or MICRO_AI_BASE_URL); give your key in the settings (any \
                 text for a server that takes none), or clear the base URL",
                provider.name
            ),
        ));
    }
    Ok(settings)
}

/// The store key of `caller`'s settings: one per account, one for everyone when auth is off.
fn key(caller: &Caller) -> String {
    match caller.claims() {
        Some(claims) => format!("settings/{}", claims.sub),
        None => "settings".to_string(),
    }
}

fn store_failure(err: &crate::Error) -> Failure {
    Failure::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "the store does not answer ({}); check that it runs and MICRO_STORE names it",
            err.detail
        ),
    )
}

fn registry_failure(err: &crate::Error) -> Failure {
    Failure::new(
        StatusCode::BAD_GATEWAY,
        format!(
            "the registry does not answer ({}); check that it runs and MICRO_REGISTRY names it",
            err.detail
        ),
    )
}

/// `/api/agent/settings` and `/api/agent/prompt` over `playground`. Whoever mounts them adds
/// the [`Authenticator`](crate::http::Authenticator).
pub(super) fn router(playground: Arc<Playground>) -> Router {
    Router::new()
        .route(
            "/api/agent/settings",
            get(show)
                .post(save)
                .fallback(|| async { Failure::only("GET or POST /api/agent/settings") }),
        )
        .route(
            "/api/agent/prompt",
            post(prompt).fallback(|| async { Failure::only("POST /api/agent/prompt") }),
        )
        .with_state(playground)
}

/// `GET /api/agent/settings`: the caller's settings without the key, `has_key`, the tools
/// offered and what is still to set up.
async fn show(
    State(playground): State<Arc<Playground>>,
    caller: Caller,
) -> Result<Response, Failure> {
    let view = playground.view(&caller).await?;
    Ok(json(StatusCode::OK, encode(&view)))
}

/// `POST /api/agent/settings`: `{"provider","model","api_key","base_url"}` (an empty key
/// keeps the stored one; `"forget_key": true` removes it), answered as the `GET` answers.
async fn save(
    State(playground): State<Arc<Playground>>,
    caller: Caller,
    body: Body,
) -> Result<Response, Failure> {
    let body = read_body(body, MAX_SETTINGS_SIZE).await?;
    let posted: Posted = parse(
        &body,
        r#"{"provider": "openai", "model": "", "api_key": "sk-...", "base_url": ""}"#,
    )?;
    playground.save(&caller, posted).await?;
    show(State(playground), caller).await
}

/// `POST /api/agent/prompt`: `{"prompt", "messages"?}`, answered with `text/event-stream`,
/// one `data:` line per [`Event`](crate::ai::Event) as JSON and `{"type":"error","error":...}` if the agent
/// fails; a JSON error before the stream when the prompt cannot run (no key, no registry).
async fn prompt(
    State(playground): State<Arc<Playground>>,
    caller: Caller,
    body: Body,
) -> Result<Response, Failure> {
    let body = read_body(body, MAX_PROMPT_SIZE).await?;
    let asked: Asked = parse(&body, r#"{"prompt": "what to ask", "messages": []}"#)?;
    if asked.prompt.trim().is_empty() {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            r#"the prompt is empty; send {"prompt": "what to ask"}"#,
        ));
    }
    let model = playground.model(&playground.settings(&caller).await?)?;
    let tools = playground.tools(&caller).await?;
    let request = Request::new(asked.prompt)
        .system(crate::ai::SERVICES_PROMPT)
        .messages(asked.messages);
    let events = Agent::new(model, tools).stream(request).map(|event| {
        let data = match event {
            Ok(event) => serde_json::to_string(&event)
                .unwrap_or_else(|e| error_event(&format!("cannot encode an event: {e}"))),
            Err(err) => error_event(&err.detail),
        };
        Ok::<_, Infallible>(Bytes::from(format!("data: {data}\n\n")))
    });
    let mut response = Response::new(Body::from_stream(events));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Proxies such as nginx would otherwise hold the events back.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// The stream's error event.
fn error_event(message: &str) -> String {
    json!({"type": "error", "error": message}).to_string()
}

/// `body` as a `T`, or a 400 showing the shape to send.
fn parse<T: DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|err| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not the JSON expected ({err}); send {shape}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(provider: &str, api_key: &str, base_url: &str) -> Settings {
        Settings {
            provider: provider.into(),
            api_key: api_key.into(),
            base_url: base_url.into(),
            ..Settings::default()
        }
    }

    #[test]
    fn the_gateway_key_never_goes_to_an_address_an_account_chose() {
        let own = "http://192.0.2.1:9";
        let env_key = settings("", "sk-gateway", "");
        let no_env = |_: &str| String::new();
        let provider_var = |name: &str| match name {
            "OPENAI_API_KEY" => "sk-openai".to_string(),
            _ => String::new(),
        };
        for (env, var) in [
            (env_key.clone(), &no_env as &dyn Fn(&str) -> String),
            (Settings::default(), &provider_var),
        ] {
            let refused = effective(&settings("openai", "", own), env, var).unwrap_err();
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
            assert!(refused.message().contains("needs an API key of your own"));
        }
        // The account's own key goes there; the gateway's goes to the provider's address.
        let mine = effective(&settings("openai", "sk-mine", own), env_key.clone(), no_env);
        assert_eq!(mine.unwrap().api_key, "sk-mine");
        let gateway = effective(&settings("openai", "", ""), env_key.clone(), no_env);
        assert_eq!(gateway.unwrap().api_key, "sk-gateway");
        // A keyless server of the account's own, when the gateway has no key to give, and a
        // provider that takes no key (ollama) whatever the gateway has.
        let keyless = effective(&settings("openai", "", own), Settings::default(), no_env);
        assert_eq!(keyless.unwrap().base_url, own);
        assert!(effective(&settings("ollama", "", own), env_key, provider_var).is_ok());
    }
}
