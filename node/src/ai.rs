//! Models and the tool loop (`micro::ai`) for JS: a [`Model`] asked whole or streamed, an
//! [`Agent`] running the tools a model asks for, through a JS function or the registry's
//! client. Requests, answers and events cross as the engine's JSON text; the package's JS
//! side parses it and gives the shapes their types.

use crate::components::{Broker, Registry, Store};
use crate::error::{OrThrow, bad_input};
use crate::gateway::{Components, components};
use crate::handlers::{self, JsFn};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use micro::ai::{self, Event, Request, Settings, ToolCall, ToolSpec};
use micro::mcp::{Caller, Mcp, Naming};
use napi::bindgen_prelude::within_runtime_if_available;
use napi_derive::napi;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Who raises the errors of this module and of JS tool handlers.
const ID: &str = "go-micro.ai";

/// A tool handler: a tool call (JSON text) in, a [`Reply`](handlers::Reply) with the result
/// (JSON text) or error out.
pub type ToolFn = JsFn<String>;

/// JSON text from JS read as the engine's `T`; a 400 saying what is wrong with `what`.
fn read<T: DeserializeOwned>(text: &str, what: &str) -> napi::Result<T> {
    serde_json::from_str(text).map_err(|e| bad_input(ID, format!("{what}: {e}")))
}

/// An engine value as JSON text for JS.
fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Which model to use; what is left out comes from the `MICRO_AI_*` environment.
#[napi(object)]
pub struct ModelSettings {
    /// `anthropic`, `openai`, `gemini`, `groq`, `mistral`, `together`, `atlascloud`, `ollama`
    /// or `minimax` (default `MICRO_AI_PROVIDER`, else `openai`).
    pub provider: Option<String>,
    /// The model (default `MICRO_AI_MODEL`, else the provider's).
    pub model: Option<String>,
    /// The API key (default `MICRO_AI_API_KEY`, else the provider's own variable).
    pub api_key: Option<String>,
    /// The API's address (default `MICRO_AI_BASE_URL`, else the provider's).
    pub base_url: Option<String>,
}

/// A model of one provider.
#[napi]
pub struct Model {
    inner: ai::Model,
}

#[napi]
impl Model {
    /// The model `settings` name, the rest from the environment; a 400 for an unknown
    /// provider or a missing key.
    #[napi(constructor)]
    pub fn new(settings: Option<ModelSettings>) -> napi::Result<Self> {
        let given = settings.map_or_else(Settings::default, |s| Settings {
            provider: s.provider.unwrap_or_default(),
            model: s.model.unwrap_or_default(),
            api_key: s.api_key.unwrap_or_default(),
            base_url: s.base_url.unwrap_or_default(),
        });
        let inner = ai::Model::new(&given.or(Settings::from_env())).or_throw()?;
        Ok(Model { inner })
    }

    /// The provider's name.
    #[napi(getter)]
    pub fn provider(&self) -> String {
        self.inner.provider().to_string()
    }

    /// The model's name.
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.inner.name().to_string()
    }

    /// Asks once with `request` (JSON text: `prompt`, `system`, `messages`, `tools`); resolves
    /// to the whole answer as JSON text (`text`, `tool_calls` not run, `usage`, `messages`).
    #[napi]
    pub async fn generate(&self, request: String) -> napi::Result<String> {
        let request: Request = read(&request, "the request")?;
        let response = self.inner.generate(&request).await.or_throw()?;
        Ok(json(&response))
    }

    /// Asks with `request` and streams the answer; nothing is sent before the first `next`.
    #[napi]
    pub fn stream(&self, request: String) -> napi::Result<Events> {
        let request: Request = read(&request, "the request")?;
        let model = self.inner.clone();
        let events = stream::once(async move { model.stream(&request).await }).try_flatten();
        Ok(Events::new(events.boxed()))
    }
}

/// The tools an agent offers.
#[derive(Clone)]
enum Source {
    /// Tool specs and the handler running them.
    Specs(ai::Tools),
    /// The registry's endpoints, through this catalogue (named for every provider), run by
    /// the handler when there is one.
    Registry(Arc<Mcp>, Option<Arc<dyn ai::ToolHandler>>),
}

/// A model with tools, running the tool loop.
#[napi]
pub struct Agent {
    model: ai::Model,
    source: Source,
    max_steps: usize,
}

