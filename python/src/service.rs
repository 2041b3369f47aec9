//! A service: raw handlers and subscribers that call into Python, gathered on the engine's
//! builder, then started. The engine parses each request's JSON into Python data and encodes
//! what the handler returns ([`json`]). Sync handlers run with the GIL right on the worker
//! the request arrived on: no thread hop, the cheapest call, but the worker does nothing else
//! meanwhile (nor while it waits for the GIL). Those declared blocking run inside
//! `block_in_place` instead (the worker's other tasks move to another thread first, for
//! some 25 µs more per call). Async handlers are handed to the Python layer with a [`Reply`]
//! that it calls when the coroutine, running on the caller's asyncio loop, is done.

use crate::components::{Broker, Registry, Store, seconds, subscriber};
use crate::runtime::{self, run};
use crate::{error, json};
use bytes::Bytes;
use micro::server::{self, Context};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// A service being built: endpoints, documentation and subscribers, then `start`.
#[pyclass(module = "go_micro._native", frozen)]
pub struct Service {
    name: String,
    builder: Mutex<Option<micro::Service>>,
}

impl Service {
    /// Changes the builder; an error once the service has started.
    fn update(
        &self,
        py: Python<'_>,
        change: impl FnOnce(micro::Service) -> micro::Service,
    ) -> PyResult<()> {
        let mut builder = self.builder.lock().unwrap_or_else(|e| e.into_inner());
        let Some(service) = builder.take() else {
            return Err(error::usage(
                py,
                &format!(
                    "the service {} has already started; add endpoints before start()",
                    self.name
                ),
            ));
        };
        *builder = Some(change(service));
        Ok(())
    }
}

