//! The answer to one request of a C endpoint handler: a reply handle the handler owns and
//! answers once, now or later, from any thread, while the request waits for it.
//!
//! The handle is one shared allocation: C holds one reference (given up by the call that
//! answers or frees it), the waiting request the other. A handler that answers before it
//! returns (the common case) is done without waking anything.

use crate::args;
use crate::error::{self, Failure, MICRO_ERR_NULL_ARGUMENT, micro_error};
use crate::runtime::lock;
use bytes::Bytes;
use micro::Error;
use micro::transport::Header;
use std::ffi::{CString, c_char};
use std::future::poll_fn;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Poll, Waker};

/// The answer to one request, given to an endpoint handler. Opaque; consumed by exactly one
/// of `micro_reply_send`, `micro_reply_error` or `micro_reply_free`.
pub struct micro_reply {
    service: Arc<str>,
    /// The request's metadata, and its JSON once `micro_reply_metadata` asked for it.
    metadata: Header,
    metadata_json: OnceLock<CString>,
    answer: Mutex<Answer>,
}

enum Answer {
    /// Not answered yet (or answered and taken); the request's waker once it waits.
    Pending(Option<Waker>),
    Given(micro::Result<Bytes>),
}

impl micro_reply {
    /// A reply to a request of `service` with `metadata`.
    pub(crate) fn new(service: Arc<str>, metadata: Header) -> Arc<micro_reply> {
        Arc::new(micro_reply {
            service,
            metadata,
            metadata_json: OnceLock::new(),
            answer: Mutex::new(Answer::Pending(None)),
        })
    }

    /// A handle for C, holding a reference until it is answered or freed.
    pub(crate) fn lend(self: &Arc<micro_reply>) -> *mut micro_reply {
        Arc::into_raw(self.clone()).cast_mut()
    }

    /// The answer, once the handle has been answered (or freed, which answers with a 500).
    pub(crate) async fn answered(&self) -> micro::Result<Bytes> {
        poll_fn(|cx| {
            let mut answer = lock(&self.answer);
            match std::mem::replace(&mut *answer, Answer::Pending(None)) {
                Answer::Given(result) => Poll::Ready(result),
                Answer::Pending(_) => {
                    *answer = Answer::Pending(Some(cx.waker().clone()));
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// Gives the answer and wakes the request if it waits.
    fn answer(&self, result: micro::Result<Bytes>) {
        let waiting = match std::mem::replace(&mut *lock(&self.answer), Answer::Given(result)) {
            Answer::Pending(waker) => waker,
            Answer::Given(_) => None,
        };
        if let Some(waker) = waiting {
            waker.wake();
        }
    }

    /// Answers with a 500 saying why the handler's answer was unusable.
    fn unusable(&self, what: &str, failure: &Failure) {
        self.answer(Err(Error::internal(
            &*self.service,
            format!("the handler's {what} was unusable: {}", failure.detail),
        )));
    }
}

/// Call metadata as a C string holding a JSON object.
pub(crate) fn metadata_json(metadata: &Header) -> CString {
    let size: usize = metadata.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
    let mut text = Vec::with_capacity(size + 3);
    if serde_json::to_writer(&mut text, metadata).is_err() {
        return c"{}".into();
    }
    text.push(0);
    // JSON escapes every control character, NUL included, so the only NUL is the last byte.
    CString::from_vec_with_nul(text).unwrap_or_else(|_| c"{}".into())
}

/// An error code a handler gave, as the caller gets it: HTTP-like 400..=599, else 500.
pub(crate) fn error_code(code: i32) -> i32 {
    if (400..=599).contains(&code) {
        code
    } else {
        500
    }
}

/// The error a handler of `service` raises with `code`, `id` (NULL: the service's name) and
/// `detail` (NULL: none).
///
/// # Safety
/// `id` and `detail` are NULL or NUL-terminated.
pub(crate) unsafe fn handler_error(
    service: &str,
    code: i32,
    id: *const c_char,
    detail: *const c_char,
) -> Result<Error, Failure> {
    let id = unsafe { args::optional_text(id, "id") }?;
    let detail = unsafe { args::optional_text(detail, "detail") }?;
    Ok(Error::new(
        id.unwrap_or(service),
        detail.unwrap_or(""),
        error_code(code),
    ))
}

/// Takes C's reference to a reply.
unsafe fn take(reply: *mut micro_reply) -> Result<Arc<micro_reply>, Failure> {
    if reply.is_null() {
        return Err(Failure::new(
            MICRO_ERR_NULL_ARGUMENT,
            "reply must not be NULL",
        ));
    }
    // SAFETY: lent by the handler wrapper; answering gives it up.
    Ok(unsafe { Arc::from_raw(reply) })
}

/// Answers the request with `len` bytes at `body` (copied; NULL allowed when `len` is 0) and
/// consumes the reply, whatever the status: never use it again. Any thread, any time. If the
/// caller has gone (timed out), the answer is dropped and 0 still returned.
///
/// # Safety
/// `reply` is NULL or an unanswered reply; `body` NULL or `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_reply_send(
    reply: *mut micro_reply,
    body: *const u8,
    len: usize,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let reply = unsafe { take(reply) }?;
        let body = unsafe { args::bytes(body, len, "body") }
            .inspect_err(|failure| reply.unusable("answer", failure))?;
        reply.answer(Ok(Bytes::copy_from_slice(body)));
        Ok(())
    })
}

/// Answers the request with an error: `code` is HTTP-like (400 bad request, 401, 403, 404,
/// 408, 409, 500, ...; a code outside 400..=599 becomes 500), `id` names who raised it (NULL
/// for the service's name) and `detail` says what went wrong (NULL for none). The caller gets
/// it as go-micro's error JSON. Consumes the reply whatever the status. Any thread, any time.
///
/// # Safety
/// `reply` is NULL or an unanswered reply; strings NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_reply_error(
    reply: *mut micro_reply,
    code: i32,
    id: *const c_char,
    detail: *const c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let reply = unsafe { take(reply) }?;
        let error = unsafe { handler_error(&reply.service, code, id, detail) }
            .inspect_err(|failure| reply.unusable("error", failure))?;
        reply.answer(Err(error));
        Ok(())
    })
}

/// The call metadata of the request `reply` answers, as a JSON object of strings (the caller's
/// headers and go-micro's own: `{"Micro-Id": "...", "Timeout": "...", ...}`), made on first
/// use: a handler that never asks pays nothing for it. Borrowed from the reply: valid until
/// the reply is answered or freed. NULL when `reply` is NULL. Any thread that holds the reply.
///
/// # Safety
/// `reply` is NULL or an unanswered reply.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_reply_metadata(reply: *const micro_reply) -> *const c_char {
    // SAFETY: the caller passes NULL or a reply it holds.
    let Some(reply) = (unsafe { reply.as_ref() }) else {
        return std::ptr::null();
    };
    catch_unwind(AssertUnwindSafe(|| {
        reply
            .metadata_json
            .get_or_init(|| metadata_json(&reply.metadata))
            .as_ptr()
    }))
    .unwrap_or(std::ptr::null())
}

/// Gives up a reply without answering: the caller gets a 500 error saying the handler did
/// not answer. NULL is ignored. Any thread.
///
/// # Safety
/// `reply` is NULL or an unanswered reply, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_reply_free(reply: *mut micro_reply) {
    error::quietly(|| {
        if let Ok(reply) = unsafe { take(reply) } {
            reply.answer(Err(Error::internal(
                &*reply.service,
                "the handler freed its reply without answering it",
            )));
        }
    });
}
