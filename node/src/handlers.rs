//! JS functions as engine handlers. Each JS handler is held as a weak ThreadsafeFunction, so
//! it never keeps Node alive by itself (a running service does, through the package's JS
//! side); the engine calls it from a tokio worker without blocking, then awaits the promise
//! it returns. The JS side always answers with a [`Reply`]: a body, or go-micro's error JSON.

use crate::error::callback_failed;
use bytes::Bytes;
use micro::server::{self, Context};
use micro::{Error, Result};
use napi::Status;
use napi::bindgen_prelude::{Promise, ToNapiValue};
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// A JS function taking `T` and returning a promise of a [`Reply`], never keeping Node alive.
pub type JsFn<T> = ThreadsafeFunction<T, Promise<Reply>, T, Status, false, true>;
/// A unary handler: a [`Request`] in, a [`Reply`] out.
pub type UnaryFn = JsFn<Request>;
/// A stream handler: given the [`ServerStream`], it replies when the stream is done.
pub type StreamFn = JsFn<ServerStream>;
/// A subscriber: an [`Event`] in, a [`Reply`] (empty or an error) out.
pub type EventFn = JsFn<Event>;

/// One call for a unary handler.
#[napi(object)]
pub struct Request {
    /// The service called.
    pub service: String,
    /// `Handler.Method`.
    pub endpoint: String,
    /// The caller's metadata (request headers).
    pub metadata: HashMap<String, String>,
    /// The request, as JSON text.
    pub body: String,
}

/// A handler's answer: `body` (JSON text), or `error` (go-micro's error JSON).
#[napi(object)]
pub struct Reply {
    /// The response, as JSON text.
    pub body: Option<String>,
    /// The error, as go-micro's error JSON: `{"id","code","detail"}`.
    pub error: Option<String>,
}

/// One message for a subscriber.
#[napi(object)]
pub struct Event {
    /// The topic it was published on.
    pub topic: String,
    /// The message headers.
    pub header: HashMap<String, String>,
    /// The message body, as text (JSON when published by a go-micro client).
    pub body: String,
}

impl Reply {
    /// The body, or the error the handler raised.
    fn into_result(self) -> Result<Bytes> {
        match self.error {
            Some(error) => Err(Error::parse(&error)),
            None => Ok(self.body.unwrap_or_default().into()),
        }
    }
}

/// Calls a JS function and awaits its reply.
pub(crate) async fn call<T: ToNapiValue + 'static>(
    id: &str,
    f: &JsFn<T>,
    argument: T,
) -> Result<Bytes> {
    let promise = f
        .call_async(argument)
        .await
        .map_err(|e| callback_failed(id, e))?;
    let reply = promise.await.map_err(|e| callback_failed(id, e))?;
    reply.into_result()
}

/// Bytes as text, or a 400 naming what was sent.
fn text(id: &str, body: Bytes) -> Result<String> {
    String::from_utf8(body.into()).map_err(|_| {
        Error::bad_request(
            id,
            "the request is not UTF-8 text; Node handlers take JSON (Content-Type application/json)",
        )
    })
}

/// A unary engine handler running the JS function `f`.
pub(crate) fn unary(f: UnaryFn) -> server::Handler {
    let f = Arc::new(f);
    server::raw(move |ctx: Context, body: Bytes| {
        let f = f.clone();
        async move {
            let request = Request {
                body: text(&ctx.service, body)?,
                service: ctx.service,
                endpoint: ctx.endpoint,
                metadata: ctx.metadata,
            };
            let id = request.service.clone();
            call(&id, &f, request).await
        }
    })
}

/// A stream engine handler running the JS function `f` until its promise settles.
pub(crate) fn stream(f: StreamFn) -> server::StreamHandler {
    let f = Arc::new(f);
    server::stream(move |ctx: Context, stream: server::Stream| {
        let f = f.clone();
        async move {
            let id = ctx.service.clone();
            let stream = ServerStream {
                context: ctx,
                stream: Arc::new(Mutex::new(stream)),
            };
            call(&id, &f, stream).await.map(|_| ())
        }
    })
}

/// A broker handler running the JS function `f` for each message.
pub(crate) fn subscriber(f: EventFn) -> micro::broker::Handler {
    let f = Arc::new(f);
    micro::broker::handler(move |topic: String, message: micro::broker::Message| {
        let f = f.clone();
        async move {
            let event = Event {
                body: text(&topic, message.body)?,
                topic: topic.clone(),
                header: message.header,
            };
            call(&topic, &f, event).await.map(|_| ())
        }
    })
}

/// Who called a stream endpoint.
#[napi(object)]
pub struct CallContext {
    /// The service called.
    pub service: String,
    /// `Handler.Method`.
    pub endpoint: String,
    /// The caller's metadata (request headers).
    pub metadata: HashMap<String, String>,
}

/// The server's end of one stream, handed to a JS stream handler.
#[napi]
pub struct ServerStream {
    context: Context,
    stream: Arc<Mutex<server::Stream>>,
}

#[napi]
impl ServerStream {
    /// Who called.
    #[napi(getter)]
    pub fn context(&self) -> CallContext {
        CallContext {
            service: self.context.service.clone(),
            endpoint: self.context.endpoint.clone(),
            metadata: self.context.metadata.clone(),
        }
    }

    /// The caller's next message as JSON text; `null` once the caller is done.
    #[napi]
    pub async fn recv(&self) -> napi::Result<Option<String>> {
        let mut stream = self.stream.lock().await;
        let id = &self.context.service;
        let received = stream
            .recv()
            .await
            .and_then(|m| m.map(|b| text(id, b)).transpose());
        crate::error::OrThrow::or_throw(received)
    }

    /// Sends one message (JSON text) to the caller.
    #[napi]
    pub async fn send(&self, body: String) -> napi::Result<()> {
        let stream = self.stream.lock().await;
        crate::error::OrThrow::or_throw(stream.send(body.into()).await)
    }
}