#[pymethods]
impl Service {
    /// A service called `name`; unset options come from the `MICRO_*` environment, and the
    /// registry, broker and store default to the process's shared ones.
    #[new]
    #[pyo3(signature = (name, *, version=None, address=None, registry=None, broker=None, store=None, metadata=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        name: String,
        version: Option<String>,
        address: Option<String>,
        registry: Option<PyRef<'_, Registry>>,
        broker: Option<PyRef<'_, Broker>>,
        store: Option<PyRef<'_, Store>>,
        metadata: Option<HashMap<String, String>>,
    ) -> PyResult<Self> {
        let registry = Registry::or_shared(py, registry.as_deref())?;
        let broker = Broker::or_shared(py, broker.as_deref(), registry.clone())?;
        let mut service = micro::Service::new(name.clone())
            .registry(registry)
            .broker(broker);
        if let Some(store) = store {
            service = service.store(Store::or_shared(py, Some(&store))?);
        }
        if let Some(version) = version {
            service = service.version(version);
        }
        if let Some(address) = address {
            service = service.address(address);
        }
        for (key, value) in metadata.unwrap_or_default() {
            service = service.metadata(key, value);
        }
        Ok(Service {
            name,
            builder: Mutex::new(Some(service)),
        })
    }

    /// The service's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// Serves `endpoint` with `invoke(request, metadata)` returning the response, where
    /// `request` is the parsed JSON body and `metadata` the caller's metadata (`None` unless
    /// `context`); the response is encoded as `encode` does. For `is_async`,
    /// `invoke(request, metadata, reply)` later calls `reply(response, None)` or
    /// `reply(None, exception)`. A sync `invoke` runs on the engine worker the request
    /// arrived on, after handing the worker's other tasks to another thread if `blocking`.
    #[pyo3(signature = (endpoint, invoke, *, is_async=false, blocking=false, context=false))]
    fn handle(
        &self,
        py: Python<'_>,
        endpoint: String,
        invoke: Py<PyAny>,
        is_async: bool,
        blocking: bool,
        context: bool,
    ) -> PyResult<()> {
        let call = Call {
            invoke,
            id: self.name.clone(),
            context,
        };
        let handler = handler(Arc::new(call), is_async, blocking);
        self.update(py, |service| service.handle_raw(&endpoint, handler))
    }

    /// Serves the server-stream `endpoint`: for each stream, `invoke(request, metadata, emit)`
    /// (called on a worker thread, `request` the first request's parsed JSON) calls
    /// `emit.send(body)` per reply, then `emit.end(None)` or `emit.end(exception)`, before
    /// returning or later (from an event loop).
    fn stream(&self, py: Python<'_>, endpoint: String, invoke: Py<PyAny>) -> PyResult<()> {
        let call = Arc::new(Call {
            invoke,
            id: self.name.clone(),
            context: true,
        });
        self.update(py, |service| {
            service.stream(&endpoint, move |ctx, stream| {
                serve_stream(call.clone(), ctx, stream)
            })
        })
    }

    /// Documents `endpoint`: what it does and an example request (JSON text, or empty).
    fn describe(
        &self,
        py: Python<'_>,
        endpoint: String,
        description: String,
        example: String,
    ) -> PyResult<()> {
        self.update(py, |service| {
            service.describe(&endpoint, &description, &example)
        })
    }

    /// Publishes `endpoint`'s request and response types, each `(type name, JSON Schema
    /// text)` or `None`.
    #[pyo3(signature = (endpoint, request=None, response=None))]
    fn schemas(
        &self,
        py: Python<'_>,
        endpoint: String,
        request: Option<(String, String)>,
        response: Option<(String, String)>,
    ) -> PyResult<()> {
        let read = |side: Option<(String, String)>| -> PyResult<Option<micro::schema::Schema>> {
            let Some((name, text)) = side else {
                return Ok(None);
            };
            let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                error::usage(
                    py,
                    &format!("the schema of {name} for {endpoint} is not JSON: {e}"),
                )
            })?;
            micro::schema::from_json_schema(&name, &json)
                .map(Some)
                .map_err(|e| error::to_py(py, &e))
        };
        let (request, response) = (read(request)?, read(response)?);
        self.update(py, |service| service.schemas(&endpoint, request, response))
    }

    /// Sets one metadata entry of `endpoint` (`scopes`, `mcp_name`, ...).
    fn endpoint_metadata(
        &self,
        py: Python<'_>,
        endpoint: String,
        key: String,
        value: String,
    ) -> PyResult<()> {
        self.update(py, |service| {
            service.endpoint_metadata(&endpoint, &key, &value)
        })
    }

    /// Calls `invoke(topic, body, header)` for each message on `topic`; with `queue`, the
    /// service's instances share the messages.
    #[pyo3(signature = (topic, invoke, queue=None))]
    fn subscribe(
        &self,
        py: Python<'_>,
        topic: String,
        invoke: Py<PyAny>,
        queue: Option<String>,
    ) -> PyResult<()> {
        let handler = subscriber(invoke, self.name.clone());
        self.update(py, |service| {
            service.subscribe(&topic, handler, queue.as_deref())
        })
    }

    /// Listens, subscribes and registers; returns the running service.
    #[pyo3(signature = (*, done=None))]
    fn start(&self, py: Python<'_>, done: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        let service = self
            .builder
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(service) = service else {
            return Err(error::usage(
                py,
                &format!("the service {} has already started", self.name),
            ));
        };
        run(py, done, service.start(), |py, running| {
            let address = running.address().to_string();
            let running = Running {
                address,
                inner: Mutex::new(Some(running)),
                pid: std::process::id(),
            };
            Ok(Py::new(py, running)?.into_any())
        })
    }
}

/// A started service.
#[pyclass(module = "go_micro._native", frozen)]
pub struct Running {
    address: String,
    inner: Mutex<Option<micro::service::Running>>,
    pid: u32,
}

#[pymethods]
impl Running {
    /// Where it listens, `host:port`.
    #[getter]
    fn address(&self) -> &str {
        &self.address
    }