#[napi]
impl Agent {
    /// `model` offered `specs` (JSON text: a list of `name`, `description`, `parameters`) run
    /// by `handler`, or else the endpoints of the services in `registry` (default the
    /// environment's), called through the client, or by `handler` when given. The model may
    /// ask for tools up to `maxSteps` times (default 10).
    #[napi(
        constructor,
        ts_args_type = "model: Model, specs?: string | undefined | null, handler?: ((call: string) => Promise<Reply>) | undefined | null, maxSteps?: number | undefined | null, registry?: Registry | undefined | null, store?: Store | undefined | null, broker?: Broker | undefined | null"
    )]
    pub fn new(
        model: &Model,
        specs: Option<String>,
        handler: Option<ToolFn>,
        max_steps: Option<u32>,
        registry: Option<&Registry>,
        store: Option<&Store>,
        broker: Option<&Broker>,
    ) -> napi::Result<Self> {
        let handler = handler.map(|f| -> Arc<dyn ai::ToolHandler> {
            let f = Arc::new(f);
            Arc::new(move |call: ToolCall| tool_call(f.clone(), call))
        });
        let source = match (specs, handler) {
            (Some(specs), Some(handler)) => {
                let specs: Vec<ToolSpec> = read(&specs, "the tool specs")?;
                Source::Specs(ai::Tools::new(specs, handler))
            }
            (Some(_), None) => {
                return Err(bad_input(
                    ID,
                    "tool specs need a handler to run them: new Agent(model, { tools, handler })",
                ));
            }
            (None, handler) => {
                let Components {
                    registry,
                    store,
                    broker,
                } = components(registry, store, broker)?;
                let mcp = within_runtime_if_available(|| {
                    Mcp::new(registry, store, broker).naming(Naming::Safe)
                });
                Source::Registry(Arc::new(mcp), handler)
            }
        };
        Ok(Agent {
            model: model.inner.clone(),
            source,
            max_steps: max_steps.map_or(ai::DEFAULT_MAX_STEPS, |n| n as usize),
        })
    }

    /// Runs the loop for `request` (JSON text: `prompt`, `system`, `messages`) to the end;
    /// resolves to the answer as JSON text, with every tool call made and its `result` or
    /// `error`.
    #[napi]
    pub async fn generate(&self, request: String) -> napi::Result<String> {
        let request: Request = read(&request, "the request")?;
        let agent = self.agent().await.or_throw()?;
        Ok(json(&agent.generate(request).await.or_throw()?))
    }

    /// Runs the loop for `request` as `generate` does, reporting as it goes; nothing is sent
    /// before the first `next`.
    #[napi]
    pub fn stream(&self, request: String) -> napi::Result<Events> {
        let request: Request = read(&request, "the request")?;
        let agent = self.agent();
        let events = stream::once(async move { agent.await.map(|a| a.stream(request)) });
        Ok(Events::new(events.try_flatten().boxed()))
    }
}

impl Agent {
    /// The engine's agent for one request, once its tools are known: the registry's are
    /// listed as the request starts, so services that came or went since are seen.
    fn agent(&self) -> impl Future<Output = micro::Result<ai::Agent>> + Send + 'static {
        let (source, model, max_steps) = (self.source.clone(), self.model.clone(), self.max_steps);
        async move {
            let tools = match source {
                Source::Specs(tools) => tools,
                Source::Registry(mcp, handler) => {
                    let tools = ai::Tools::registry(mcp, Caller::new(None)).await?;
                    match handler {
                        Some(handler) => tools.handler(handler),
                        None => tools,
                    }
                }
            };
            Ok(ai::Agent::new(model, tools).max_steps(max_steps))
        }
    }
}

/// Runs one tool call through the JS handler: its result, or the error the model is told.
async fn tool_call(f: Arc<ToolFn>, call: ToolCall) -> Result<Json, String> {
    let body = handlers::call(ID, &f, json(&call))
        .await
        .map_err(|e| e.detail)?;
    Ok(serde_json::from_slice(&body)
        .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&body).into())))
}

/// The events of a streamed answer, in order, each as JSON text: `{"type":"text","text"}`
/// pieces, `{"type":"tool_call","call"}` and `{"type":"tool_result","call"}`, then
/// `{"type":"done","response"}`.
#[napi]
pub struct Events {
    events: Mutex<BoxStream<'static, micro::Result<Event>>>,
}

impl Events {
    fn new(events: BoxStream<'static, micro::Result<Event>>) -> Events {
        Events {
            events: Mutex::new(events),
        }
    }
}

#[napi]
impl Events {
    /// The next event as JSON text; `null` after the last. A failure rejects.
    #[napi]
    pub async fn next(&self) -> napi::Result<Option<String>> {
        let event = self
            .events
            .lock()
            .await
            .next()
            .await
            .transpose()
            .or_throw()?;
        Ok(event.map(|e| json(&e)))
    }
}
