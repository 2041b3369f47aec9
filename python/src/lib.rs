//! `go_micro._native`: libmicro's engine as a Python extension module. The `go_micro` package
//! wraps it with decorators, request types and asyncio; this crate translates values (JSON in
//! and out of Python data included) and errors, and owns the runtime. Its modules `runtime`
//! and `components` are public for the in-process bench (benches/handler.rs).

mod ai;
mod client;
pub mod components;
mod error;
mod gateway;
mod json;
pub mod runtime;
mod service;
mod tools;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
pub fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<components::Registry>()?;
    module.add_class::<components::Store>()?;
    module.add_class::<components::Record>()?;
    module.add_class::<components::Broker>()?;
    module.add_class::<components::Subscription>()?;
    module.add_class::<client::Client>()?;
    module.add_class::<client::Stream>()?;
    module.add_class::<service::Service>()?;
    module.add_class::<service::Running>()?;
    module.add_class::<service::Reply>()?;
    module.add_class::<service::Emit>()?;
    module.add_class::<gateway::Gateway>()?;
    module.add_class::<gateway::Server>()?;
    module.add_class::<tools::Tools>()?;
    module.add_class::<ai::Model>()?;
    module.add_class::<ai::Agent>()?;
    module.add_class::<ai::Events>()?;
    module.add_function(wrap_pyfunction!(gateway::serve_mcp, module)?)?;
    module.add_function(wrap_pyfunction!(runtime::shutdown, module)?)?;
    module.add_function(wrap_pyfunction!(json::parse, module)?)?;
    module.add_function(wrap_pyfunction!(json::encode, module)?)?;
    module.add_function(wrap_pyfunction!(error::error_from_parts, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
