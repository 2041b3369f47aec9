//! The HTTP gateway and the MCP server, run in-process over the same components as the
//! services: `Gateway(...).start(address)` and `serve_mcp(address)` (or over stdio).

use crate::components::{Broker, Registry, Store};
use crate::error;
use crate::runtime::{self, run};
use micro::mcp::Mcp;
use pyo3::prelude::*;
use std::sync::{Arc, Mutex};

/// A registry, store and broker, as the engine takes them.
type Components = (
    Arc<dyn micro::registry::Registry>,
    Arc<dyn micro::store::Store>,
    Arc<dyn micro::broker::Broker>,
);

/// The components a gateway or MCP server serves: given, or the process's shared ones.
fn components(
    py: Python<'_>,
    registry: Option<PyRef<'_, Registry>>,
    store: Option<PyRef<'_, Store>>,
    broker: Option<PyRef<'_, Broker>>,
) -> PyResult<Components> {
    let registry = Registry::or_shared(py, registry.as_deref())?;
    let store = Store::or_shared(py, store.as_deref())?;
    let broker = Broker::or_shared(py, broker.as_deref(), registry.clone())?;
    Ok((registry, store, broker))
}

/// The HTTP API gateway: `POST /api/{service}/{Handler.Method}`, the registry, store and
/// broker routes, and with `mcp` the MCP gateway at `/mcp`.
#[pyclass(module = "go_micro._native", frozen)]
pub struct Gateway {
    gateway: Mutex<Option<micro::gateway::Gateway>>,
}

#[pymethods]
impl Gateway {
    /// A gateway over `registry`, `store` and `broker` (default: the shared ones); `mcp`
    /// serves `/mcp` too; `max_body_size` caps request bodies (bytes).
    #[new]
    #[pyo3(signature = (*, registry=None, store=None, broker=None, mcp=true, max_body_size=None))]
    fn new(
        py: Python<'_>,
        registry: Option<PyRef<'_, Registry>>,
        store: Option<PyRef<'_, Store>>,
        broker: Option<PyRef<'_, Broker>>,
        mcp: bool,
        max_body_size: Option<usize>,
    ) -> PyResult<Self> {
        let (registry, store, broker) = components(py, registry, store, broker)?;
        let handle = runtime::handle(py)?;
        let _inside = handle.enter();
        let mut gateway =
            micro::gateway::Gateway::new(registry.clone(), store.clone(), broker.clone());
        if mcp {
            gateway = gateway.mcp(Arc::new(Mcp::new(registry, store, broker)));
        }
        if let Some(bytes) = max_body_size {
            gateway = gateway.max_body_size(bytes);
        }
        Ok(Gateway {
            gateway: Mutex::new(Some(gateway)),
        })
    }

    /// Listens on `address` (`:8080` means 127.0.0.1:8080; port 0 picks one) and serves in
    /// the background until the returned server is stopped.
    #[pyo3(signature = (address=":8080".to_string(), *, done=None))]
    fn start(
        &self,
        py: Python<'_>,
        address: String,
        done: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let gateway = self
            .gateway
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(gateway) = gateway else {
            return Err(error::usage(
                py,
                "this Gateway has already started; make a new one",
            ));
        };
        run(
            py,
            done,
            async move { gateway.start(&address).await },
            server,
        )
    }
}

/// A started gateway or MCP server, as a Python object.
fn server(py: Python<'_>, running: micro::gateway::Running) -> PyResult<Py<PyAny>> {
    let server = Server {
        address: running.address().to_string(),
        inner: Mutex::new(Some(running)),
        pid: std::process::id(),
    };
    Ok(Py::new(py, server)?.into_any())
}

/// An HTTP server running in the background (gateway or MCP).
#[pyclass(module = "go_micro._native", frozen)]
pub struct Server {
    address: String,
    inner: Mutex<Option<micro::gateway::Running>>,
    pid: u32,
}

#[pymethods]
impl Server {
    /// Where it listens, `host:port`.
    #[getter]
    fn address(&self) -> &str {
        &self.address
    }

    /// Stops accepting and lets requests in flight finish; calling it again does nothing.
    #[pyo3(signature = (*, done=None))]
    fn stop(&self, py: Python<'_>, done: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        runtime::same_process(py, self.pid, "server")?;
        let running = self.inner.lock().unwrap_or_else(|e| e.into_inner()).take();
        run(
            py,
            done,
            async move {
                if let Some(running) = running {
                    running.stop().await;
                }
                Ok(())
            },
            |py, ()| Ok(py.None()),
        )
    }
}

/// Serves every registered endpoint as an MCP tool: over Streamable HTTP at `address`
/// (`/mcp`, `/mcp/tools`, `/mcp/call`; returns the running server), or with no address over
/// stdin and stdout until stdin ends (returns `None`).
#[pyfunction]
#[pyo3(signature = (address=None, *, registry=None, store=None, broker=None, done=None))]
pub fn serve_mcp(
    py: Python<'_>,
    address: Option<String>,
    registry: Option<PyRef<'_, Registry>>,
    store: Option<PyRef<'_, Store>>,
    broker: Option<PyRef<'_, Broker>>,
    done: Option<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let (registry, store, broker) = components(py, registry, store, broker)?;
    let handle = runtime::handle(py)?;
    let mcp = {
        let _inside = handle.enter();
        Arc::new(Mcp::new(registry, store, broker))
    };
    match address {
        Some(address) => run(
            py,
            done,
            async move { micro::mcp::http::start(mcp, &address, Vec::new()).await },
            server,
        ),
        None => {
            let token = std::env::var("MICRO_TOKEN").ok().filter(|t| !t.is_empty());
            run(py, done, micro::mcp::serve_stdio(mcp, token), |py, ()| {
                Ok(py.None())
            })
        }
    }
}
