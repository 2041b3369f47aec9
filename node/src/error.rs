//! The one mapping from engine errors to JavaScript. A `micro::Error` crosses into JS as a
//! rejected `Error` whose message is go-micro's error JSON (`{"id","code","detail","status"}`)
//! and the error's `kind`; the package's `index.js` turns that into a `MicroError` with `id`,
//! `code`, `detail` and `kind`.
//! Errors coming back from JS handlers travel the other way as the same JSON.

use napi::Status;

/// Converts engine results for returning to JS.
pub(crate) trait OrThrow<T> {
    /// The value, or the engine error as a JS error carrying go-micro's error JSON.
    fn or_throw(self) -> napi::Result<T>;
}

impl<T> OrThrow<T> for micro::Result<T> {
    fn or_throw(self) -> napi::Result<T> {
        self.map_err(throw)
    }
}

/// The JS error for an engine error: go-micro's error JSON with the error's kind beside.
pub(crate) fn throw(err: micro::Error) -> napi::Error {
    let mut value = serde_json::to_value(&err).unwrap_or_default();
    value["kind"] = err.kind.name().into();
    napi::Error::new(Status::GenericFailure, value.to_string())
}

/// A 400 for bad input from JS, as a JS error.
pub(crate) fn bad_input(id: &str, detail: impl Into<String>) -> napi::Error {
    throw(micro::Error::bad_request(id, detail))
}

/// An engine error for a failure to run a JS callback (its promise could not be awaited, or
/// Node is shutting down).
pub(crate) fn callback_failed(id: &str, err: napi::Error) -> micro::Error {
    micro::Error::internal(
        id,
        format!("the JavaScript handler could not be run: {}", err.reason),
    )
}
