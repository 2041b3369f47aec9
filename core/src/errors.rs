//! One error type for the whole engine, written on the wire as go-micro's error JSON
//! (`{"id","code","detail","status"}`), so a go-micro peer and every binding read it the same way.
//! Beside the wire fields an error carries a [`Kind`], which code decides by instead of
//! comparing ids, and an optional cause, which never travels.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// The result type used across the engine.
pub type Result<T> = std::result::Result<T, Error>;

/// What sort of failure an error is: what code branches on, and what each binding maps to its
/// own error types. Every kind writes one HTTP code on the wire; a code read from the wire
/// gives its kind back ([`Kind::from_code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Kind {
    /// 400, and any other 4xx without a kind of its own: the request was wrong; sending it
    /// again unchanged will fail again.
    BadRequest,
    /// 401: the caller is not authenticated.
    Unauthorized,
    /// 403: the caller is authenticated but not allowed.
    Forbidden,
    /// 404: the thing asked for does not exist.
    NotFound,
    /// 404 from the client itself: the registry knows no node of the service, so the request
    /// went nowhere. Read back from the wire it is a plain [`Kind::NotFound`].
    NoService,
    /// 408: the operation ran out of time.
    Timeout,
    /// 409: the request conflicts with the current state.
    Conflict,
    /// 409 from a registry watcher that fell behind and missed events. Read back from the
    /// wire it is a plain [`Kind::Conflict`].
    Lagged,
    /// 429: too many requests; try again later.
    TooMany,
    /// 500, and any code without a kind of its own: something failed inside.
    #[default]
    Internal,
    /// 502, 503 and 504: the service or something it depends on cannot answer now.
    Unavailable,
}

impl Kind {
    /// The kind of an HTTP code read from the wire.
    pub fn from_code(code: i32) -> Kind {
        match code {
            401 => Kind::Unauthorized,
            403 => Kind::Forbidden,
            404 => Kind::NotFound,
            408 => Kind::Timeout,
            409 => Kind::Conflict,
            429 => Kind::TooMany,
            502..=504 => Kind::Unavailable,
            _ if (400..500).contains(&code) => Kind::BadRequest,
            _ => Kind::Internal,
        }
    }

    /// The kind's name as the C ABI, Go and Node carry it: `bad_request`, `unauthorized`,
    /// `forbidden`, `not_found`, `no_service`, `timeout`, `conflict`, `lagged`, `too_many`,
    /// `internal` or `unavailable`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::BadRequest => "bad_request",
            Kind::Unauthorized => "unauthorized",
            Kind::Forbidden => "forbidden",
            Kind::NotFound => "not_found",
            Kind::NoService => "no_service",
            Kind::Timeout => "timeout",
            Kind::Conflict => "conflict",
            Kind::Lagged => "lagged",
            Kind::TooMany => "too_many",
            Kind::Internal => "internal",
            Kind::Unavailable => "unavailable",
        }
    }

    /// The code an error of this kind writes on the wire when made with [`Error::of`].
    pub fn code(self) -> i32 {
        match self {
            Kind::BadRequest => 400,
            Kind::Unauthorized => 401,
            Kind::Forbidden => 403,
            Kind::NotFound | Kind::NoService => 404,
            Kind::Timeout => 408,
            Kind::Conflict | Kind::Lagged => 409,
            Kind::TooMany => 429,
            Kind::Internal => 500,
            Kind::Unavailable => 503,
        }
    }
}

/// An error as go-micro carries it: who raised it (`id`), an HTTP-like `code`, a human `detail`
/// and the `status` text for that code; with its [`Kind`] and, when it wraps another error, that
/// error as its [`source`](std::error::Error::source). Only the four wire fields are serialized.
///
/// ```
/// use micro::errors::Kind;
///
/// let err = micro::Error::not_found("helloworld", "no such greeting");
/// assert_eq!((err.code, err.status.as_str(), err.kind), (404, "Not Found", Kind::NotFound));
/// let back = micro::Error::parse(&err.to_json());
/// assert_eq!(back, err);
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "Wire")]
pub struct Error {
    /// Who raised the error, e.g. `go.micro.client` or the service name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// An HTTP status code: 400, 401, 403, 404, 408, 409, 500, ...
    #[serde(skip_serializing_if = "is_zero")]
    pub code: i32,
    /// What went wrong, and what to do about it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// The HTTP status text for `code`, e.g. `Not Found`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// What sort of failure this is; read from `code` when the error comes off the wire.
    #[serde(skip)]
    pub kind: Kind,
    /// The error this one wraps, if any; it stays in this process.
    #[serde(skip)]
    pub source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

/// go-micro's error JSON as it is read; the kind comes from its code.
#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    id: String,
    #[serde(default)]
    code: i32,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    status: String,
}

impl From<Wire> for Error {
    fn from(wire: Wire) -> Error {
        Error {
            kind: Kind::from_code(wire.code),
            id: wire.id,
            code: wire.code,
            detail: wire.detail,
            status: wire.status,
            source: None,
        }
    }
}

fn is_zero(code: &i32) -> bool {
    *code == 0
}

