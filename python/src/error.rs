//! Errors across the boundary, in one place. Engine errors become instances of the exception
//! classes in `go_micro.errors` (all under `MicroError`, one class per [`Kind`], chosen by
//! [`class_name`]), with the engine error's causes as the exception's `__cause__` chain;
//! exceptions raised by Python handlers become engine errors, a `MicroError` keeping its id, code
//! and detail and any other exception becoming a 500 naming it.

use micro::errors::Kind;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// The Python module holding the exception classes.
const ERRORS: &str = "go_micro.errors";

/// The `go_micro.errors` class for each kind: the one place kinds become Python types.
fn class_name(kind: Kind) -> &'static str {
    match kind {
        Kind::BadRequest => "BadRequestError",
        Kind::Unauthorized => "UnauthorizedError",
        Kind::Forbidden => "ForbiddenError",
        Kind::NotFound | Kind::NoService => "NotFoundError",
        Kind::Timeout => "TimeoutError",
        Kind::Conflict | Kind::Lagged => "ConflictError",
        Kind::TooMany => "TooManyRequestsError",
        Kind::Internal => "InternalServerError",
        Kind::Unavailable => "UnavailableError",
        // A kind newer than this binding still gets the base class.
        _ => "MicroError",
    }
}

/// The exception for an engine error: its kind's class made with the error's detail, code and
/// id, and its status; the error's sources follow as `__cause__`.
pub fn to_py(py: Python<'_>, err: &micro::Error) -> PyErr {
    let made = py.import(ERRORS).and_then(|module| {
        let exception =
            module
                .getattr(class_name(err.kind))?
                .call1((&err.detail, err.code, &err.id))?;
        if !err.status.is_empty() {
            exception.setattr("status", &err.status)?;
        }
        Ok(exception)
    });
    match made {
        Ok(exception) => {
            let exception = PyErr::from_value(exception);
            exception.set_cause(py, cause(py, std::error::Error::source(err)));
            exception
        }
        Err(import_failed) => import_failed,
    }
}

/// The exception for an error given by its parts, of the class the engine gives that code
/// when it reads it off the wire (`go_micro.errors.from_parts`).
#[pyfunction]
#[pyo3(signature = (id, code, detail, status = ""))]
pub fn error_from_parts<'py>(
    py: Python<'py>,
    id: &str,
    code: i32,
    detail: &str,
    status: &str,
) -> Bound<'py, PyAny> {
    let mut err = micro::Error::new(id, detail, code);
    if !status.is_empty() {
        err.status = status.to_string();
    }
    to_py(py, &err).into_value(py).into_bound(py).into_any()
}

/// The Python exception for `source` and, through `__cause__`, for everything under it: an
/// engine error as its own class, any other error as a `RuntimeError` carrying its message.
fn cause(py: Python<'_>, source: Option<&(dyn std::error::Error + 'static)>) -> Option<PyErr> {
    let source = source?;
    if let Some(err) = source.downcast_ref::<micro::Error>() {
        return Some(to_py(py, err));
    }
    let exception = PyRuntimeError::new_err(source.to_string());
    exception.set_cause(py, cause(py, source.source()));
    Some(exception)
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
