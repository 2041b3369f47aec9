//! What a handler is. Raw handlers take and return bytes with the call's [`Context`]; typed
//! handlers are a thin serde layer over them. Stream handlers get a [`Stream`] to receive and
//! send messages until they return.

use crate::codec::Codec;
use crate::errors::{Error, Result};
use crate::transport::{END_OF_STREAM, Header, Message, Responder, micro_header};
use bytes::Bytes;
use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Who is being called and with what: the service, endpoint, codec and the caller's metadata
/// (every request header, `Micro-*` included).
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The service called.
    pub service: String,
    /// `Handler.Method`.
    pub endpoint: String,
    /// The request's Content-Type.
    pub content_type: String,
    /// Call metadata, as headers.
    pub metadata: Header,
}

impl Context {
    /// The codec of the request's Content-Type.
    pub fn codec(&self) -> Result<Codec> {
        Codec::from_content_type(&self.content_type)
    }
}

/// A unary handler on bytes: the request payload in, the response payload out.
pub type Handler = Arc<dyn Fn(Context, Bytes) -> BoxFuture<'static, Result<Bytes>> + Send + Sync>;

/// A stream handler: runs until it returns, receiving and sending on the [`Stream`].
pub type StreamHandler =
    Arc<dyn Fn(Context, Stream) -> BoxFuture<'static, Result<()>> + Send + Sync>;

/// Middleware around unary handlers: it gets the call and the next handler, and may act
/// before, after or instead of it.
pub type Middleware =
    Arc<dyn Fn(Context, Bytes, Handler) -> BoxFuture<'static, Result<Bytes>> + Send + Sync>;

/// Wraps an async closure on bytes as a [`Handler`].
pub fn raw<F, Fut>(f: F) -> Handler
where
    F: Fn(Context, Bytes) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Bytes>> + Send + 'static,
{
    Arc::new(move |ctx, body| Box::pin(f(ctx, body)))
}

/// Wraps an async closure on serde types as a [`Handler`], decoding and encoding with the
/// request's codec (JSON kinds).
pub fn typed<Req, Rsp, F, Fut>(f: F) -> Handler
where
    Req: DeserializeOwned + Send + 'static,
    Rsp: Serialize + Send + 'static,
    F: Fn(Context, Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Rsp>> + Send + 'static,
{
    let f = Arc::new(f);
    Arc::new(move |ctx: Context, body: Bytes| {
        let f = f.clone();
        Box::pin(async move {
            let codec = ctx.codec()?;
            let request: Req = codec.decode(body)?;
            let response = f(ctx, request).await?;
            codec.encode(&response)
        })
    })
}

/// Wraps an async closure taking a [`Stream`] as a [`StreamHandler`].
pub fn stream<F, Fut>(f: F) -> StreamHandler
where
    F: Fn(Context, Stream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    Arc::new(move |ctx, stream| Box::pin(f(ctx, stream)))
}

/// The server's end of one stream: messages from the caller arrive in order; messages sent go
/// back on the caller's connection.
pub struct Stream {
    incoming: mpsc::Receiver<Message>,
    responder: Responder,
    header: Header,
    codec: Codec,
}

impl Stream {
    pub(crate) fn new(
        incoming: mpsc::Receiver<Message>,
        responder: Responder,
        header: Header,
        codec: Codec,
    ) -> Self {
        Stream {
            incoming,
            responder,
            header,
            codec,
        }
    }

    /// The next message's payload; `None` once the caller closed the stream or went away.
    pub async fn recv(&mut self) -> Result<Option<Bytes>> {
        let Some(message) = self.incoming.recv().await else {
            return Ok(None);
        };
        match micro_header(&message.header, "Error") {
            Some(END_OF_STREAM) => Ok(None),
            Some(err) => Err(Error::parse(err)),
            None => self.codec.unframe(message.body).map(Some),
        }
    }

    /// Sends one payload to the caller.
    pub async fn send(&self, payload: Bytes) -> Result<()> {
        let message = Message {
            header: self.header.clone(),
            body: self.codec.frame(payload),
        };
        self.responder.send(&message).await
    }

    /// The next message decoded with the stream's codec; `None` at the end.
    pub async fn recv_json<T: DeserializeOwned>(&mut self) -> Result<Option<T>> {
        match self.recv().await? {
            Some(payload) => self.codec.decode(payload).map(Some),
            None => Ok(None),
        }
    }

    /// Encodes a value with the stream's codec and sends it.
    pub async fn send_json<T: Serialize>(&self, value: &T) -> Result<()> {
        self.send(self.codec.encode(value)?).await
    }
}
