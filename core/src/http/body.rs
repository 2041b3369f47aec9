//! The body of every request a face serves: capped at the face's size limit and due within its
//! body timeout, counted from the request's arrival. Handlers read it with [`super::read_body`].

use axum::body::Body;
use bytes::Bytes;
use http_body_util::Limited;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

type BoxError = Box<dyn StdError + Send + Sync>;

/// `body` capped at `max` bytes (reading past it fails with a `LengthLimitError`) and failing
/// with [`TooSlow`] once `timeout` has passed and it is not all in.
pub(super) fn guard<B>(body: B, max: usize, timeout: Duration) -> Body
where
    B: HttpBody<Data = Bytes> + Unpin + Send + 'static,
    B::Error: Into<BoxError>,
{
    Body::new(Due {
        inner: Limited::new(body, max),
        due: Instant::now() + timeout,
        timer: None,
    })
}

/// A body with a deadline. Its timer is set only once the body makes its reader wait, so a
/// body that arrived with its headers, as nearly all do, costs no timer.
struct Due<B> {
    inner: B,
    due: Instant,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<B> HttpBody for Due<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let due = self.due;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(TooSlow)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that did not arrive within the face's body timeout.
#[derive(Debug)]
pub struct TooSlow;

impl fmt::Display for TooSlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl StdError for TooSlow {}
