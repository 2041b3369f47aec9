//! Models and the tool loop (`micro::ai`) for Python: a [`Model`] asked whole or streamed, an
//! [`Agent`] running the tools a model asks for, through a Python callable or the registry's
//! client. Requests, responses, tool calls and events cross as the engine's JSON shapes
//! (dicts); the Python layer (`go_micro._ai`) gives them types and the asyncio face.

use crate::components::json_to_py;
use crate::runtime::{self, run};
use crate::service::Reply;
use crate::tools::Tools;
use crate::{error, json};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use micro::ai::{self, Event, Request, Settings, ToolCall, ToolSpec};
use micro::mcp::{Caller, Mcp};
use pyo3::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use std::sync::Arc;
use tokio::sync::{Mutex as AsyncMutex, oneshot};

/// Who raises the errors of the Python tool handler.
const ID: &str = "go_micro.ai";

/// A Python value read as the engine's `T` (through its JSON); a `BadRequestError` saying
/// what is wrong with `what`.
fn from_py<T: DeserializeOwned>(value: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    let py = value.py();
    let text = json::to_bytes(value)?;
    serde_json::from_slice(&text).map_err(|e| error::usage(py, &format!("{what}: {e}")))
}

/// A model of one provider. Unset settings come from `MICRO_AI_PROVIDER`, `MICRO_AI_MODEL`,
/// `MICRO_AI_API_KEY` (or the provider's own key variable, such as `OPENAI_API_KEY`) and
/// `MICRO_AI_BASE_URL`; the provider defaults to `openai`, the model to the provider's.
#[pyclass(module = "go_micro._native", frozen)]
pub struct Model {
    inner: ai::Model,
}

#[pymethods]
impl Model {
    /// The model `model` of `provider` (`anthropic`, `openai`, `gemini`, `groq`, `mistral`,
    /// `together`, `atlascloud`, `ollama` or `minimax`) with `api_key`, at `base_url`; a
    /// `BadRequestError` for an unknown provider or a missing key.
    #[new]
    #[pyo3(signature = (provider=None, model=None, api_key=None, base_url=None))]
    fn new(
        py: Python<'_>,
        provider: Option<String>,
        model: Option<String>,
        api_key: Option<String>,
        base_url: Option<String>,
    ) -> PyResult<Self> {
        let settings = Settings {
            provider: provider.unwrap_or_default(),
            model: model.unwrap_or_default(),
            api_key: api_key.unwrap_or_default(),
            base_url: base_url.unwrap_or_default(),
        }
        .or(Settings::from_env());
        let inner = ai::Model::new(&settings).map_err(|e| error::to_py(py, &e))?;
        Ok(Model { inner })
    }

    /// The provider's name.
    #[getter]
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    /// The model's name.
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// Asks once with `request` (a dict: `prompt`, `system`, `messages`, `tools`) and returns
    /// the whole answer (`text`, `tool_calls` not run, `usage`, `messages`).
    #[pyo3(signature = (request, *, done=None))]
    fn generate(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        done: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let request: Request = from_py(request, "the request")?;
        let model = self.inner.clone();
        run(
            py,
            done,
            async move { model.generate(&request).await },
            |py, response| json_to_py(py, &response),
        )
    }

    /// Asks with `request` and streams the answer: its events, read with `Events.recv`.
    fn stream(&self, request: &Bound<'_, PyAny>) -> PyResult<Events> {
        let request: Request = from_py(request, "the request")?;
        let model = self.inner.clone();
        let events = stream::once(async move { model.stream(&request).await })
            .try_flatten()
            .boxed();
        Ok(Events::new(events))
    }
}

/// The tools an agent offers.
#[derive(Clone)]
enum Source {
    /// Tool specs, run by the handler each request gives.
    Specs(Vec<ToolSpec>),
    /// The registry's endpoints, through this catalogue (named for every provider).
    Registry(Arc<Mcp>),
}

/// A model with tools, running the tool loop: the model's tool calls are run (in parallel
/// where it asks for several) and their results given back until it answers.
#[pyclass(module = "go_micro._native", frozen)]
pub struct Agent {
    model: ai::Model,
    source: Source,
    max_steps: usize,
}

#[pymethods]
impl Agent {
    /// `model` offered `specs` (a list of dicts: `name`, `description`, `parameters`), run
    /// by the handler each request gives, or else the endpoints of `tools`' registry, run
    /// through its client (or by the handler, when one is given). The model may ask for
    /// tools up to `max_steps` times (default 10) before it must answer.
    #[new]
    #[pyo3(signature = (model, *, specs=None, tools=None, max_steps=None))]
    fn new(
        py: Python<'_>,
        model: PyRef<'_, Model>,
        specs: Option<Bound<'_, PyAny>>,
        tools: Option<PyRef<'_, Tools>>,
        max_steps: Option<usize>,
    ) -> PyResult<Self> {
        let source = match (specs, tools) {
            (Some(specs), None) => Source::Specs(from_py(&specs, "the tool specs")?),
            (None, Some(tools)) => Source::Registry(tools.agent_mcp()),
            _ => {
                return Err(error::usage(
                    py,
                    "give the agent either tool specs or the registry's tools, one of the two",
                ));
            }
        };
        Ok(Agent {
            model: model.inner.clone(),
            source,
            max_steps: max_steps.unwrap_or(ai::DEFAULT_MAX_STEPS),
        })
    }

