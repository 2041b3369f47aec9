//! The headers every answer carries: the request's id (the client's `x-request-id`, or one made
//! here) and the security headers, unless the route set its own. One layer of ours rather than
//! tower-http's `SetRequestId`, `PropagateRequestId` and four `SetResponseHeader`s: those nest six
//! services around every request, which cost the gateway about 2 µs a call
//! (bench/results/gateway.md).

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Request, Response};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use tower::{Layer, Service};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// No sniffing, no framing, same-origin referrers, and a policy allowing only this origin's
/// scripts, styles and forms.
const SECURITY: [(HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "same-origin"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
];

/// The layer stamping every answer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StampLayer;

impl<S> Layer<S> for StampLayer {
    type Service = Stamp<S>;

    fn layer(&self, inner: S) -> Stamp<S> {
        Stamp { inner }
    }
}

/// A service whose answers carry the request id and the security headers.
#[derive(Debug, Clone)]
pub(crate) struct Stamp<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for Stamp<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Stamped<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let id = match request.headers().get(&REQUEST_ID) {
            Some(id) => id.clone(),
            None => new_id(),
        };
        Stamped {
            inner: self.inner.call(request),
            id: Some(id),
        }
    }
}

pin_project! {
    /// The answer to come, stamped once it is there.
    pub(crate) struct Stamped<F> {
        #[pin]
        inner: F,
        id: Option<HeaderValue>,
    }
}

impl<F, R, E> Future for Stamped<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = Result<Response<R>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        stamp(response.headers_mut(), this.id.take());
        Poll::Ready(Ok(response))
    }
}

fn stamp(headers: &mut HeaderMap, id: Option<HeaderValue>) {
    headers.reserve(SECURITY.len() + 1);
    if let Some(id) = id {
        headers.insert(REQUEST_ID, id);
    }
    for (name, value) in SECURITY {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}

/// A request id for a request that came without one: this process's random prefix and a
/// counter, unique without drawing a UUID for every request.
fn new_id() -> HeaderValue {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::new_v4().simple().to_string()[..16].to_string());
    let id = format!("{prefix}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed));
    HeaderValue::from_str(&id).expect("hex digits and a dash are a header value")
}
