//! The one error answer of every HTTP face: `{"error": "what went wrong and what to do"}` with
//! its status, as go-micro's `micro api` writes it, plus `required_scopes` on a 403,
//! `Retry-After` on a 429 or 503 and `WWW-Authenticate` on a 401.

use crate::errors::Error;
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, Response, StatusCode};
use axum::response::IntoResponse;
use bytes::Bytes;
use serde::Serialize;
use std::time::Duration;

/// An HTTP face's refusal or failure; answers as JSON.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    body: Body,
    retry_after: Option<Duration>,
    challenge: Option<HeaderValue>,
}

#[derive(Debug, Serialize)]
struct Body {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    required_scopes: Option<String>,
}

impl Failure {
    /// `{"error": message}` with `status`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            body: Body {
                error: message.into(),
                required_scopes: None,
            },
            retry_after: None,
            challenge: None,
        }
    }

    /// An engine error's detail with its own status when that is a 4xx (a bad key, a missing
    /// token, ...), a 500 otherwise; a 401 asks for a Bearer token.
    pub fn from_error(err: &Error) -> Failure {
        let status = StatusCode::from_u16(err.code as u16)
            .ok()
            .filter(|s| s.is_client_error())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status == StatusCode::UNAUTHORIZED {
            Failure::refused(err.detail.clone())
        } else {
            Failure::new(status, err.detail.clone())
        }
    }

    /// 405 naming what to use instead (`"GET or POST"`, `"POST /mcp/call"`).
    pub fn only(methods: &str) -> Failure {
        Failure::new(StatusCode::METHOD_NOT_ALLOWED, format!("use {methods}"))
    }

    /// 401 asking for a Bearer token.
    pub fn unauthorized(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::UNAUTHORIZED, message).challenge("Bearer")
    }

    /// 401 for a token that was shown but refused.
    pub fn refused(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::UNAUTHORIZED, message).challenge("Bearer error=\"invalid_token\"")
    }

    /// `403 {"error":"insufficient scopes","required_scopes":"a,b"}`.
    pub fn forbidden(required: &[String]) -> Failure {
        let mut failure = Failure::new(StatusCode::FORBIDDEN, "insufficient scopes");
        failure.body.required_scopes = Some(required.join(","));
        failure
    }

    /// The same failure, telling the client when to try again (whole seconds, at least one).
    pub fn retry_after(mut self, wait: Duration) -> Failure {
        self.retry_after = Some(wait);
        self
    }

    /// The same failure with a `WWW-Authenticate` challenge.
    fn challenge(mut self, value: &'static str) -> Failure {
        self.challenge = Some(HeaderValue::from_static(value));
        self
    }

    /// The failure as an engine error of `id`, for faces whose wire answers go-micro's error
    /// JSON.
    pub fn into_error(self, id: &str) -> Error {
        Error::new(id, self.body.error, self.status.as_u16().into())
    }

    /// What went wrong, as the body's `error` says it.
    pub fn message(&self) -> &str {
        &self.body.error
    }

    /// The status answered.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

#[cfg(feature = "auth")]
impl From<crate::auth::Refusal> for Failure {
    /// A refused login: its own status (401, 403, 429 or 503), saying when to try again.
    fn from(refusal: crate::auth::Refusal) -> Failure {
        let status = StatusCode::from_u16(refusal.error.code as u16)
            .ok()
            .filter(|s| s.is_client_error() || *s == StatusCode::SERVICE_UNAVAILABLE)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut failure = Failure::new(status, refusal.error.detail);
        failure.retry_after = refusal.retry_after;
        failure
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> axum::response::Response {
        tracing::debug!(status = %self.status, message = self.body.error, "request refused");
        let mut response = json(self.status, encode(&self.body));
        let headers = response.headers_mut();
        if let Some(wait) = self.retry_after {
            retry_after(headers, wait);
        }
        if let Some(challenge) = self.challenge {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// Sets `Retry-After` to `wait` in [`whole_secs`].
pub fn retry_after(headers: &mut HeaderMap, wait: Duration) {
    headers.insert(header::RETRY_AFTER, HeaderValue::from(whole_secs(wait)));
}

/// A wait in whole seconds, as a client is told it: rounded up, at least one.
pub fn whole_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// JSON text and a newline, as Go's `json.Encoder` writes it.
pub(crate) fn encode<T: Serialize>(value: &T) -> Bytes {
    let mut text = serde_json::to_vec(value).unwrap_or_default();
    text.push(b'\n');
    Bytes::from(text)
}

/// A JSON answer with `status`.
pub fn json(status: StatusCode, body: impl Into<Bytes>) -> axum::response::Response {
    let mut response = Response::new(axum::body::Body::from(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
