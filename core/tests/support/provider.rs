//! A model provider on loopback for the AI tests: it speaks one provider family's documented
//! HTTP API (OpenAI's chat completions, Anthropic's messages, Gemini's generateContent,
//! Ollama's chat), answers with the replies a test scripts, whole or streamed as the request
//! asks, and keeps every request for the test to look at.
#![allow(dead_code)]

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value as Json, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A provider family's wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    OpenAi,
    Anthropic,
    Gemini,
    Ollama,
}

impl Wire {
    /// The wire format provider `name` speaks.
    pub fn of(name: &str) -> Wire {
        match name {
            "anthropic" | "minimax" => Wire::Anthropic,
            "gemini" => Wire::Gemini,
            "ollama" => Wire::Ollama,
            _ => Wire::OpenAi,
        }
    }
}

/// One scripted answer: text, tool calls (name and arguments), or an HTTP error status.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub text: String,
    pub calls: Vec<(String, Json)>,
    pub status: u16,
    /// How long to wait before answering.
    pub pause: Duration,
}

impl Reply {
    pub fn text(text: &str) -> Reply {
        Reply {
            text: text.into(),
            ..Reply::default()
        }
    }
    pub fn call(name: &str, arguments: Json) -> Reply {
        Reply {
            calls: vec![(name.into(), arguments)],
            ..Reply::default()
        }
    }
    pub fn calls(calls: &[(&str, Json)]) -> Reply {
        Reply {
            calls: calls
                .iter()
                .map(|(n, a)| (n.to_string(), a.clone()))
                .collect(),
            ..Reply::default()
        }
    }
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            ..Reply::default()
        }
    }
}

/// A request the provider received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Path and query.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Json,
}

