//! Serving one connection: read go-micro transport messages, answer unary calls in order,
//! run each stream as its own task, answer `GET /health*` as plain HTTP. Stream tasks end
//! with the connection, so a caller that goes away leaves nothing running.

use super::handler::{Context, Stream};
use super::router::{Route, Router};
use crate::codec::DEFAULT_CONTENT_TYPE;
use crate::errors::{Error, Result};
use crate::transport::wire::{Frame, Start};
use crate::transport::{self, END_OF_STREAM, Header, Message, Responder, micro_header};
use bytes::Bytes;
use futures::FutureExt;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

/// What every connection of one server shares.
pub(crate) struct Shared {
    pub name: String,
    pub router: Router,
    pub max_body: usize,
    /// True while registered and serving: what `/health/ready` reports.
    pub ready: AtomicBool,
}

/// How many messages a stream may have waiting before the connection stops reading.
const STREAM_BUFFER: usize = 64;

/// Serves one connection until the peer closes it or `stopping` turns true.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    mut stopping: watch::Receiver<bool>,
) {
    let (mut reader, responder) = transport::accept(stream, shared.max_body);
    let mut streams: HashMap<String, mpsc::Sender<Message>> = HashMap::new();
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        let frame = tokio::select! {
            frame = reader.read() => Some(frame),
            _ = stopping.wait_for(|s| *s) => None,
        };
        let Some(frame) = frame else {
            // Stopping: read no more, but let running streams finish.
            while tasks.join_next().await.is_some() {}
            return;
        };
        let frame = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => return,
            Err(err) => {
                // The byte stream cannot be resynchronised: say why, then close.
                tracing::debug!(%err, "bad message on connection");
                let code = if err.code == 413 { 413 } else { 400 };
                let _ = responder
                    .send_status(code, &Header::new(), err.detail.as_bytes())
                    .await;
                return;
            }
        };
        let Frame {
            start,
            header,
            body,
        } = frame;
        match start {
            Start::Request { method, path } if method == "GET" => {
                if health(&shared, &responder, &path).await.is_err() {
                    return;
                }
            }
            Start::Request { method, .. } if method == "POST" => {
                let message = Message { header, body };
                if let Some(id) = micro_header(&message.header, "Stream").map(str::to_string) {
                    on_stream_message(&shared, &responder, &mut streams, &mut tasks, id, message)
                        .await;
                } else if responder
                    .send(&unary(&shared, message).await)
                    .await
                    .is_err()
                {
                    return;
                }
            }
            _ => {
                let _ = responder
                    .send_status(405, &Header::new(), b"use POST for calls, GET for /health")
                    .await;
                return;
            }
        }
    }
}

