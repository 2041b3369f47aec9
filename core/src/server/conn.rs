//! Serving one connection: read go-micro transport messages, answer unary calls in order,
//! run each stream as its own task, answer `GET /health*` as plain HTTP, refuse browsers.
//! Stream tasks end with the connection, so a caller that goes away leaves nothing running;
//! a message read too slowly, or a connection idle too long, ends it.

use super::Limits;
use super::handler::{Context, Stream};
use super::router::{Route, Router};
use crate::codec::DEFAULT_CONTENT_TYPE;
use crate::errors::{Error, Result};
use crate::transport::wire::{Frame, Reader, Start};
use crate::transport::{self, END_OF_STREAM, Header, Message, Responder, micro_header};
use bytes::Bytes;
use futures::FutureExt;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};

/// What every connection of one server shares.
pub(crate) struct Shared {
    pub name: String,
    pub router: Router,
    pub max_body: usize,
    pub limits: Limits,
    /// True while registered and serving: what `/health/ready` reports.
    pub ready: AtomicBool,
    /// How many streams the connections are routing messages to, for tests that check
    /// finished streams are let go.
    pub streams: AtomicUsize,
}

/// How many messages a stream may have waiting before the connection stops reading.
const STREAM_BUFFER: usize = 64;

/// Serves one connection until the peer closes it or `stopping` turns true.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    mut stopping: watch::Receiver<bool>,
) {
    let (reader, responder) = transport::accept(stream, shared.max_body);
    let mut reader = reader.with_timeouts(shared.limits.read_timeouts());
    let mut streams = Streams::new(shared.clone());
    let mut idle = Idle::new(shared.limits.idle_timeout);
    loop {
        let frame = match next(&mut reader, &mut streams, &mut stopping, &mut idle).await {
            Next::Message(Ok(Some(frame))) => frame,
            Next::Message(Ok(None)) => return,
            Next::Idle => {
                // Nothing is in progress, so closing quietly loses nothing; a pooled client
                // redials.
                tracing::debug!(idle = ?idle.limit, "closing an idle connection");
                return;
            }
            Next::Message(Err(err)) => {
                // The byte stream cannot be resynchronised: say why, then close.
                tracing::debug!(%err, "bad message on connection");
                let code = if matches!(err.code, 408 | 413) {
                    err.code as u16
                } else {
                    400
                };
                let _ = responder
                    .send_status(code, &Header::new(), err.detail.as_bytes())
                    .await;
                return;
            }
            Next::Stopping => {
                // Read no more, but let running streams finish.
                streams.finish().await;
                return;
            }
        };
        let Frame {
            start,
            header,
            body,
        } = frame;
        if let Some(name) = browser_header(&header) {
            // A web page may reach this port (DNS rebinding, a local page): refuse it and
            // drop the connection, since nothing more it sends is wanted.
            let err = Error::forbidden(
                shared.name.as_str(),
                format!(
                    "this is a service's RPC port and it does not serve browsers (the request carries {name}); call services through the gateway (micro api, micro run) instead"
                ),
            );
            let _ = responder
                .send_status(403, &json_header(), err.to_json().as_bytes())
                .await;
            return;
        }
        match start {
            Start::Request { method, path } if method == "GET" => {
                if health(&shared, &responder, &path).await.is_err() {
                    return;
                }
            }
            Start::Request { method, .. } if method == "POST" => {
                let message = Message { header, body };
                if let Some(id) = micro_header(&message.header, "Stream").map(str::to_string) {
                    on_stream_message(&shared, &responder, &mut streams, id, message).await;
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

/// What waiting for the next message came to.
enum Next {
    /// A message, the peer's close between messages (`None`), or a message that could not
    /// be read.
    Message(Result<Option<Frame>>),
    /// No message began for `idle` while no stream was open.
    Idle,
    /// The server is stopping.
    Stopping,
}

/// Reads the next message, forgetting streams as they end while it waits. The idle time
/// counts from the last message's answer or the last stream's end, whichever came later.
async fn next(
    reader: &mut Reader<OwnedReadHalf>,
    streams: &mut Streams,
    stopping: &mut watch::Receiver<bool>,
    idle: &mut Idle,
) -> Next {
    idle.busy();
    loop {
        tokio::select! {
            ready = reader.ready() => match ready {
                Ok(true) => break,
                Ok(false) => return Next::Message(Ok(None)),
                Err(err) => return Next::Message(Err(err)),
            },
            Some(joined) = streams.tasks.join_next() => {
                streams.ended(joined);
                idle.busy();
            }
            () = idle.timer.as_mut(), if streams.tasks.is_empty() => {
                if idle.over() {
                    return Next::Idle;
                }
            }
            _ = stopping.wait_for(|s| *s) => return Next::Stopping,
        }
    }
    tokio::select! {
        frame = reader.read() => Next::Message(frame),
        _ = stopping.wait_for(|s| *s) => Next::Stopping,
    }
}

/// How long a connection has been idle. Its timer is set once and moved on only when it goes
/// off early, so a busy connection notes the time of each message instead of setting a timer
/// for each.
struct Idle {
    limit: Duration,
    since: Instant,
    timer: Pin<Box<Sleep>>,
}

impl Idle {
    fn new(limit: Duration) -> Self {
        let since = Instant::now();
        Idle {
            limit,
            since,
            timer: Box::pin(tokio::time::sleep_until(since + limit)),
        }
    }

    /// Something happened on the connection: the idle time starts again.
    fn busy(&mut self) {
        self.since = Instant::now();
    }

    /// Whether the connection has been idle for the limit; if not, sets the timer for when it
    /// would be.
    fn over(&mut self) -> bool {
        let due = self.since + self.limit;
        if Instant::now() >= due {
            return true;
        }
        self.timer.as_mut().reset(due);
        false
    }
}

/// The header that shows a browser sent the request, if any; go-micro clients send none.
fn browser_header(header: &Header) -> Option<&str> {
    header
        .keys()
        .find(|name| transport::is_browser_header(name))
        .map(String::as_str)
}

fn json_header() -> Header {
    Header::from([("Content-Type".to_string(), "application/json".to_string())])
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
    responder
        .send_status(code, &json_header(), body.as_bytes())
        .await
}

/// The call headers every response repeats.
fn reply_header(request: &Header, content_type: &str) -> Header {
    let mut header = Header::with_capacity(6);
    for (name, key) in [
        ("Id", "Micro-Id"),
        ("Service", "Micro-Service"),
        ("Endpoint", "Micro-Endpoint"),
        ("Method", "Micro-Method"),
        ("Stream", "Micro-Stream"),
    ] {
        if let Some(v) = micro_header(request, name) {
            header.insert(key.to_string(), v.to_string());
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

/// The streams open on one connection: each one's inbox by stream id, and the tasks running
/// their handlers. A stream leaves when its caller closes it or its handler returns, so a
/// long-lived connection does not collect finished ones.
struct Streams {
    shared: Arc<Shared>,
    /// Inboxes by stream id, each with the number of the task serving it: an id may be used
    /// again once its stream has ended.
    inboxes: HashMap<String, (u64, mpsc::Sender<Message>)>,
    tasks: JoinSet<(String, u64)>,
    opened: u64,
}

impl Streams {
    fn new(shared: Arc<Shared>) -> Self {
        Streams {
            shared,
            inboxes: HashMap::new(),
            tasks: JoinSet::new(),
            opened: 0,
        }
    }

    /// Runs `task` as stream `id`, whose messages go to `inbox`.
    fn open(
        &mut self,
        id: String,
        inbox: mpsc::Sender<Message>,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        self.opened += 1;
        let number = self.opened;
        if self.inboxes.insert(id.clone(), (number, inbox)).is_none() {
            self.shared.streams.fetch_add(1, Ordering::Relaxed);
        }
        self.tasks.spawn(async move {
            task.await;
            (id, number)
        });
    }

    fn remove(&mut self, id: &str) {
        if self.inboxes.remove(id).is_some() {
            self.shared.streams.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Forgets a stream whose handler has returned, unless its id already names a new one.
    fn ended(&mut self, joined: std::result::Result<(String, u64), tokio::task::JoinError>) {
        // Handlers' panics are caught in the task, so only a cancelled task fails to join.
        let Ok((id, number)) = joined else { return };
        if self.inboxes.get(&id).is_some_and(|(n, _)| *n == number) {
            self.remove(&id);
        }
    }

    /// Ends every stream's input, since nothing more will be read, and waits for the
    /// handlers to return.
    async fn finish(&mut self) {
        let ended = self.inboxes.len();
        self.inboxes.clear();
        self.shared.streams.fetch_sub(ended, Ordering::Relaxed);
        while let Some(joined) = self.tasks.join_next().await {
            self.ended(joined);
        }
    }
}

impl Drop for Streams {
    fn drop(&mut self) {
        let left = self.inboxes.len();
        self.shared.streams.fetch_sub(left, Ordering::Relaxed);
    }
}

/// Routes a message carrying `Micro-Stream`: to its running stream, or opens a new one.
async fn on_stream_message(
    shared: &Arc<Shared>,
    responder: &Responder,
    streams: &mut Streams,
    id: String,
    message: Message,
) {
    let closing = micro_header(&message.header, "Error") == Some(END_OF_STREAM);
    if let Some((_, tx)) = streams.inboxes.get(&id) {
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
    let stream = Stream::new(rx, responder.clone(), reply.clone(), codec);
    let (shared, responder) = (shared.clone(), responder.clone());
    streams.open(id, tx, async move {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::handler;
    use crate::transport::Conn;
    use tokio::net::TcpListener;

    /// A server on loopback whose one endpoint, `Quick.Once`, is a stream that ends at once.
    async fn quick_server() -> (Arc<Shared>, String, watch::Sender<bool>) {
        let mut router = Router::default();
        let once = handler::stream(|_ctx, _stream| async { Ok(()) });
        router.insert("Quick.Once", Route::Stream(once));
        let shared = Arc::new(Shared {
            name: "quick".into(),
            router,
            max_body: 1 << 20,
            limits: Limits::default(),
            ready: AtomicBool::new(true),
            streams: AtomicUsize::new(0),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (stop, stopping) = watch::channel(false);
        tokio::spawn(super::super::serve(listener, shared.clone(), stopping));
        (shared, address, stop)
    }

    #[tokio::test]
    async fn finished_streams_leave_the_connections_map() {
        let (shared, address, _stop) = quick_server().await;
        let mut conn = Conn::dial(&address, Duration::from_secs(2), 1 << 20)
            .await
            .unwrap();
        for id in 0..100 {
            // Each stream's handler returns at once and the server ends it with EOS; the
            // caller never sends an EOS of its own.
            let open = Message {
                header: Header::from([
                    ("Micro-Stream".into(), id.to_string()),
                    ("Micro-Endpoint".into(), "Quick.Once".into()),
                    ("Content-Type".into(), "application/json".into()),
                ]),
                body: Bytes::from_static(b"{}"),
            };
            conn.send(&open).await.unwrap();
            let end = conn.recv().await.unwrap();
            assert_eq!(micro_header(&end.header, "Error"), Some(END_OF_STREAM));
        }
        // The connection stays open; its map must still empty as the handlers' tasks end.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while shared.streams.load(Ordering::Relaxed) != 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} finished streams are still in the map",
                shared.streams.load(Ordering::Relaxed)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
