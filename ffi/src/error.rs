//! Errors as C sees them: every entry point returns an `int32_t` status (0 is success) and may
//! fill an optional `micro_error **` out-parameter with the details. Nothing is kept in a
//! thread-local "last error": Go's cgo moves goroutines between OS threads between calls, so
//! the error comes back through the call that failed.
//!
//! Positive statuses are the engine's HTTP-like error codes (400, 404, 408, 500, ...), as a
//! go-micro peer would send them; negative statuses are the library's own, for misuse.

use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::OnceLock;

/// Success.
pub const MICRO_OK: i32 = 0;
/// A required pointer argument was NULL.
pub const MICRO_ERR_NULL_ARGUMENT: i32 = -1;
/// A string argument was not valid UTF-8.
pub const MICRO_ERR_INVALID_UTF8: i32 = -2;
/// A JSON argument (options, metadata, ...) did not parse or had unknown or mistyped fields.
pub const MICRO_ERR_INVALID_JSON: i32 = -3;
/// The runtime was shut down with `micro_runtime_shutdown`; nothing more can run.
pub const MICRO_ERR_SHUTDOWN: i32 = -4;
/// The object was already stopped (a second stop, or a stop after `micro_runtime_shutdown`).
pub const MICRO_ERR_ALREADY_STOPPED: i32 = -5;
/// A Rust panic was caught at the boundary; the message says where. Please report it.
pub const MICRO_ERR_PANIC: i32 = -6;
/// The call does not fit the object's state (changing a service after it started, starting
/// it twice, freeing a stream the library owns, ...).
pub const MICRO_ERR_STATE: i32 = -7;
/// An argument had a value out of range.
pub const MICRO_ERR_INVALID_ARGUMENT: i32 = -8;
/// Not an error: `micro_stream_recv` found the end of the stream.
pub const MICRO_EOF: i32 = 1;

/// The details of a failed call. Every string is NUL-terminated UTF-8, never NULL (empty when
/// unknown), and owned by the error: free the whole error once with `micro_error_free`.
#[repr(C)]
pub struct micro_error {
    /// The status the call returned: a `MICRO_ERR_*` code, or the engine's HTTP-like code.
    pub code: i32,
    /// Who raised the error: a service name, `go.micro.client`, `micro.ffi`, ...
    pub id: *mut c_char,
    /// What went wrong, and what to do about it.
    pub detail: *mut c_char,
    /// The HTTP status text of an engine code (`Not Found`), or the name of a `MICRO_ERR_*`.
    pub status: *mut c_char,
    /// One readable line: status, detail and id together, for logs and exceptions.
    pub message: *mut c_char,
    /// What sort of failure an engine code is (`not_found`, `no_service`, `timeout`, ...: the
    /// names of `micro::errors::Kind`); empty for a `MICRO_ERR_*` code.
    pub kind: *mut c_char,
}

/// Why a call failed, before it is handed to C.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) code: i32,
    pub(crate) id: String,
    pub(crate) detail: String,
    /// The engine's kind for an engine failure; `None` for the library's own codes.
    pub(crate) kind: Option<micro::errors::Kind>,
}

/// The id of errors the library raises itself.
pub(crate) const ID: &str = "micro.ffi";

impl Failure {
    /// A library failure with one of the `MICRO_ERR_*` codes, or an engine code.
    pub(crate) fn new(code: i32, detail: impl Into<String>) -> Failure {
        Failure {
            code,
            id: ID.into(),
            detail: detail.into(),
            kind: (code > 0).then(|| micro::errors::Kind::from_code(code)),
        }
    }

    /// The status text: the HTTP reason of an engine code, the name of a library code.
    pub(crate) fn status(&self) -> &'static str {
        match self.code {
            c if c > 0 => micro::errors::status_text(c),
            c => status_name(c),
        }
    }

    /// `status: detail (id)` on one line.
    pub(crate) fn message(&self) -> String {
        let status = match self.status() {
            "" => format!("error {}", self.code),
            s => s.to_string(),
        };
        format!("{status}: {} ({})", self.detail, self.id)
    }
}

impl From<micro::Error> for Failure {
    fn from(err: micro::Error) -> Failure {
        Failure {
            code: if err.code > 0 { err.code } else { 500 },
            id: err.id,
            detail: err.detail,
            kind: Some(err.kind),
        }
    }
}