    /// Runs the loop for `request` (a dict: `prompt`, `system`, `messages`) to the end: the
    /// answer with every tool call made, each with its `result` or `error`. `invoke(call,
    /// reply)` runs a tool call (a dict: `id`, `name`, `arguments`) and calls `reply(result,
    /// None)` or `reply(None, exception)`, then or later.
    #[pyo3(signature = (request, invoke=None, *, done=None))]
    fn generate(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        invoke: Option<Py<PyAny>>,
        done: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let request: Request = from_py(request, "the request")?;
        let agent = self.agent(invoke);
        run(
            py,
            done,
            async move { agent.await?.generate(request).await },
            |py, response| json_to_py(py, &response),
        )
    }

    /// Runs the loop for `request` as `generate` does, reporting as it goes: the answer's
    /// text in pieces, each tool call and its result, then the whole answer; read with
    /// `Events.recv`.
    #[pyo3(signature = (request, invoke=None))]
    fn stream(&self, request: &Bound<'_, PyAny>, invoke: Option<Py<PyAny>>) -> PyResult<Events> {
        let request: Request = from_py(request, "the request")?;
        let agent = self.agent(invoke);
        let events = stream::once(async move { agent.await.map(|agent| agent.stream(request)) })
            .try_flatten()
            .boxed();
        Ok(Events::new(events))
    }
}

impl Agent {
    /// The engine's agent for one request, with `invoke` as its tool handler when given,
    /// once its tools are known: the registry's are listed as the request starts, so
    /// services that came or went since are seen.
    fn agent(
        &self,
        invoke: Option<Py<PyAny>>,
    ) -> impl Future<Output = micro::Result<ai::Agent>> + Send + 'static {
        let handler = invoke.map(|invoke| -> Arc<dyn ai::ToolHandler> {
            let invoke = Arc::new(invoke);
            Arc::new(move |call: ToolCall| tool_call(invoke.clone(), call))
        });
        let (source, model, max_steps) = (self.source.clone(), self.model.clone(), self.max_steps);
        async move {
            let tools = match source {
                Source::Specs(specs) => {
                    let handler = handler.ok_or_else(|| {
                        micro::Error::bad_request(
                            ID,
                            "an agent with tool specs needs a handler to run them",
                        )
                    })?;
                    ai::Tools::new(specs, handler)
                }
                Source::Registry(mcp) => {
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

/// Runs one tool call through the Python `invoke(call, reply)`, on a blocking thread (a sync
/// handler may take its time), and waits for the reply: the result, or the error the model is
/// told.
async fn tool_call(invoke: Arc<Py<PyAny>>, call: ToolCall) -> Result<Json, String> {
    let (sender, outcome) = oneshot::channel();
    let calling = tokio::task::spawn_blocking(move || {
        Python::attach(|py| {
            let reply = Py::new(py, Reply::new(ID, sender))?;
            let call = json_to_py(py, &call)?;
            if let Err(err) = invoke.call1(py, (call, reply.clone_ref(py))) {
                reply.get().settle(Err(error::from_py(py, err, ID)));
            }
            Ok::<_, PyErr>(())
        })
    });
    if let Ok(Err(err)) = calling.await {
        return Err(format!("the tool handler could not be called: {err}"));
    }
    let body = outcome
        .await
        .map_err(|_| "the tool handler never replied (its event loop stopped?)".to_string())?
        .map_err(|e| e.detail)?;
    Ok(serde_json::from_slice(&body)
        .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&body).into())))
}

/// The events of a streamed answer, in order: `{"type": "text", "text"}` pieces,
/// `{"type": "tool_call", "call"}` and `{"type": "tool_result", "call"}`, then
/// `{"type": "done", "response"}`.
#[pyclass(module = "go_micro._native", frozen)]
pub struct Events {
    events: Arc<AsyncMutex<BoxStream<'static, micro::Result<Event>>>>,
    pid: u32,
}

impl Events {
    fn new(events: BoxStream<'static, micro::Result<Event>>) -> Events {
        Events {
            events: Arc::new(AsyncMutex::new(events)),
            pid: std::process::id(),
        }
    }
}

#[pymethods]
impl Events {
    /// The next event as a dict, or `None` after the last; a failure raises its
    /// `MicroError`.
    #[pyo3(signature = (*, done=None))]
    fn recv(&self, py: Python<'_>, done: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        runtime::same_process(py, self.pid, "stream of events")?;
        let events = self.events.clone();
        run(
            py,
            done,
            async move { events.lock().await.next().await.transpose() },
            |py, event| match event {
                Some(event) => json_to_py(py, &event),
                None => Ok(py.None()),
            },
        )
    }
}
