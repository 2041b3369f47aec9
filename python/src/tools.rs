//! The MCP tool catalogue in-process: the tools `serve_mcp` serves (one per unary endpoint in
//! the registry, plus the framework tools over the registry, store and broker), listed and
//! called through the engine with no server in between. The agent toolkits' in-process mode
//! stands on it, so both modes name, describe and call tools the same way.

use crate::components::{Broker, Registry, Store, seconds};
use crate::json;
use crate::runtime::{self, run};
use bytes::Bytes;
use micro::mcp::{CallError, Caller, Mcp, Naming};
use pyo3::prelude::*;
use std::sync::Arc;

/// Where errors raised by the catalogue itself (unknown tool, limits) come from.
const ID: &str = "go.micro.mcp";

/// The tools of the services in a registry, shaped as `GET /mcp/tools` lists them.
#[pyclass(module = "go_micro._native", frozen)]
pub struct Tools {
    mcp: Arc<Mcp>,
    /// The same catalogue with names every model provider accepts, for agents.
    agent: Arc<Mcp>,
}

impl Tools {
    /// The catalogue an agent offers its model (`helloworld_Helloworld_Call`: providers refuse
    /// dotted names).
    pub fn agent_mcp(&self) -> Arc<Mcp> {
        self.agent.clone()
    }
}

#[pymethods]
impl Tools {
    /// The catalogue over `registry`, `store` and `broker` (default: the process's shared
    /// ones), tools named as go-micro names them: `<service>.<Handler.Method>`, or the
    /// endpoint's `mcp_name`; each call may take `timeout` seconds (default go-micro's).
    #[new]
    #[pyo3(signature = (*, registry=None, store=None, broker=None, timeout=None))]
    fn new(
        py: Python<'_>,
        registry: Option<PyRef<'_, Registry>>,
        store: Option<PyRef<'_, Store>>,
        broker: Option<PyRef<'_, Broker>>,
        timeout: Option<f64>,
    ) -> PyResult<Self> {
        let registry = Registry::or_shared(py, registry.as_deref())?;
        let store = Store::or_shared(py, store.as_deref())?;
        let broker = Broker::or_shared(py, broker.as_deref(), registry.clone())?;
        let handle = runtime::handle(py)?;
        let _inside = handle.enter();
        let timeout = timeout.map(|t| seconds(py, t, "timeout")).transpose()?;
        let catalogue = |naming| {
            let mcp = Mcp::new(registry.clone(), store.clone(), broker.clone()).naming(naming);
            Arc::new(match timeout {
                Some(timeout) => mcp.timeout(timeout),
                None => mcp,
            })
        };
        Ok(Tools {
            mcp: catalogue(Naming::Dotted),
            agent: catalogue(Naming::Safe),
        })
    }

    /// Every tool as a dict (`name`, `description`, `inputSchema`, `service`, `endpoint`,
    /// `example`, `metadata`, `scopes`), in name order, the framework tools last.
    #[pyo3(signature = (*, done=None))]
    fn list(&self, py: Python<'_>, done: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        let mcp = self.mcp.clone();
        run(
            py,
            done,
            async move {
                let tools = mcp.tools().await?;
                serde_json::to_vec(&tools)
                    .map_err(|e| micro::Error::internal(ID, format!("cannot list the tools: {e}")))
            },
            |py, text| Ok(json::parse(py, &text)?.unbind()),
        )
    }

    /// Calls tool `name` with `arguments` (a dict, or JSON text) and answers with what the
    /// service answered, parsed; a failure raises the service's error, or 404 for an unknown
    /// tool.
    #[pyo3(signature = (name, arguments=None, *, done=None))]
    fn call(
        &self,
        py: Python<'_>,
        name: String,
        arguments: Option<Bound<'_, PyAny>>,
        done: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let arguments = match arguments {
            Some(value) => json::to_bytes(&value)?,
            None => Bytes::new(),
        };
        let mcp = self.mcp.clone();
        run(
            py,
            done,
            async move {
                mcp.call_json(&Caller::new(None), &name, arguments)
                    .await
                    .map_err(engine_error)
            },
            |py, text| Ok(json::parse(py, &text)?.unbind()),
        )
    }
}

/// A failed tool call as an engine error: the service's own, or one with the status the
/// REST surface would answer.
fn engine_error(err: CallError) -> micro::Error {
    match err {
        CallError::Failed(e) => e,
        other => micro::Error::new(ID, other.message(), i32::from(other.status())),
    }
}