/// Answers `/health`, `/health/live` and `/health/ready`.
async fn health(shared: &Shared, responder: &Responder, path: &str) -> Result<()> {
    let ready = shared.ready.load(Ordering::Acquire);
    let (code, body) = match path.split('?').next().unwrap_or("") {
        "/health" | "/health/live" => (200, r#"{"status":"ok"}"#),
        "/health/ready" if ready => (200, r#"{"status":"ready"}"#),
        "/health/ready" => (503, r#"{"status":"not ready"}"#),
        _ => (
            404,
            r#"{"error":"not found; try /health, /health/live or /health/ready"}"#,
        ),
    };
    let header = Header::from([("Content-Type".to_string(), "application/json".to_string())]);
    responder.send_status(code, &header, body.as_bytes()).await
}

/// The call headers every response repeats.
fn reply_header(request: &Header, content_type: &str) -> Header {
    let mut header = Header::with_capacity(6);
    for name in ["Id", "Service", "Endpoint", "Method", "Stream"] {
        if let Some(v) = micro_header(request, name) {
            header.insert(format!("Micro-{name}"), v.to_string());
        }
    }
    header.insert("Content-Type".into(), content_type.to_string());
    header
}

fn context(shared: &Shared, header: Header) -> (Context, String) {
    let endpoint = micro_header(&header, "Endpoint")
        .or_else(|| micro_header(&header, "Method"))
        .unwrap_or_default()
        .to_string();
    let content_type = header
        .get("Content-Type")
        .filter(|v| !v.is_empty())
        .cloned()
        .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_string());
    let ctx = Context {
        service: shared.name.clone(),
        endpoint,
        content_type: content_type.clone(),
        metadata: header,
    };
    (ctx, content_type)
}

fn unknown_endpoint(shared: &Shared, endpoint: &str) -> Error {
    Error::not_found(
        shared.name.as_str(),
        format!(
            "service {} has no endpoint {endpoint:?}; it serves: {}",
            shared.name,
            shared.router.names()
        ),
    )
}

/// Runs one unary call and builds its response message.
async fn unary(shared: &Shared, message: Message) -> Message {
    let mut header = reply_header(&message.header, "");
    let (ctx, content_type) = context(shared, message.header);
    header.insert("Content-Type".into(), content_type);
    match call(shared, ctx, message.body).await {
        Ok(body) => Message { header, body },
        Err(err) => {
            header.insert("Micro-Error".into(), err.to_json());
            Message {
                header,
                body: Bytes::new(),
            }
        }
    }
}

async fn call(shared: &Shared, ctx: Context, body: Bytes) -> Result<Bytes> {
    let codec = ctx.codec()?;
    let entry = shared
        .router
        .get(&ctx.endpoint)
        .ok_or_else(|| unknown_endpoint(shared, &ctx.endpoint))?;
    let Route::Unary(handler) = &entry.route else {
        return Err(Error::bad_request(
            shared.name.as_str(),
            format!(
                "{} is a stream endpoint; open a stream (Micro-Stream header) to call it",
                ctx.endpoint
            ),
        ));
    };
    let payload = codec.unframe(body)?;
    let timeout = deadline(&ctx.metadata);
    let endpoint = ctx.endpoint.clone();
    let run = AssertUnwindSafe(shared.router.call(handler, ctx, payload)).catch_unwind();
    let outcome = match timeout {
        Some(limit) => tokio::time::timeout(limit, run).await.map_err(|_| {
            Error::timeout(
                shared.name.as_str(),
                format!("{endpoint} did not answer within {limit:?}"),
            )
        })?,
        None => run.await,
    };
    let payload = outcome.map_err(|panic| panicked(shared, &endpoint, panic))??;
    Ok(codec.frame(payload))
}

/// The caller's `Timeout` header (nanoseconds), if any.
fn deadline(header: &Header) -> Option<Duration> {
    header
        .get("Timeout")?
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(Duration::from_nanos)
}

fn panicked(shared: &Shared, endpoint: &str, panic: Box<dyn std::any::Any + Send>) -> Error {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    tracing::error!(endpoint, panic = %what, "handler panicked");
    Error::internal(
        shared.name.as_str(),
        format!("the handler for {endpoint} panicked: {what}"),
    )
}

/// Routes a message carrying `Micro-Stream`: to its running stream, or opens a new one.
async fn on_stream_message(
    shared: &Arc<Shared>,
    responder: &Responder,
    streams: &mut HashMap<String, mpsc::Sender<Message>>,
    tasks: &mut JoinSet<()>,
    id: String,
    message: Message,
) {
    let closing = micro_header(&message.header, "Error") == Some(END_OF_STREAM);
    if let Some(tx) = streams.get(&id) {
        let delivered = tx.send(message).await.is_ok();
        if closing || !delivered {
            streams.remove(&id);
        }
        return;
    }
    if closing {
        return;
    }
    let handler = match route_of(shared, &message) {
        Some(Route::Unary(_)) => {
            // go-micro's server answers a unary endpoint called with a stream id as a plain
            // call, and go-micro clients may send one on every call: do the same.
            let reply = unary(shared, message).await;
            let _ = responder.send(&reply).await;
            return;
        }
        Some(Route::Stream(handler)) => Some(handler.clone()),
        None => None,
    };
    let mut reply = reply_header(&message.header, "");
    let (ctx, content_type) = context(shared, message.header);
    reply.insert("Content-Type".into(), content_type);
    let opened = ctx.codec().and_then(|codec| {
        let handler = handler.ok_or_else(|| unknown_endpoint(shared, &ctx.endpoint))?;
        Ok((handler, codec))
    });
    let (handler, codec) = match opened {
        Ok(opened) => opened,
        Err(err) => {
            reply.insert("Micro-Error".into(), err.to_json());
            let _ = responder
                .send(&Message {
                    header: reply,
                    body: Bytes::new(),
                })
                .await;
            return;
        }
    };
    // go-micro's first stream message opens the stream; its body is not a request.
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    streams.insert(id, tx);
    let stream = Stream::new(rx, responder.clone(), reply.clone(), codec);
    let (shared, responder) = (shared.clone(), responder.clone());
    tasks.spawn(async move {
        let endpoint = ctx.endpoint.clone();
        let outcome = AssertUnwindSafe(handler(ctx, stream)).catch_unwind().await;
        let end = match outcome
            .map_err(|panic| panicked(&shared, &endpoint, panic))
            .and_then(|r| r)
        {
            Ok(()) => END_OF_STREAM.to_string(),
            Err(err) => err.to_json(),
        };
        reply.insert("Micro-Error".into(), end);
        let _ = responder
            .send(&Message {
                header: reply,
                body: Bytes::new(),
            })
            .await;
    });
}

/// The route a message's endpoint names, if served.
fn route_of<'a>(shared: &'a Shared, message: &Message) -> Option<&'a Route> {
    let endpoint = micro_header(&message.header, "Endpoint")
        .or_else(|| micro_header(&message.header, "Method"))?;
    shared.router.get(endpoint).map(|e| &e.route)
}
