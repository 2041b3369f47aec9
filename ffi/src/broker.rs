//! The broker for C: publish raw messages and subscribe C callbacks to topics, through the
//! runtime's broker (`MICRO_BROKER`, or the `micro_runtime_start` option).

use crate::args;
use crate::callback::{UserData, off_worker};
use crate::error::{self, Failure, micro_error};
use crate::runtime;
use bytes::Bytes;
use micro::Error;
use micro::broker::{self, Message, SubscribeOptions, Subscription};
use std::collections::HashMap;
use std::ffi::{CString, c_char, c_void};

/// A message handler. Called on a library thread (it may block) for each message, with the
/// topic, the payload (`len` bytes) and the message headers as a JSON object of strings, all
/// borrowed until it returns. Returns 0, or an HTTP-like code (>= 400) that the broker
/// reports to the publisher as an error.
pub type micro_message_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        topic: *const c_char,
        body: *const u8,
        len: usize,
        header_json: *const c_char,
    ) -> i32,
>;

/// A subscription made with `micro_broker_subscribe`. Opaque; ended and freed by
/// `micro_subscription_free`.
pub struct micro_subscription {
    subscription: Option<Subscription>,
}

/// The broker handler that hands each message to a C callback off the workers.
pub(crate) fn handler(f: micro_message_fn, data: UserData) -> Result<broker::Handler, Failure> {
    let f = args::callback(f, "handler")?;
    Ok(broker::handler(
        move |topic: String, message: Message| async move {
            let status = off_worker(
                move || {
                    let topic = CString::new(topic).unwrap_or_default();
                    let header =
                        serde_json::to_string(&message.header).unwrap_or_else(|_| "{}".into());
                    let header = CString::new(header).unwrap_or_default();
                    let body = &message.body;
                    unsafe {
                        f(
                            data.get(),
                            topic.as_ptr(),
                            body.as_ptr(),
                            body.len(),
                            header.as_ptr(),
                        )
                    }
                },
                500,
            )
            .await;
            match status {
                0 => Ok(()),
                code => Err(Error::new(
                    "micro.ffi",
                    format!("the message handler returned {code}"),
                    if (400..=599).contains(&code) {
                        code
                    } else {
                        500
                    },
                )),
            }
        },
    ))
}

/// Publishes `len` bytes at `body` (copied; NULL allowed when 0) on `topic`, with the headers
/// in `header_json` (a JSON object of strings, NULL for none) and nothing added: a raw broker
/// message (`micro_client_publish` adds go-micro's headers). Blocks until published. Any
/// thread but a runtime worker.
///
/// # Safety
/// Strings NULL or NUL-terminated; `body` NULL or `len` readable bytes; `err` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_broker_publish(
    topic: *const c_char,
    body: *const u8,
    len: usize,
    header_json: *const c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let topic = unsafe { args::text(topic, "topic") }?;
        let body = Bytes::copy_from_slice(unsafe { args::bytes(body, len, "body") }?);
        let header: HashMap<String, String> = unsafe { args::json(header_json, "header_json") }?;
        let engine = runtime::engine()?;
        let message = Message { header, body };
        engine.block_on(engine.broker().publish(topic, message))
    })
}

/// Runs `handler` (see `micro_message_fn`) with `user_data` for each message on `topic` until
/// the subscription is freed; with a `queue` (NULL for none) subscribers of one queue share
/// the messages. On success `*out` holds the subscription, owned by the caller and ended with
/// `micro_subscription_free`. `user_data` must stay valid, and usable from any thread, until
/// then. Any thread but a runtime worker.
///
/// # Safety
/// Strings NULL or NUL-terminated; `out`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_broker_subscribe(
    topic: *const c_char,
    queue: *const c_char,
    handler: micro_message_fn,
    user_data: *mut c_void,
    out: *mut *mut micro_subscription,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let topic = unsafe { args::text(topic, "topic") }?;
        let queue = unsafe { args::optional_text(queue, "queue") }?;
        let handler = self::handler(handler, UserData(user_data))?;
        args::out(out, "out")?;
        let engine = runtime::engine()?;
        let options = SubscribeOptions {
            queue: queue.map(str::to_string),
        };
        let subscription = engine.block_on(engine.broker().subscribe(topic, handler, options))?;
        let subscription = Box::new(micro_subscription {
            subscription: Some(subscription),
        });
        unsafe { args::put(out, Box::into_raw(subscription), "out") }
    })
}

/// Ends the subscription: the broker lets go of it before this returns, though a handler call
/// already under way may still finish. Frees it. NULL is ignored. Any thread but a handler's.
///
/// # Safety
/// `sub` NULL or a live subscription, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_subscription_free(sub: *mut micro_subscription) {
    if sub.is_null() {
        return;
    }
    error::quietly(|| {
        // SAFETY: made by `micro_broker_subscribe`; the caller gives it up.
        let mut sub = unsafe { Box::from_raw(sub) };
        if let (Some(subscription), Ok(engine)) = (sub.subscription.take(), runtime::engine()) {
            let _ = engine.block_on(subscription.unsubscribe());
        }
    });
}