    /// Deregisters, unsubscribes and waits for requests in flight (for at most `grace`
    /// seconds when given); calling it again does nothing.
    #[pyo3(signature = (*, grace=None, done=None))]
    fn stop(
        &self,
        py: Python<'_>,
        grace: Option<f64>,
        done: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        runtime::same_process(py, self.pid, "running Service")?;
        let grace = grace.map(|g| seconds(py, g, "grace")).transpose()?;
        let running = self.inner.lock().unwrap_or_else(|e| e.into_inner()).take();
        run(
            py,
            done,
            async move {
                let Some(running) = running else {
                    return Ok(());
                };
                match grace {
                    // Deregistration comes first in stop(), so only the waiting is cut short.
                    Some(grace) => tokio::time::timeout(grace, running.stop())
                        .await
                        .unwrap_or(Ok(())),
                    None => running.stop().await,
                }
            },
            |py, ()| Ok(py.None()),
        )
    }
}

/// What an async handler calls with its outcome: `reply(response, None)` or
/// `reply(None, exception)`; later calls do nothing.
#[pyclass(module = "go_micro._native", frozen)]
pub struct Reply {
    id: String,
    sender: Mutex<Option<oneshot::Sender<micro::Result<Bytes>>>>,
}

impl Reply {
    /// A reply that sends the outcome to `sender`, its errors raised by `id` unless they say.
    pub(crate) fn new(id: &str, sender: oneshot::Sender<micro::Result<Bytes>>) -> Reply {
        Reply {
            id: id.to_string(),
            sender: Mutex::new(Some(sender)),
        }
    }

    /// Sends the outcome, the first time only.
    pub(crate) fn settle(&self, outcome: micro::Result<Bytes>) {
        if let Some(sender) = self.sender.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = sender.send(outcome);
        }
    }
}

#[pymethods]
impl Reply {
    #[pyo3(signature = (response, exception=None))]
    fn __call__(
        &self,
        py: Python<'_>,
        response: &Bound<'_, PyAny>,
        exception: Option<Bound<'_, PyAny>>,
    ) {
        let outcome = match exception {
            Some(exception) => Err(PyErr::from_value(exception)),
            None => json::to_bytes(response),
        };
        self.settle(outcome.map_err(|err| error::from_py(py, err, &self.id)));
    }
}

/// A Python endpoint: the callable, the service's name (the id of its errors), and whether
/// it takes the caller's metadata.
struct Call {
    invoke: Py<PyAny>,
    id: String,
    context: bool,
}

impl Call {
    /// Calls `invoke(request, metadata, *more)` with the parsed request; a bad-request error
    /// when the body is not JSON.
    fn call<'py>(
        &self,
        py: Python<'py>,
        ctx: Context,
        body: &[u8],
        more: Option<Bound<'py, PyAny>>,
    ) -> micro::Result<Bound<'py, PyAny>> {
        let request = json::parse(py, body).map_err(|err| {
            micro::Error::bad_request(
                &self.id,
                format!(
                    "the request to {} is not JSON: {}",
                    ctx.endpoint,
                    err.value(py)
                ),
            )
        })?;
        let called = (|| {
            let metadata = match self.context {
                true => ctx.metadata.into_pyobject(py)?.into_any(),
                false => py.None().into_bound(py),
            };
            let invoke = self.invoke.bind(py);
            match more {
                Some(more) => invoke.call1((request, metadata, more)),
                None => invoke.call1((request, metadata)),
            }
        })();
        called.map_err(|err| error::from_py(py, err, &self.id))
    }
}

/// The engine handler for a Python endpoint.
fn handler(call: Arc<Call>, is_async: bool, blocking: bool) -> server::Handler {
    server::raw(move |ctx: Context, body: Bytes| {
        let call = call.clone();
        async move {
            match (is_async, blocking) {
                (true, _) => call_async(call, ctx, body).await,
                (false, true) => tokio::task::block_in_place(|| call_sync(&call, ctx, &body)),
                (false, false) => call_sync(&call, ctx, &body),
            }
        }
    })
}

