//! Models and agents for C: a model from settings, asked once (`micro_model_generate`) or
//! streamed (`micro_model_stream`), and an agent running the tool loop with the registry's
//! endpoints or with tools a C handler runs. Requests, responses and events are JSON text, as
//! the engine writes them (`micro::ai`), so the ABI stays thin and stable.

use crate::args;
use crate::buf;
use crate::callback::{Owned, UserData, off_worker};
use crate::error::{self, Failure, MICRO_ERR_NULL_ARGUMENT, micro_error};
use crate::reply::micro_reply;
use crate::runtime;
use crate::service::micro_handler_fn;
use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use micro::ai::{Agent, Event, Model, Request, Settings, ToolCall, ToolHandler, ToolSpec, Tools};
use micro::mcp::{Caller, Mcp, Naming};
use micro::transport::Header;
use serde::Deserialize;
use serde_json::Value as Json;
use std::ffi::{c_char, c_void};
use std::sync::Arc;
use tokio::sync::{Mutex, watch};

/// The id of the errors raised here, the engine's for its models.
const ID: &str = "micro.ai";

/// A model of one provider. Opaque; share it between threads freely; free with
/// `micro_model_free` (agents and streams made from it keep what they need).
pub struct micro_model {
    model: Model,
}

/// A model with tools, running the tool loop. Opaque; share it between threads freely; free
/// with `micro_agent_free` (streams made from it keep what they need).
pub struct micro_agent {
    agent: Agent,
}

/// The events of one answer, pulled one at a time with `micro_ai_stream_next`. Opaque; owned
/// by the caller, who frees it with `micro_ai_stream_free`.
pub struct micro_ai_stream {
    /// The events still to come; `None` once ended, failed or cancelled.
    events: Mutex<Option<BoxStream<'static, micro::Result<Event>>>>,
    /// Becomes true on `micro_ai_stream_cancel`.
    cancelled: watch::Sender<bool>,
}

/// What `micro_agent_new` accepts besides its tools.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentOptions {
    max_steps: Option<usize>,
}

/// The request in `request_json`, which must not be NULL.
///
/// # Safety
/// `request_json` is NULL or NUL-terminated.
unsafe fn request(request_json: *const c_char) -> Result<Request, Failure> {
    args::parse(
        unsafe { args::text(request_json, "request_json") }?,
        "request_json",
    )
}

/// Makes a model from settings as JSON: `{"provider": "openai", "model": "gpt-4o",
/// "api_key": "...", "base_url": "http://127.0.0.1:8080/v1"}`, every field optional; NULL,
/// missing or empty fields come from `MICRO_AI_PROVIDER`, `MICRO_AI_MODEL`, `MICRO_AI_API_KEY`
/// (or the provider's own variable, such as `OPENAI_API_KEY`) and `MICRO_AI_BASE_URL`; the
/// provider defaults to `openai` and the model to the provider's default. Providers:
/// anthropic, openai, gemini, groq, mistral, together, atlascloud, ollama, minimax. 400 for
/// an unknown provider or a provider without a key, saying what to set. Nothing is sent until
/// the model is asked. On success `*out` holds the model, owned by the caller
/// (`micro_model_free`). Keys are never logged nor put in an error. Any thread.
///
/// # Safety
/// `settings_json` NULL or NUL-terminated; `out`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_model_new(
    settings_json: *const c_char,
    out: *mut *mut micro_model,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let settings: Settings = unsafe { args::json(settings_json, "settings_json") }?;
        args::out(out, "out")?;
        runtime::engine()?; // after micro_runtime_shutdown, MICRO_ERR_SHUTDOWN as everywhere
        let model = Model::new(&settings.or(Settings::from_env()))?;
        unsafe { args::put(out, Box::into_raw(Box::new(micro_model { model })), "out") }
    })
}

