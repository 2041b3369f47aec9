//! Errors across the boundary, in one place. Engine errors become instances of the exception
//! classes in `go_micro.errors` (all under `MicroError`, chosen by code); exceptions raised by
//! Python handlers become engine errors, a `MicroError` keeping its id, code and detail and any
//! other exception becoming a 500 naming it.

use pyo3::prelude::*;
use pyo3::types::PyType;

/// The Python module holding the exception classes.
const ERRORS: &str = "go_micro.errors";

/// The exception for an engine error: `go_micro.errors.from_parts(id, code, detail, status)`.
pub fn to_py(py: Python<'_>, err: &micro::Error) -> PyErr {
    let made = py.import(ERRORS).and_then(|module| {
        module
            .getattr("from_parts")?
            .call1((&err.id, err.code, &err.detail, &err.status))
    });
    match made {
        Ok(exception) => PyErr::from_value(exception),
        Err(import_failed) => import_failed,
    }
}

/// A misuse of the binding itself (used after fork or exit, bad arguments), as a
/// `MicroError` with code 400 from `go_micro`.
pub fn usage(py: Python<'_>, detail: &str) -> PyErr {
    to_py(py, &micro::Error::bad_request("go_micro", detail))
}

/// The engine error for an exception a handler raised; `id` names the service when the
/// exception does not.
pub fn from_py(py: Python<'_>, err: PyErr, id: &str) -> micro::Error {
    let value = err.value(py);
    let is_micro = py
        .import(ERRORS)
        .and_then(|module| module.getattr("MicroError"))
        .and_then(|class| value.is_instance(class.cast::<PyType>()?))
        .unwrap_or(false);
    if is_micro {
        let text = |name: &str| {
            value
                .getattr(name)
                .and_then(|v| v.extract::<String>())
                .unwrap_or_default()
        };
        let code = value
            .getattr("code")
            .and_then(|v| v.extract::<i32>())
            .unwrap_or(500);
        let raised_by = text("id");
        let raised_by = if raised_by.is_empty() {
            id.to_string()
        } else {
            raised_by
        };
        return micro::Error::new(raised_by, text("detail"), code);
    }
    let kind = value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    tracing::warn!(service = id, error = %err, "a Python handler raised {kind}");
    micro::Error::internal(id, format!("{kind}: {value}"))
}
