//! The one HTTP serving layer every HTTP face of the engine runs on: the gateway, the dashboard
//! and auth pages, MCP over HTTP and the HTTP broker's receiver are each an axum [`Router`],
//! and [`serve`] runs any of them with the same limits and layers: a connection cap, header
//! and body read timeouts, body limits, security headers, request ids, tracing and one grace
//! period on stop.
//!
//! The pieces the routers share live here too: who the caller is and what they may do
//! ([`caller`]), which `Host`s and `Origin`s a face answers ([`Hosts`]), the capped body reader
//! ([`read_body`]) and the one JSON error answer ([`Failure`]).

mod body;
#[cfg(feature = "auth")]
pub mod caller;
mod failure;
mod hosts;
mod serve;
mod stamp;

#[cfg(feature = "auth")]
pub use caller::{Authenticator, Caller};
#[cfg(any(feature = "gateway", feature = "mcp"))]
pub(crate) use failure::encode;
pub use failure::{Failure, json, retry_after, whole_secs};
pub use hosts::{DEFAULT_ALLOWED_HOSTS, Hosts};
#[cfg(all(test, feature = "gateway"))]
pub(crate) use serve::{App, layered};
pub use serve::{Limits, Running, bind, listen_address, serve};

use axum::body::{Body, HttpBody};
use axum::http::StatusCode;
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// The whole body, or the answer refusing it: a 413 when it is over `limit` bytes (told by
/// `Content-Length` or found reading), a 408 when it did not arrive within the face's body
/// timeout ([`Limits::body_timeout`]), a 400 when the connection fails while reading.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, Failure> {
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if caused_by::<LengthLimitError>(err.as_ref()) => Err(too_large(limit)),
        Err(err) if caused_by::<body::TooSlow>(err.as_ref()) => Err(Failure::new(
            StatusCode::REQUEST_TIMEOUT,
            "the request body did not arrive within this server's body timeout; send it at once",
        )),
        Err(err) => Err(Failure::new(
            StatusCode::BAD_REQUEST,
            format!("failed to read the request body: {err}"),
        )),
    }
}

/// True when `err`, or an error under it, is an `E`.
fn caused_by<E: std::error::Error + 'static>(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if err.is::<E>() {
            return true;
        }
        next = err.source();
    }
    false
}

fn too_large(limit: usize) -> Failure {
    Failure::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is over this server's limit of {limit} bytes; send less"),
    )
}