/// Runs a sync handler with the GIL, right here on the worker thread (no thread hop: the
/// cheapest call). A blocking handler comes here inside `block_in_place`, which first hands
/// the worker's other tasks to another thread.
fn call_sync(call: &Call, ctx: Context, body: &[u8]) -> micro::Result<Bytes> {
    runtime::keep_thread_state();
    Python::attach(|py| {
        let response = call.call(py, ctx, body, None)?;
        json::to_bytes(&response).map_err(|err| error::from_py(py, err, &call.id))
    })
}

/// Hands an async handler its request and a [`Reply`], then waits for the reply. Handing the
/// coroutine to its loop is brief, so it is done right on the worker.
async fn call_async(call: Arc<Call>, ctx: Context, body: Bytes) -> micro::Result<Bytes> {
    let (sender, outcome) = oneshot::channel();
    runtime::keep_thread_state();
    Python::attach(|py| {
        let reply = Py::new(py, Reply::new(&call.id, sender))
            .map_err(|err| error::from_py(py, err, &call.id))?;
        if let Err(err) = call.call(py, ctx, &body, Some(reply.bind(py).clone().into_any())) {
            reply.get().settle(Err(err));
        }
        Ok::<_, micro::Error>(())
    })?;
    outcome.await.map_err(|_| {
        micro::Error::internal(
            "go_micro",
            "the async handler never replied (its event loop stopped?)",
        )
    })?
}

/// One item of a Python stream handler's output.
enum Emitted {
    /// A reply to send.
    Reply(Bytes),
    /// The handler finished, well or not.
    End(micro::Result<()>),
}

/// What a Python stream handler sends its replies through: `send(body)` per reply, then
/// `end(None)` or `end(exception)`.
#[pyclass(module = "go_micro._native", frozen)]
pub struct Emit {
    id: String,
    sender: mpsc::UnboundedSender<Emitted>,
}

#[pymethods]
impl Emit {
    /// Sends one encoded reply; a `MicroError` once the caller has gone.
    fn send(&self, py: Python<'_>, body: &Bound<'_, PyBytes>) -> PyResult<()> {
        let reply = Emitted::Reply(Bytes::copy_from_slice(body.as_bytes()));
        self.sender.send(reply).map_err(|_| {
            error::to_py(
                py,
                &micro::Error::new(&self.id, "the caller closed the stream", 499),
            )
        })
    }

    /// Ends the stream, with the exception the handler raised if any.
    #[pyo3(signature = (exception=None))]
    fn end(&self, py: Python<'_>, exception: Option<Bound<'_, PyAny>>) {
        let outcome = match exception {
            Some(exception) => Err(error::from_py(py, PyErr::from_value(exception), &self.id)),
            None => Ok(()),
        };
        let _ = self.sender.send(Emitted::End(outcome));
    }
}

/// Runs a Python stream handler: the first request in, its replies out until it ends.
async fn serve_stream(
    call: Arc<Call>,
    ctx: Context,
    mut stream: server::Stream,
) -> micro::Result<()> {
    let Some(first) = stream.recv().await? else {
        return Ok(());
    };
    let (sender, mut emitted) = mpsc::unbounded_channel();
    let calling = tokio::task::spawn_blocking(move || {
        Python::attach(|py| {
            let emit = Emit {
                id: call.id.clone(),
                sender: sender.clone(),
            };
            let called = Py::new(py, emit)
                .map_err(|err| error::from_py(py, err, &call.id))
                .and_then(|emit| call.call(py, ctx, &first, Some(emit.into_bound(py).into_any())));
            if let Err(err) = called {
                let _ = sender.send(Emitted::End(Err(err)));
            }
        })
    });
    let mut outcome = Ok(());
    while let Some(item) = emitted.recv().await {
        match item {
            Emitted::Reply(body) => stream.send(body).await?,
            Emitted::End(end) => {
                outcome = end;
                break;
            }
        }
    }
    drop(emitted);
    let _ = calling.await;
    outcome
}
