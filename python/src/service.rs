//! A service: raw handlers and subscribers that call into Python, gathered on the engine's
//! builder, then started. Sync handlers run with the GIL where the request arrived, inside
//! `block_in_place` (the worker's other tasks move to another thread, so none waits on
//! Python); async handlers are handed to the Python layer with a [`Reply`] that it calls when
//! the coroutine, running on the caller's asyncio loop, is done.

use crate::components::{Broker, Registry, Store, seconds, subscriber};
use crate::error;
use crate::runtime::{self, run};
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

    /// Serves `endpoint` with `invoke(body, metadata)` returning the encoded response, or
    /// for `is_async`, `invoke(body, metadata, reply)` that later calls
    /// `reply(body, None)` or `reply(None, exception)`.
    fn handle(
        &self,
        py: Python<'_>,
        endpoint: String,
        invoke: Py<PyAny>,
        is_async: bool,
    ) -> PyResult<()> {
        let handler = handler(invoke, is_async, self.name.clone());
        self.update(py, |service| service.handle_raw(&endpoint, handler))
    }

    /// Serves the server-stream `endpoint`: for each stream, `invoke(body, metadata, emit)`
    /// (called on a worker thread) gets the first request and calls `emit.send(body)` per
    /// reply, then `emit.end(None)` or `emit.end(exception)`, before returning or later (from
    /// an event loop).
    fn stream(&self, py: Python<'_>, endpoint: String, invoke: Py<PyAny>) -> PyResult<()> {
        let id = self.name.clone();
        let invoke = Arc::new(invoke);
        self.update(py, |service| {
            service.stream(&endpoint, move |ctx, stream| {
                serve_stream(invoke.clone(), id.clone(), ctx, stream)
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

/// What an async handler calls with its outcome: `reply(body, None)` or
/// `reply(None, exception)`; later calls do nothing.
#[pyclass(module = "go_micro._native", frozen)]
pub struct Reply {
    id: String,
    sender: Mutex<Option<oneshot::Sender<micro::Result<Bytes>>>>,
}

impl Reply {
    fn settle(&self, outcome: micro::Result<Bytes>) {
        if let Some(sender) = self.sender.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = sender.send(outcome);
        }
    }
}

#[pymethods]
impl Reply {
    #[pyo3(signature = (body, exception=None))]
    fn __call__(
        &self,
        py: Python<'_>,
        body: Option<&Bound<'_, PyBytes>>,
        exception: Option<Bound<'_, PyAny>>,
    ) {
        let outcome = match (exception, body) {
            (Some(exception), _) => Err(error::from_py(py, PyErr::from_value(exception), &self.id)),
            (None, Some(body)) => Ok(Bytes::copy_from_slice(body.as_bytes())),
            (None, None) => Ok(Bytes::new()),
        };
        self.settle(outcome);
    }
}

/// The engine handler for a Python endpoint.
fn handler(invoke: Py<PyAny>, is_async: bool, id: String) -> server::Handler {
    let invoke = Arc::new(invoke);
    server::raw(move |ctx: Context, body: Bytes| {
        let (invoke, id) = (invoke.clone(), id.clone());
        async move {
            if is_async {
                call_async(invoke, id, ctx, body).await
            } else {
                call_sync(invoke, id, ctx, body).await
            }
        }
    })
}

/// Runs a sync handler with the GIL. `block_in_place` hands this worker's other tasks to
/// another thread and runs the handler right here, so a call costs no thread hop and no
/// worker is blocked.
async fn call_sync(
    invoke: Arc<Py<PyAny>>,
    id: String,
    ctx: Context,
    body: Bytes,
) -> micro::Result<Bytes> {
    tokio::task::block_in_place(move || {
        runtime::keep_thread_state();
        Python::attach(|py| {
            let called = ctx.metadata.into_pyobject(py).and_then(|metadata| {
                let out = invoke.call1(py, (PyBytes::new(py, &body), metadata))?;
                let out = out
                    .bind(py)
                    .cast::<PyBytes>()
                    .map_err(PyErr::from)?
                    .as_bytes()
                    .to_vec();
                Ok(Bytes::from(out))
            });
            called.map_err(|err| error::from_py(py, err, &id))
        })
    })
}

/// Hands an async handler its request and a [`Reply`], then waits for the reply.
async fn call_async(
    invoke: Arc<Py<PyAny>>,
    id: String,
    ctx: Context,
    body: Bytes,
) -> micro::Result<Bytes> {
    let (sender, outcome) = oneshot::channel();
    // Handing the coroutine to its loop is brief, but taking the GIL may wait: do it in
    // block_in_place, as sync handlers run.
    tokio::task::block_in_place(move || {
        runtime::keep_thread_state();
        Python::attach(|py| {
            let reply = Reply {
                id: id.clone(),
                sender: Mutex::new(Some(sender)),
            };
            let reply = match Py::new(py, reply) {
                Ok(reply) => reply,
                Err(err) => return Err(error::from_py(py, err, &id)),
            };
            let called = ctx.metadata.into_pyobject(py).and_then(|metadata| {
                invoke.call1(py, (PyBytes::new(py, &body), metadata, reply.clone_ref(py)))
            });
            if let Err(err) = called {
                reply.get().settle(Err(error::from_py(py, err, &id)));
            }
            Ok(())
        })
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
    invoke: Arc<Py<PyAny>>,
    id: String,
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
                id: id.clone(),
                sender: sender.clone(),
            };
            let called = ctx
                .metadata
                .into_pyobject(py)
                .and_then(|metadata| invoke.call1(py, (PyBytes::new(py, &first), metadata, emit)));
            if let Err(err) = called {
                let _ = sender.send(Emitted::End(Err(error::from_py(py, err, &id))));
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
