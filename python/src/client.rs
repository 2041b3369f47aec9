//! The RPC client: calls, streams and publishing on bytes. The Python layer encodes and
//! decodes JSON around it. Every method waits with the GIL released, or with `done` settles an
//! asyncio future instead (see [`crate::runtime::run`]).

use crate::components::{Broker, Registry, payload, seconds};
use crate::runtime::{self, run};
use bytes::Bytes;
use micro::client::{CallOptions, DEFAULT_CONTENT_TYPE, RawRequest, StreamReceiver, StreamSender};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Calls services found in a registry, and publishes through a broker.
#[pyclass(module = "go_micro._native", frozen)]
pub struct Client {
    inner: micro::Client,
    pid: u32,
}

impl Client {
    fn inner(&self, py: Python<'_>) -> PyResult<micro::Client> {
        runtime::same_process(py, self.pid, "Client")?;
        Ok(self.inner.clone())
    }
}

/// Call options from keyword arguments; unset ones keep go-micro's defaults.
fn options(
    py: Python<'_>,
    timeout: Option<f64>,
    metadata: Option<HashMap<String, String>>,
    retries: Option<usize>,
    address: Option<Vec<String>>,
    content_type: Option<String>,
) -> PyResult<CallOptions> {
    let mut options = CallOptions::default();
    if let Some(timeout) = timeout {
        options.timeout = seconds(py, timeout, "timeout")?;
    }
    if let Some(metadata) = metadata {
        options.metadata = metadata;
    }
    if let Some(retries) = retries {
        options.retries = retries;
    }
    if let Some(address) = address {
        options.address = address;
    }
    if let Some(content_type) = content_type {
        options.content_type = content_type;
    }
    Ok(options)
}

fn bytes_to_py(py: Python<'_>, body: Bytes) -> PyResult<Py<PyAny>> {
    Ok(PyBytes::new(py, &body).into_any().unbind())
}

#[pymethods]
impl Client {
    /// A client over `registry` and `broker` (default: the process's shared ones, chosen by
    /// `MICRO_REGISTRY` and `MICRO_BROKER`).
    #[new]
    #[pyo3(signature = (registry=None, broker=None))]
    fn new(
        py: Python<'_>,
        registry: Option<PyRef<'_, Registry>>,
        broker: Option<PyRef<'_, Broker>>,
    ) -> PyResult<Self> {
        let registry = Registry::or_shared(py, registry.as_deref())?;
        let broker = Broker::or_shared(py, broker.as_deref(), registry.clone())?;
        let handle = runtime::handle(py)?;
        let _inside = handle.enter();
        Ok(Client {
            inner: micro::Client::new(registry).broker(broker),
            pid: std::process::id(),
        })
    }

    /// Calls `endpoint` of `service` with an encoded request and returns the encoded response.
    #[pyo3(signature = (service, endpoint, body, *, timeout=None, metadata=None, retries=None, address=None, content_type=None, done=None))]
    #[allow(clippy::too_many_arguments)]
    fn call(
        &self,
        py: Python<'_>,
        service: String,
        endpoint: String,
        body: &Bound<'_, PyAny>,
        timeout: Option<f64>,
        metadata: Option<HashMap<String, String>>,
        retries: Option<usize>,
        address: Option<Vec<String>>,
        content_type: Option<String>,
        done: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let client = self.inner(py)?;
        let options = options(py, timeout, metadata, retries, address, content_type)?;
        let request = RawRequest {
            service,
            endpoint,
            body: payload(py, body, "the request")?,
        };
        run(
            py,
            done,
            async move { client.call_raw(request, &options).await },
            |py, response| bytes_to_py(py, response.body),
        )
    }

    /// Opens a stream to `endpoint` of `service`; `timeout` bounds the opening.
    #[pyo3(signature = (service, endpoint, *, timeout=None, metadata=None, content_type=None, done=None))]
    #[allow(clippy::too_many_arguments)]
    fn stream(
        &self,
        py: Python<'_>,
        service: String,
        endpoint: String,
        timeout: Option<f64>,
        metadata: Option<HashMap<String, String>>,
        content_type: Option<String>,
        done: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let client = self.inner(py)?;
        let options = options(py, timeout, metadata, None, None, content_type)?;
        run(
            py,
            done,
            async move { client.stream(&service, &endpoint, &options).await },
            |py, stream| {
                let (sender, receiver) = stream.split();
                let stream = Stream {
                    sender: Arc::new(Mutex::new(sender)),
                    receiver: Arc::new(Mutex::new(receiver)),
                    pid: std::process::id(),
                };
                Ok(Py::new(py, stream)?.into_any())
            },
        )
    }

    /// Publishes an encoded message on `topic` (Content-Type `application/json` unless
    /// `content_type` says otherwise), with `metadata` as headers.
    #[pyo3(signature = (topic, body, *, metadata=None, content_type=None, done=None))]
    fn publish(
        &self,
        py: Python<'_>,
        topic: String,
        body: &Bound<'_, PyAny>,
        metadata: Option<HashMap<String, String>>,
        content_type: Option<String>,
        done: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let client = self.inner(py)?;
        let body = payload(py, body, "the message")?;
        let content_type = content_type.unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_string());
        let metadata = metadata.unwrap_or_default();
        run(
            py,
            done,
            async move {
                client
                    .publish_raw(&topic, &content_type, body, metadata)
                    .await
            },
            |py, ()| Ok(py.None()),
        )
    }
}

/// The caller's end of a stream: send and receive encoded messages, each side on its own.
#[pyclass(module = "go_micro._native", frozen)]
pub struct Stream {
    sender: Arc<Mutex<StreamSender>>,
    receiver: Arc<Mutex<StreamReceiver>>,
    pid: u32,
}

#[pymethods]
impl Stream {
    /// Sends one encoded message.
    #[pyo3(signature = (body, *, done=None))]
    fn send(
        &self,
        py: Python<'_>,
        body: &Bound<'_, PyAny>,
        done: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        runtime::same_process(py, self.pid, "Stream")?;
        let body = payload(py, body, "the message")?;
        let sender = self.sender.clone();
        run(
            py,
            done,
            async move { sender.lock().await.send(body).await },
            |py, ()| Ok(py.None()),
        )
    }

    /// The next encoded message, or `None` once the service ended the stream.
    #[pyo3(signature = (*, done=None))]
    fn recv(&self, py: Python<'_>, done: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        runtime::same_process(py, self.pid, "Stream")?;
        let receiver = self.receiver.clone();
        run(
            py,
            done,
            async move { receiver.lock().await.recv().await },
            |py, message| match message {
                Some(body) => bytes_to_py(py, body),
                None => Ok(py.None()),
            },
        )
    }

    /// Tells the service no more messages will be sent.
    #[pyo3(signature = (*, done=None))]
    fn close(&self, py: Python<'_>, done: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        runtime::same_process(py, self.pid, "Stream")?;
        let sender = self.sender.clone();
        run(
            py,
            done,
            async move { sender.lock().await.close().await },
            |py, ()| Ok(py.None()),
        )
    }
}