/// Asks the model once and blocks until its whole answer. `request_json`: `{"prompt":
/// "...", "system": "...", "messages": [{"role": "user" | "assistant" | "system" | "tool",
/// "content": "...", "tool_calls": [...], "tool_call_id": "..."}], "tools": [{"name": "...",
/// "description": "...", "parameters": {JSON Schema}}]}`, every field optional. On success
/// `*response_json` holds the answer, a new string the caller frees with
/// `micro_string_free`: `{"text": "...", "tool_calls": [{"id", "name", "arguments"}],
/// "usage": {"input_tokens", "output_tokens"}, "messages": [the messages this exchange adds to
/// the conversation]}`; tool calls come back unrun (an agent runs them). On failure the
/// provider's refusal with its status (401 for a refused key, 429 when rate limited, ...) or
/// 503 when it cannot be reached, each saying what to check. Any thread but a runtime worker;
/// handlers may call it.
///
/// # Safety
/// `model` NULL or live; `request_json` NULL or NUL-terminated; `response_json`, `err` NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_model_generate(
    model: *const micro_model,
    request_json: *const c_char,
    response_json: *mut *mut c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let model = &unsafe { args::handle(model, "model") }?.model;
        let request = unsafe { request(request_json) }?;
        args::out(response_json, "response_json")?;
        let response = runtime::engine()?.block_on(model.generate(&request))?;
        unsafe { args::put(response_json, buf::json_string(&response)?, "response_json") }
    })
}

/// Asks the model and streams its answer: on success `*out` holds a stream, owned by the
/// caller, to pull events from with `micro_ai_stream_next` and free with
/// `micro_ai_stream_free`. `request_json` as in `micro_model_generate`. Returns at once: the
/// provider is asked on the first `micro_ai_stream_next`, which reports its errors. Events:
/// `text` pieces, a `tool_call` for each tool asked for (unrun), then `done` with the whole
/// answer. Any thread.
///
/// # Safety
/// `model` NULL or live; `request_json` NULL or NUL-terminated; `out`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_model_stream(
    model: *const micro_model,
    request_json: *const c_char,
    out: *mut *mut micro_ai_stream,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let model = unsafe { args::handle(model, "model") }?.model.clone();
        let request = unsafe { request(request_json) }?;
        args::out(out, "out")?;
        runtime::engine()?; // after micro_runtime_shutdown, MICRO_ERR_SHUTDOWN as everywhere
        // Opened on the first pull, whose wait a cancellation can end.
        let events = futures::stream::once(async move { model.stream(&request).await })
            .try_flatten()
            .boxed();
        unsafe { args::put(out, ai_stream(events), "out") }
    })
}

/// A stream handle for C over `events`.
fn ai_stream(events: BoxStream<'static, micro::Result<Event>>) -> *mut micro_ai_stream {
    Box::into_raw(Box::new(micro_ai_stream {
        events: Mutex::new(Some(events)),
        cancelled: watch::channel(false).0,
    }))
}

/// Frees a model. NULL is ignored. Call it once, after every other call on it returned;
/// agents and streams made from it go on working. Any thread.
///
/// # Safety
/// `model` NULL or live, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_model_free(model: *mut micro_model) {
    if model.is_null() {
        return;
    }
    // SAFETY: made by `micro_model_new`; the caller gives it up.
    error::quietly(|| drop(unsafe { Box::from_raw(model) }));
}

/// Runs tool calls through a C handler: each call goes to the handler as a request, answered
/// through a reply handle as a service endpoint's request is.
struct CTools {
    handler: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut micro_reply),
    data: UserData,
}

#[async_trait]
impl ToolHandler for CTools {
    async fn call(&self, call: &ToolCall) -> Result<Json, String> {
        let body = serde_json::to_vec(call).map_err(|e| e.to_string())?;
        let reply = micro_reply::new(call.name.as_str().into(), Header::new());
        let lent = Owned(reply.lend());
        let (handler, data) = (self.handler, self.data);
        off_worker(
            move || {
                let lent = lent;
                error::quietly(|| unsafe {
                    handler(data.get(), body.as_ptr(), body.len(), lent.get())
                });
            },
            (),
        )
        .await;
        match reply.answered().await {
            Ok(result) => Ok(serde_json::from_slice(&result)
                .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&result).into_owned()))),
            Err(e) if e.detail.is_empty() => Err(e.to_json()),
            Err(e) => Err(e.detail),
        }
    }
}

