//! One error type for the whole engine, written on the wire as go-micro's error JSON
//! (`{"id","code","detail","status"}`), so a go-micro peer and every binding read it the same way.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The result type used across the engine.
pub type Result<T> = std::result::Result<T, Error>;

/// An error as go-micro carries it: who raised it (`id`), an HTTP-like `code`, a human `detail`
/// and the `status` text for that code.
///
/// ```
/// let err = micro::Error::not_found("go.micro.client", "service helloworld: not found");
/// assert_eq!(err.code, 404);
/// assert_eq!(err.status, "Not Found");
/// let back = micro::Error::parse(&err.to_json());
/// assert_eq!(back, err);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Error {
    /// Who raised the error, e.g. `go.micro.client` or the service name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// An HTTP status code: 400, 401, 403, 404, 408, 409, 500, ...
    #[serde(default, skip_serializing_if = "is_zero")]
    pub code: i32,
    /// What went wrong, and what to do about it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// The HTTP status text for `code`, e.g. `Not Found`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
}

fn is_zero(code: &i32) -> bool {
    *code == 0
}

impl Error {
    /// An error with any code; `status` is filled in from the code.
    pub fn new(id: impl Into<String>, detail: impl Into<String>, code: i32) -> Self {
        Error {
            id: id.into(),
            code,
            detail: detail.into(),
            status: status_text(code).to_string(),
        }
    }

    /// 400: the caller sent something wrong.
    pub fn bad_request(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, detail, 400)
    }

    /// 401: the caller is not authenticated.
    pub fn unauthorized(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, detail, 401)
    }

    /// 403: the caller is authenticated but not allowed.
    pub fn forbidden(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, detail, 403)
    }

    /// 404: the thing asked for does not exist.
    pub fn not_found(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, detail, 404)
    }

    /// 408: the operation ran out of time.
    pub fn timeout(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, detail, 408)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, detail, 409)
    }

    /// 500: something failed inside.
    pub fn internal(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, detail, 500)
    }

    /// Reads go-micro's error JSON; text that is not such JSON becomes a 500 carrying the text.
    pub fn parse(text: &str) -> Self {
        match serde_json::from_str::<Error>(text) {
            Ok(mut err) if err.code != 0 || !err.detail.is_empty() || !err.id.is_empty() => {
                if err.code == 0 {
                    err.code = 500;
                }
                if err.status.is_empty() {
                    err.status = status_text(err.code).to_string();
                }
                err
            }
            _ => Self::internal("", text),
        }
    }

    /// The error as go-micro's JSON, empty fields left out.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("error fields always serialize")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl std::error::Error for Error {}

/// The HTTP reason phrase for the codes go-micro uses; empty for others.
pub fn status_text(code: i32) -> &'static str {
    match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_matches_go_micro() {
        let err = Error::timeout("go.micro.client", "request timeout");
        assert_eq!(
            err.to_json(),
            r#"{"id":"go.micro.client","code":408,"detail":"request timeout","status":"Request Timeout"}"#
        );
    }

    #[test]
    fn constructors_set_codes() {
        let cases = [
            (Error::bad_request("x", "d"), 400, "Bad Request"),
            (Error::unauthorized("x", "d"), 401, "Unauthorized"),
            (Error::forbidden("x", "d"), 403, "Forbidden"),
            (Error::not_found("x", "d"), 404, "Not Found"),
            (Error::timeout("x", "d"), 408, "Request Timeout"),
            (Error::conflict("x", "d"), 409, "Conflict"),
            (Error::internal("x", "d"), 500, "Internal Server Error"),
        ];
        for (err, code, status) in cases {
            assert_eq!((err.code, err.status.as_str()), (code, status));
        }
    }

    #[test]
    fn text_that_is_not_json_becomes_500() {
        let err = Error::parse("connection refused");
        assert_eq!(err.code, 500);
        assert_eq!(err.detail, "connection refused");
        assert_eq!(Error::parse("{}").detail, "{}");
        assert_eq!(Error::parse("[1,2]").code, 500);
    }

    #[test]
    fn parses_go_micro_error_json() {
        let err = Error::parse(r#"{"id":"helloworld","code":404,"detail":"unknown"}"#);
        assert_eq!(err, Error::not_found("helloworld", "unknown"));
    }
}