impl Seen {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// Tokens every answer reports.
pub const INPUT_TOKENS: u64 = 11;
pub const OUTPUT_TOKENS: u64 = 7;

#[derive(Default)]
struct State {
    replies: VecDeque<Reply>,
    /// Answered when no reply is scripted.
    repeat: Option<Reply>,
    seen: Vec<Seen>,
}

/// The provider: its base URL (without the version path, as go-micro takes it).
pub struct Provider {
    pub url: String,
    pub wire: Wire,
    pub name: String,
    state: Arc<Mutex<State>>,
}

impl Provider {
    /// Starts one on loopback, speaking the API of provider `name`.
    pub async fn start(name: &str) -> Provider {
        let wire = Wire::of(name);
        // Groq reports a stream's usage in its own `x_groq` object.
        let groq = name == "groq";
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = shared.clone();
            async move { answer(wire, groq, &state, uri, headers, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Provider {
            url,
            wire,
            name: name.into(),
            state,
        }
    }

    /// Queues `reply` as the next answer.
    pub fn reply(&self, reply: Reply) -> &Provider {
        self.state.lock().unwrap().replies.push_back(reply);
        self
    }

    /// Answers `reply` whenever nothing is queued.
    pub fn always(&self, reply: Reply) {
        self.state.lock().unwrap().repeat = Some(reply);
    }

    /// The requests received, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }
}

async fn answer(
    wire: Wire,
    groq: bool,
    state: &Mutex<State>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
    let path = uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let stream = body["stream"] == json!(true) || path.contains("streamGenerateContent");
    let model = body["model"].as_str().unwrap_or("m").to_string();
    let reply = {
        let mut state = state.lock().unwrap();
        state.seen.push(Seen {
            path,
            headers,
            body,
        });
        let next = state.replies.pop_front();
        next.or_else(|| state.repeat.clone())
            .unwrap_or_else(|| Reply::text("nothing scripted"))
    };
    // Not even a zero sleep: the timer would hold the answer to its next tick (a millisecond).
    if !reply.pause.is_zero() {
        tokio::time::sleep(reply.pause).await;
    }
    if reply.status >= 400 {
        return error(wire, reply.status);
    }
    match (wire, stream) {
        (Wire::Ollama, true) => respond(
            200,
            "application/x-ndjson",
            lines(ollama_stream(&reply, &model)),
        ),
        (_, true) => respond(200, "text/event-stream", sse(wire, groq, &reply, &model)),
        (_, false) => respond(
            200,
            "application/json",
            whole(wire, &reply, &model).to_string(),
        ),
    }
}

fn respond(status: u16, content_type: &str, body: String) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", content_type)
        .header("retry-after", "7")
        .body(Body::from(body))
        .unwrap()
}

/// The provider's own error body for `status`.
fn error(wire: Wire, status: u16) -> Response {
    let message = match status {
        401 => "invalid api key",
        429 => "rate limit exceeded",
        _ => "the server had an error",
    };
    let body = match wire {
        Wire::OpenAi => {
            json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": status.to_string()}})
        }
        Wire::Anthropic => {
            let kind = match status {
                401 => "authentication_error",
                429 => "rate_limit_error",
                _ => "api_error",
            };
            json!({"type": "error", "error": {"type": kind, "message": message}})
        }
        Wire::Gemini => {
            let kind = match status {
                401 => "UNAUTHENTICATED",
                429 => "RESOURCE_EXHAUSTED",
                _ => "INTERNAL",
            };
            json!({"error": {"code": status, "message": message, "status": kind}})
        }
        Wire::Ollama => json!({"error": message}),
    };
    respond(status, "application/json", body.to_string())
}

/// The text in pieces of a word or two, as providers stream it.
fn pieces(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for (i, c) in text.char_indices() {
        piece.push(c);
        if c == ' ' && i % 2 == 1 {
            pieces.push(std::mem::take(&mut piece));
        }
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

fn openai_calls(reply: &Reply) -> Json {
    Json::Array(
        reply.calls.iter().enumerate().map(|(i, (name, args))| {
            json!({"id": format!("call_{i}"), "type": "function", "function": {"name": name, "arguments": args.to_string()}})
        }).collect(),
    )
}

fn whole(wire: Wire, reply: &Reply, model: &str) -> Json {
    let done_with_tools = !reply.calls.is_empty();
    match wire {
        Wire::OpenAi => {
            let mut message = json!({"role": "assistant", "content": reply.text});
            if done_with_tools {
                message["tool_calls"] = openai_calls(reply);
            }
            json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": if done_with_tools { "tool_calls" } else { "stop" }}],
                "usage": {"prompt_tokens": INPUT_TOKENS, "completion_tokens": OUTPUT_TOKENS, "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS},
            })
        }
        Wire::Anthropic => {
            let mut content = Vec::new();
            if !reply.text.is_empty() {
                content.push(json!({"type": "text", "text": reply.text}));
            }
            for (i, (name, args)) in reply.calls.iter().enumerate() {
                content.push(json!({"type": "tool_use", "id": format!("toolu_{i}"), "name": name, "input": args}));
            }
            json!({
                "id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": content,
                "stop_reason": if done_with_tools { "tool_use" } else { "end_turn" }, "stop_sequence": null,
                "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS},
            })
        }
        Wire::Gemini => json!({
            "candidates": [{"content": {"role": "model", "parts": gemini_parts(&reply.text, reply)}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": INPUT_TOKENS, "candidatesTokenCount": OUTPUT_TOKENS, "totalTokenCount": INPUT_TOKENS + OUTPUT_TOKENS},
        }),
        Wire::Ollama => {
            let mut message = json!({"role": "assistant", "content": reply.text});
            if done_with_tools {
                message["tool_calls"] = ollama_calls(reply);
            }
            json!({"model": model, "created_at": "2026-12-07T00:00:00Z", "message": message, "done": true, "done_reason": "stop",
                   "prompt_eval_count": INPUT_TOKENS, "eval_count": OUTPUT_TOKENS})
        }
    }
}

fn gemini_parts(text: &str, reply: &Reply) -> Vec<Json> {
    let mut parts = Vec::new();
    if !text.is_empty() {
        parts.push(json!({"text": text}));
    }
    for (name, args) in &reply.calls {
        parts.push(json!({"functionCall": {"name": name, "args": args}}));
    }
    parts
}

fn ollama_calls(reply: &Reply) -> Json {
    Json::Array(
        reply
            .calls
            .iter()
            .map(|(name, args)| json!({"function": {"name": name, "arguments": args}}))
            .collect(),
    )
}

fn ollama_stream(reply: &Reply, model: &str) -> Vec<Json> {
    let chunk = |message: Json| json!({"model": model, "created_at": "2026-12-07T00:00:00Z", "message": message, "done": false});
    let mut out: Vec<Json> = pieces(&reply.text)
        .into_iter()
        .map(|p| chunk(json!({"role": "assistant", "content": p})))
        .collect();
    if !reply.calls.is_empty() {
        out.push(chunk(
            json!({"role": "assistant", "content": "", "tool_calls": ollama_calls(reply)}),
        ));
    }
    out.push(json!({"model": model, "created_at": "2026-12-07T00:00:00Z", "message": {"role": "assistant", "content": ""},
                    "done": true, "done_reason": "stop", "prompt_eval_count": INPUT_TOKENS, "eval_count": OUTPUT_TOKENS}));
    out
}

fn lines(chunks: Vec<Json>) -> String {
    chunks.iter().map(|c| format!("{c}\n")).collect()
}

/// Server-sent events in the provider's streaming format.
fn sse(wire: Wire, groq: bool, reply: &Reply, model: &str) -> String {
    let data = |v: Json| format!("data: {v}\n\n");
    let event = |name: &str, v: Json| format!("event: {name}\ndata: {v}\n\n");
    let mut out = String::new();
    match wire {
        Wire::OpenAi => {
            let chunk = |delta: Json, finish: Json| {
                json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            };
            out += &data(chunk(
                json!({"role": "assistant", "content": ""}),
                Json::Null,
            ));
            for piece in pieces(&reply.text) {
                out += &data(chunk(json!({"content": piece}), Json::Null));
            }
            for (i, (name, args)) in reply.calls.iter().enumerate() {
                let text = args.to_string();
                let (head, tail) = text.split_at(text.len() / 2);
                out += &data(chunk(
                    json!({"tool_calls": [{"index": i, "id": format!("call_{i}"), "type": "function", "function": {"name": name, "arguments": ""}}]}),
                    Json::Null,
                ));
                out += &data(chunk(
                    json!({"tool_calls": [{"index": i, "function": {"arguments": head}}]}),
                    Json::Null,
                ));
                out += &data(chunk(
                    json!({"tool_calls": [{"index": i, "function": {"arguments": tail}}]}),
                    Json::Null,
                ));
            }
            let finish = if reply.calls.is_empty() {
                "stop"
            } else {
                "tool_calls"
            };
            let usage = json!({"prompt_tokens": INPUT_TOKENS, "completion_tokens": OUTPUT_TOKENS, "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS});
            let mut last = chunk(json!({}), json!(finish));
            if groq {
                last["x_groq"] = json!({"id": "req_1", "usage": usage});
                out += &data(last);
            } else {
                out += &data(last);
                out += &data(
                    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": [], "usage": usage}),
                );
            }
            out += "data: [DONE]\n\n";
        }
        Wire::Anthropic => {
            out += &event(
                "message_start",
                json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": 1}}}),
            );
            let mut index = 0;
            if !reply.text.is_empty() {
                out += &event(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
                );
                for piece in pieces(&reply.text) {
                    out += &event(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}),
                    );
                }
                out += &event(
                    "content_block_stop",
                    json!({"type": "content_block_stop", "index": index}),
                );
                index += 1;
            }
            for (i, (name, args)) in reply.calls.iter().enumerate() {
                let text = args.to_string();
                let (head, tail) = text.split_at(text.len() / 2);
                out += &event(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": format!("toolu_{i}"), "name": name, "input": {}}}),
                );
                for part in [head, tail] {
                    out += &event(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": part}}),
                    );
                }
                out += &event(
                    "content_block_stop",
                    json!({"type": "content_block_stop", "index": index}),
                );
                index += 1;
            }
            let stop = if reply.calls.is_empty() {
                "end_turn"
            } else {
                "tool_use"
            };
            out += &event(
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": OUTPUT_TOKENS}}),
            );
            out += &event("message_stop", json!({"type": "message_stop"}));
        }
        Wire::Gemini => {
            let texts = pieces(&reply.text);
            let candidate = |parts: Vec<Json>, last: bool| {
                let mut c = json!({"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}]});
                if last {
                    c["candidates"][0]["finishReason"] = json!("STOP");
                    c["usageMetadata"] = json!({"promptTokenCount": INPUT_TOKENS, "candidatesTokenCount": OUTPUT_TOKENS, "totalTokenCount": INPUT_TOKENS + OUTPUT_TOKENS});
                }
                c
            };
            for piece in &texts {
                out += &data(candidate(vec![json!({"text": piece})], false));
            }
            out += &data(candidate(gemini_parts("", reply), true));
        }
        Wire::Ollama => unreachable!("ollama streams lines of JSON"),
    }
    out
}