/// Makes an agent: `model` (which may be freed afterwards) with tools, running the tool loop
/// (the model's tool calls made in parallel, their results or errors given back to it, until
/// it answers or has asked for tools `max_steps` times). The tools:
/// - `tools_json` NULL or empty and `handler` NULL: every endpoint in the registry (the
///   runtime's, which the process's services and clients share), each a tool named
///   `service_Handler_Method` with its request's JSON Schema, called through the client; no
///   account is sent with the calls.
/// - `tools_json` NULL or empty and `handler` set: the same tools, run by `handler` instead,
///   to log, guard or route the calls.
/// - `tools_json` a JSON array of `{"name": "...", "description": "...", "parameters": {JSON
///   Schema}}` (names `^[a-zA-Z0-9_-]{1,64}$`): these tools, run by `handler`, which must be
///   set.
///
/// `handler` is a `micro_handler_fn`, called on a library thread (it may block; parallel calls
/// run at once on several) with `user_data` and the call as its request, JSON `{"id": "...",
/// "name": "...", "arguments": {...}}`. It answers through the reply once, now or later from
/// any thread: `micro_reply_send` with the result (JSON; other bytes are given to the model as
/// a string), or `micro_reply_error`, whose detail the model is told as the tool's error. A
/// tool the model names that was not offered is refused without calling it. `user_data` must
/// stay valid, and usable from any thread, until the agent and every stream of it are freed.
/// `options_json` (NULL for defaults): `{"max_steps": 10}`. On success `*out` holds the
/// agent, owned by the caller (`micro_agent_free`). Any thread but a runtime worker.
///
/// # Safety
/// `model` NULL or live; strings NULL or NUL-terminated; `out`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_agent_new(
    model: *const micro_model,
    tools_json: *const c_char,
    handler: micro_handler_fn,
    user_data: *mut c_void,
    options_json: *const c_char,
    out: *mut *mut micro_agent,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let model = unsafe { args::handle(model, "model") }?.model.clone();
        let specs: Option<Vec<ToolSpec>> = unsafe { args::json(tools_json, "tools_json") }?;
        let options: AgentOptions = unsafe { args::json(options_json, "options_json") }?;
        args::out(out, "out")?;
        let handler = handler.map(|handler| {
            Arc::new(CTools {
                handler,
                data: UserData(user_data),
            }) as Arc<dyn ToolHandler>
        });
        let tools = match (specs, handler) {
            (Some(specs), Some(handler)) => Tools::new(specs, handler),
            (Some(_), None) => {
                return Err(Failure::new(
                    MICRO_ERR_NULL_ARGUMENT,
                    "handler must not be NULL when tools_json names tools: it runs them",
                ));
            }
            (None, handler) => {
                let engine = runtime::engine()?;
                let mcp = Mcp::new(engine.registry(), engine.store()?, engine.broker())
                    .naming(Naming::Safe);
                let tools = engine.block_on(Tools::registry(Arc::new(mcp), Caller::new(None)))?;
                match handler {
                    Some(handler) => tools.handler(handler),
                    None => tools,
                }
            }
        };
        let mut agent = Agent::new(model, tools);
        if let Some(steps) = options.max_steps {
            agent = agent.max_steps(steps);
        }
        unsafe { args::put(out, Box::into_raw(Box::new(micro_agent { agent })), "out") }
    })
}

/// Runs the tool loop to the end and blocks until the answer. `request_json` as in
/// `micro_model_generate` (the agent offers its own tools). On success `*response_json`
/// holds the answer as in `micro_model_generate`, with every tool call made, each with its
/// `result` or `error`; the caller frees it with `micro_string_free`. 400 when the model
/// asked for tools `max_steps` times without answering; the provider's errors as in
/// `micro_model_generate`. Any thread but a runtime worker; handlers may call it.
///
/// # Safety
/// `agent` NULL or live; `request_json` NULL or NUL-terminated; `response_json`, `err` NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_agent_generate(
    agent: *const micro_agent,
    request_json: *const c_char,
    response_json: *mut *mut c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let agent = &unsafe { args::handle(agent, "agent") }?.agent;
        let request = unsafe { request(request_json) }?;
        args::out(response_json, "response_json")?;
        let response = runtime::engine()?.block_on(agent.generate(request))?;
        unsafe { args::put(response_json, buf::json_string(&response)?, "response_json") }
    })
}