/// Two errors are equal when their wire fields and kinds are; the sources are not compared.
impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        (&self.id, self.code, &self.detail, &self.status, self.kind)
            == (
                &other.id,
                other.code,
                &other.detail,
                &other.status,
                other.kind,
            )
    }
}

impl Eq for Error {}

impl Error {
    /// An error with any code; its kind and `status` are filled in from the code.
    pub fn new(id: impl Into<String>, detail: impl Into<String>, code: i32) -> Self {
        Error {
            id: id.into(),
            code,
            detail: detail.into(),
            status: status_text(code).to_string(),
            kind: Kind::from_code(code),
            source: None,
        }
    }

    /// An error of `kind`, with the code that kind writes on the wire.
    pub fn of(kind: Kind, id: impl Into<String>, detail: impl Into<String>) -> Self {
        Error {
            kind,
            ..Self::new(id, detail, kind.code())
        }
    }

    /// 400: the caller sent something wrong.
    pub fn bad_request(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::of(Kind::BadRequest, id, detail)
    }

    /// 401: the caller is not authenticated.
    pub fn unauthorized(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::of(Kind::Unauthorized, id, detail)
    }

    /// 403: the caller is authenticated but not allowed.
    pub fn forbidden(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::of(Kind::Forbidden, id, detail)
    }

    /// 404: the thing asked for does not exist.
    pub fn not_found(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::of(Kind::NotFound, id, detail)
    }

    /// 408: the operation ran out of time.
    pub fn timeout(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::of(Kind::Timeout, id, detail)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::of(Kind::Conflict, id, detail)
    }

    /// 500: something failed inside.
    pub fn internal(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::of(Kind::Internal, id, detail)
    }

    /// The same error, wrapping `source` as its cause; the wire fields do not change.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Reads go-micro's error JSON; text that is not such JSON becomes a 500 carrying the text.
    pub fn parse(text: &str) -> Self {
        match serde_json::from_str::<Error>(text) {
            Ok(mut err) if err.code != 0 || !err.detail.is_empty() || !err.id.is_empty() => {
                if err.code == 0 {
                    err.code = 500;
                    err.kind = Kind::Internal;
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

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

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

    #[test]
    fn kind_comes_from_the_code_on_the_wire() {
        let cases = [
            (400, Kind::BadRequest),
            (401, Kind::Unauthorized),
            (403, Kind::Forbidden),
            (404, Kind::NotFound),
            (408, Kind::Timeout),
            (409, Kind::Conflict),
            (413, Kind::BadRequest),
            (422, Kind::BadRequest),
            (429, Kind::TooMany),
            (500, Kind::Internal),
            (501, Kind::Internal),
            (502, Kind::Unavailable),
            (503, Kind::Unavailable),
            (504, Kind::Unavailable),
            (200, Kind::Internal),
        ];
        for (code, kind) in cases {
            let wire = format!(r#"{{"id":"x","code":{code},"detail":"d"}}"#);
            assert_eq!(Error::parse(&wire).kind, kind, "code {code}");
            assert_eq!(Error::new("x", "d", code).kind, kind, "code {code}");
        }
        assert_eq!(Error::parse("not json").kind, Kind::Internal);
        assert_eq!(
            Error::parse(r#"{"id":"x","detail":"d"}"#).kind,
            Kind::Internal
        );
    }

    #[test]
    fn local_kinds_write_their_codes_and_read_back_as_the_plain_kind() {
        let none = Error::of(Kind::NoService, "go.micro.client", "service x: not found");
        assert_eq!((none.code, none.status.as_str()), (404, "Not Found"));
        assert_eq!(Error::parse(&none.to_json()).kind, Kind::NotFound);
        let lagged = Error::of(
            Kind::Lagged,
            "micro.registry.watch.lagged",
            "missed 3 events",
        );
        assert_eq!((lagged.code, lagged.status.as_str()), (409, "Conflict"));
        assert_eq!(Error::parse(&lagged.to_json()).kind, Kind::Conflict);
        assert_ne!(
            none,
            Error::not_found("go.micro.client", "service x: not found")
        );
    }

    #[test]
    fn the_source_stays_off_the_wire() {
        let plain = Error::timeout("go.micro.client", "request timeout");
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "read timed out");
        let wrapped = plain.clone().with_source(io);
        assert_eq!(wrapped.to_json(), plain.to_json());
        assert_eq!(
            serde_json::to_vec(&wrapped).unwrap(),
            br#"{"id":"go.micro.client","code":408,"detail":"request timeout","status":"Request Timeout"}"#
        );
        assert_eq!(wrapped, plain, "equality ignores the source");
        assert!(Error::parse(&wrapped.to_json()).source.is_none());
    }

    #[test]
    fn the_cause_chain_is_visible_through_source() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let inner = Error::internal("go.micro.client.transport", "dial failed").with_source(io);
        let outer = Error::of(Kind::Unavailable, "go.micro.client", "no answer").with_source(inner);
        let mut chain = Vec::new();
        let mut next = outer.source();
        while let Some(err) = next {
            chain.push(err.to_string());
            next = err.source();
        }
        assert_eq!(chain.len(), 2, "{chain:?}");
        assert!(chain[0].contains("dial failed"), "{chain:?}");
        assert_eq!(chain[1], "refused");
        assert!(Error::internal("x", "d").source().is_none());
    }
}
