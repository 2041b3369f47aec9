//! `Client`: calls, streams and publishes through the engine's client, with JSON text in and
//! out (the package's JS side encodes and decodes).

use crate::components::{Broker, Registry};
use crate::error::{OrThrow, bad_input};
use micro::client::{CallOptions, RawRequest, StreamReceiver, StreamSender};
use micro::config::Config;
use napi::bindgen_prelude::within_runtime_if_available;
use napi_derive::napi;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::Mutex;

const ID: &str = "go.micro.client";

/// Options of one call or stream.
#[napi(object)]
pub struct CallOpts {
    /// How long the call may take in all, in milliseconds (default 30 000); for streams, how
    /// long opening may take.
    pub timeout: Option<f64>,
    /// Call metadata, sent as headers.
    pub metadata: Option<HashMap<String, String>>,
    /// Attempts after the first (default 1).
    pub retries: Option<u32>,
    /// Node addresses (`host:port`) to call instead of looking the service up.
    pub address: Option<Vec<String>>,
}

impl CallOpts {
    /// The engine's options: go-micro's defaults with these applied.
    fn into_options(opts: Option<CallOpts>) -> napi::Result<CallOptions> {
        let mut options = CallOptions::default();
        let Some(opts) = opts else { return Ok(options) };
        if let Some(ms) = opts.timeout {
            if !(ms.is_finite() && ms > 0.0) {
                return Err(bad_input(
                    ID,
                    format!("timeout must be a positive number of milliseconds, got {ms}"),
                ));
            }
            options.timeout = Duration::from_secs_f64(ms / 1000.0);
        }
        if let Some(metadata) = opts.metadata {
            options.metadata = metadata;
        }
        if let Some(retries) = opts.retries {
            options.retries = retries as usize;
        }
        if let Some(address) = opts.address {
            options.address = address;
        }
        Ok(options)
    }
}

/// The RPC client: finds services in a registry, calls them, opens streams and publishes.
#[napi]
pub struct Client {
    inner: micro::Client,
}

#[napi]
impl Client {
    /// A client using `registry` and `broker` when given, and the `MICRO_*` environment's
    /// choices otherwise.
    #[napi(constructor)]
    pub fn new(registry: Option<&Registry>, broker: Option<&Broker>) -> napi::Result<Self> {
        let config = Config::from_env();
        let inner = within_runtime_if_available(|| {
            let registry = match registry {
                Some(r) => r.inner.clone(),
                None => config.registry()?,
            };
            let broker = match broker {
                Some(b) => b.inner.clone(),
                None => config.broker(registry.clone())?,
            };
            Ok(micro::Client::new(registry).broker(broker))
        })
        .or_throw()?;
        Ok(Client { inner })
    }

    /// Calls `endpoint` of `service` with `body` (JSON text); resolves to the response's JSON
    /// text.
    #[napi]
    pub async fn call(
        &self,
        service: String,
        endpoint: String,
        body: String,
        options: Option<CallOpts>,
    ) -> napi::Result<String> {
        let options = CallOpts::into_options(options)?;
        let request = RawRequest {
            service,
            endpoint,
            body: body.into(),
        };
        let response = self.inner.call_raw(request, &options).await.or_throw()?;
        String::from_utf8(response.body.into()).map_err(|_| {
            bad_input(
                ID,
                "the response is not UTF-8 text; the Node client reads JSON",
            )
        })
    }

    /// Opens a stream to `endpoint` of `service`.
    #[napi]
    pub async fn stream(
        &self,
        service: String,
        endpoint: String,
        options: Option<CallOpts>,
    ) -> napi::Result<ClientStream> {
        let options = CallOpts::into_options(options)?;
        let stream = self
            .inner
            .stream(&service, &endpoint, &options)
            .await
            .or_throw()?;
        let (sender, receiver) = stream.split();
        Ok(ClientStream {
            sender: Mutex::new(sender),
            receiver: Mutex::new(receiver),
        })
    }

    /// Publishes `body` (JSON text) on `topic` through the client's broker.
    #[napi]
    pub async fn publish(
        &self,
        topic: String,
        body: String,
        metadata: Option<HashMap<String, String>>,
    ) -> napi::Result<()> {
        let content_type = micro::client::DEFAULT_CONTENT_TYPE;
        let metadata = metadata.unwrap_or_default();
        self.inner
            .publish_raw(&topic, content_type, body.into(), metadata)
            .await
            .or_throw()
    }
}

/// The caller's end of a stream: send and receive JSON text, in any order.
#[napi]
pub struct ClientStream {
    sender: Mutex<StreamSender>,
    receiver: Mutex<StreamReceiver>,
}

#[napi]
impl ClientStream {
    /// Sends one message (JSON text).
    #[napi]
    pub async fn send(&self, body: String) -> napi::Result<()> {
        self.sender.lock().await.send(body.into()).await.or_throw()
    }

    /// The server's next message as JSON text; `null` once the server ended the stream.
    #[napi]
    pub async fn recv(&self) -> napi::Result<Option<String>> {
        let received = self.receiver.lock().await.recv().await.or_throw()?;
        received
            .map(|b| {
                String::from_utf8(b.into()).map_err(|_| {
                    bad_input(
                        ID,
                        "a stream message is not UTF-8 text; the Node client reads JSON",
                    )
                })
            })
            .transpose()
    }

    /// Tells the server no more messages will be sent.
    #[napi]
    pub async fn close(&self) -> napi::Result<()> {
        self.sender.lock().await.close().await.or_throw()
    }
}