/// Runs the tool loop, reporting as it goes: on success `*out` holds a stream, owned by the
/// caller (`micro_ai_stream_next`, `micro_ai_stream_free`). Events: `text` pieces, a
/// `tool_call` as the model asks for a tool, a `tool_result` once it ran (the call with its
/// `result` or `error`), then `done` with the answer as `micro_agent_generate` gives it.
/// Freeing or cancelling the stream stops the loop (a tool call under way still finishes).
/// Any thread.
///
/// # Safety
/// `agent` NULL or live; `request_json` NULL or NUL-terminated; `out`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_agent_stream(
    agent: *const micro_agent,
    request_json: *const c_char,
    out: *mut *mut micro_ai_stream,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let agent = &unsafe { args::handle(agent, "agent") }?.agent;
        let request = unsafe { request(request_json) }?;
        args::out(out, "out")?;
        let engine = runtime::engine()?;
        // The loop runs as a task of the runtime.
        let events = {
            let _entered = engine.handle().enter();
            agent.stream(request)
        };
        unsafe { args::put(out, ai_stream(events), "out") }
    })
}

/// Frees an agent. NULL is ignored. Call it once, after every other call on it returned;
/// its streams go on working. Any thread.
///
/// # Safety
/// `agent` NULL or live, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_agent_free(agent: *mut micro_agent) {
    if agent.is_null() {
        return;
    }
    // SAFETY: made by `micro_agent_new`; the caller gives it up.
    error::quietly(|| drop(unsafe { Box::from_raw(agent) }));
}

/// Waits for the next event and stores it in `*event_json`, a new string the caller frees
/// with `micro_string_free`: `{"type": "text", "text": "..."}`, `{"type": "tool_call",
/// "call": {"id", "name", "arguments"}}`, `{"type": "tool_result", "call": {..., "result" or
/// "error"}}` or, last, `{"type": "done", "response": {...}}`. Returns `MICRO_EOF` (not an
/// error: `*event_json` NULL and `*err` NULL) after `done`, after an error and after
/// cancellation. A failure (the provider's refusal, the step limit, ...) is returned as its
/// error once, and ends the stream. A call waiting when the stream is cancelled, or the first
/// call after, returns 408 ("cancelled"). One call at a time; any thread but a runtime worker.
///
/// # Safety
/// `s` NULL or a live stream; `event_json`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_ai_stream_next(
    s: *mut micro_ai_stream,
    event_json: *mut *mut c_char,
    err: *mut *mut micro_error,
) -> i32 {
    let mut ended = false;
    let status = error::run(err, || {
        let s = unsafe { args::handle(s, "stream") }?;
        unsafe { args::put(event_json, std::ptr::null_mut(), "event_json") }?;
        let mut cancelled = s.cancelled.subscribe();
        let event = runtime::engine()?.block_on(async {
            let mut events = s.events.lock().await;
            let Some(stream) = events.as_mut() else {
                return Ok(None);
            };
            let next = tokio::select! {
                biased;
                _ = cancelled.wait_for(|cancelled| *cancelled) => Some(Err(micro::Error::timeout(
                    ID,
                    "the stream was cancelled (micro_ai_stream_cancel)",
                ))),
                next = stream.next() => next,
            };
            if !matches!(next, Some(Ok(_))) {
                *events = None;
            }
            next.transpose()
        })?;
        ended = event.is_none();
        match event {
            Some(event) => unsafe {
                args::put(event_json, buf::json_string(&event)?, "event_json")
            },
            None => Ok(()),
        }
    });
    if status == 0 && ended {
        error::MICRO_EOF
    } else {
        status
    }
}

/// Cancels the stream: a `micro_ai_stream_next` waiting returns 408 at once, and the model's
/// answer (or the agent's loop) is dropped. Cancelling twice, or after the end, does nothing.
/// Returns 0, or `MICRO_ERR_NULL_ARGUMENT`. Any thread, while another waits in
/// `micro_ai_stream_next`.
///
/// # Safety
/// `s` NULL or a live stream; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_ai_stream_cancel(
    s: *mut micro_ai_stream,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        unsafe { args::handle(s, "stream") }?
            .cancelled
            .send_replace(true);
        Ok(())
    })
}

/// Frees a stream, dropping what it had not delivered (an agent's loop stops). NULL is
/// ignored. Call it once, after every other call on it returned. Any thread.
///
/// # Safety
/// `s` NULL or a live stream, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_ai_stream_free(s: *mut micro_ai_stream) {
    if s.is_null() {
        return;
    }
    // SAFETY: made by `ai_stream`; the caller gives it up.
    error::quietly(|| drop(unsafe { Box::from_raw(s) }));
}