/// The name of a library status code; empty for others.
fn status_name(code: i32) -> &'static str {
    match code {
        MICRO_OK => "MICRO_OK",
        MICRO_ERR_NULL_ARGUMENT => "MICRO_ERR_NULL_ARGUMENT",
        MICRO_ERR_INVALID_UTF8 => "MICRO_ERR_INVALID_UTF8",
        MICRO_ERR_INVALID_JSON => "MICRO_ERR_INVALID_JSON",
        MICRO_ERR_SHUTDOWN => "MICRO_ERR_SHUTDOWN",
        MICRO_ERR_ALREADY_STOPPED => "MICRO_ERR_ALREADY_STOPPED",
        MICRO_ERR_PANIC => "MICRO_ERR_PANIC",
        MICRO_ERR_STATE => "MICRO_ERR_STATE",
        MICRO_ERR_INVALID_ARGUMENT => "MICRO_ERR_INVALID_ARGUMENT",
        MICRO_EOF => "MICRO_EOF",
        _ => "",
    }
}

/// A C string of `text`, with any NUL bytes (which C cannot hold) replaced.
pub(crate) fn c_string(text: &str) -> *mut c_char {
    match CString::new(text) {
        Ok(s) => s.into_raw(),
        Err(_) => CString::new(text.replace('\0', "\u{FFFD}"))
            .expect("NULs were replaced")
            .into_raw(),
    }
}

impl micro_error {
    /// A heap error for C, freed by `micro_error_free`.
    pub(crate) fn boxed(failure: &Failure) -> *mut micro_error {
        Box::into_raw(Box::new(micro_error {
            code: failure.code,
            id: c_string(&failure.id),
            detail: c_string(&failure.detail),
            status: c_string(failure.status()),
            message: c_string(&failure.message()),
            kind: c_string(failure.kind.map_or("", micro::errors::Kind::name)),
        }))
    }
}

/// Runs an entry point's body: catches panics, turns a failure into its status and, when
/// `err` is not NULL, into a `micro_error` stored there (NULL is stored on success).
pub(crate) fn run(err: *mut *mut micro_error, body: impl FnOnce() -> Result<(), Failure>) -> i32 {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(Failure::new(
            MICRO_ERR_PANIC,
            format!("libmicro panicked: {what}; this is a bug, please report it"),
        ))
    });
    let (status, error) = match outcome {
        Ok(()) => (MICRO_OK, ptr::null_mut()),
        Err(failure) => (failure.code, micro_error::boxed(&failure)),
    };
    if !err.is_null() {
        // SAFETY: the caller passes NULL or a pointer it can write a `micro_error *` to.
        unsafe { *err = error };
    } else if !error.is_null() {
        // SAFETY: the error was just made by `boxed` and nobody else has it.
        unsafe { micro_error_free(error) };
    }
    status
}

/// Runs code that must not unwind into C and returns nothing (free functions, callbacks'
/// bookkeeping): a panic is caught and dropped.
pub(crate) fn quietly(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

/// Frees an error returned through a `micro_error **` out-parameter, with its strings.
/// NULL is ignored. Any thread.
///
/// # Safety
/// `error` is NULL or an error from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_error_free(error: *mut micro_error) {
    if error.is_null() {
        return;
    }
    quietly(|| {
        // SAFETY: made by `micro_error::boxed`, whose strings come from `CString::into_raw`.
        let error = unsafe { Box::from_raw(error) };
        for s in [
            error.id,
            error.detail,
            error.status,
            error.message,
            error.kind,
        ] {
            if !s.is_null() {
                drop(unsafe { CString::from_raw(s) });
            }
        }
    });
}

/// The name of a status code as static text: `MICRO_ERR_NULL_ARGUMENT`, or for an engine
/// code its HTTP status text (`Not Found`); empty text for unknown codes. Never NULL, never
/// freed. Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn micro_status_text(code: i32) -> *const c_char {
    static TEXTS: OnceLock<Vec<(i32, CString)>> = OnceLock::new();
    let text = catch_unwind(|| {
        let texts = TEXTS.get_or_init(|| {
            (MICRO_ERR_INVALID_ARGUMENT..=MICRO_EOF)
                .chain(100..600)
                .map(|code| (code, Failure::new(code, "").status()))
                .filter(|(_, text)| !text.is_empty())
                .map(|(code, text)| (code, CString::new(text).expect("status texts have no NUL")))
                .collect()
        });
        texts
            .iter()
            .find(|(known, _)| *known == code)
            .map(|(_, text)| text.as_ptr())
    });
    text.ok().flatten().unwrap_or(c"".as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn status_text_matches_the_names() {
        for code in [-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 400, 404, 500, 504] {
            let text = unsafe { CStr::from_ptr(micro_status_text(code)) };
            assert_eq!(text.to_str().unwrap(), Failure::new(code, "").status());
        }
    }

    #[test]
    fn a_panic_becomes_a_status_and_an_error() {
        let mut err = ptr::null_mut();
        let status = run(&mut err, || panic!("boom"));
        assert_eq!(status, MICRO_ERR_PANIC);
        let detail = unsafe { CStr::from_ptr((*err).detail) }.to_str().unwrap();
        assert!(detail.contains("boom"), "{detail}");
        unsafe { micro_error_free(err) };
    }
}
