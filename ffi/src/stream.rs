//! Streams: a client opens one with `micro_client_stream`; a stream handler of a service gets
//! one per caller. Both sides send and receive payloads with the same functions.

use crate::args;
use crate::buf::micro_buf;
use crate::callback::{Owned, UserData, off_worker};
use crate::client::{self, micro_client};
use crate::error::{self, Failure, MICRO_EOF, MICRO_ERR_STATE, micro_error};
use crate::reply::{self, metadata_json};
use crate::runtime;
use bytes::Bytes;
use micro::Error;
use micro::client::{StreamReceiver, StreamSender};
use micro::server::{self, Context};
use std::ffi::{c_char, c_void};
use std::future::Future;
use tokio::sync::Mutex;

/// One stream. Opaque. A client's stream (from `micro_client_stream`) is owned by the caller
/// and freed with `micro_stream_free`; a handler's stream is owned by the library.
pub struct micro_stream {
    ends: Ends,
}

enum Ends {
    /// Sending and receiving may go on in two threads at once.
    Client {
        sender: Mutex<StreamSender>,
        receiver: Mutex<StreamReceiver>,
    },
    Server {
        stream: Mutex<server::Stream>,
        /// The service's name, for errors without an id of their own.
        service: String,
        /// What the stream ends with when the handler returns (`micro_stream_error`).
        error: std::sync::Mutex<Option<Error>>,
    },
}

/// A stream endpoint's handler (see `micro_service_stream`): returns 0 or an HTTP-like error
/// code for the caller (or ends the stream with `micro_stream_error`).
pub type micro_stream_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        metadata_json: *const c_char,
        stream: *mut micro_stream,
    ) -> i32,
>;

/// The stream handler that lends each stream to a C callback on a blocking thread.
pub(crate) fn serve(
    service: String,
    handler: unsafe extern "C" fn(*mut c_void, *const c_char, *mut micro_stream) -> i32,
    data: UserData,
) -> impl Fn(
    Context,
    server::Stream,
) -> std::pin::Pin<Box<dyn Future<Output = micro::Result<()>> + Send>>
+ Send
+ Sync
+ 'static {
    move |ctx: Context, stream: server::Stream| {
        let service = service.clone();
        Box::pin(async move {
            let lent = Owned(Box::into_raw(Box::new(micro_stream {
                ends: Ends::Server {
                    stream: Mutex::new(stream),
                    service: service.clone(),
                    error: std::sync::Mutex::new(None),
                },
            })));
            let metadata = metadata_json(&ctx.metadata);
            let (status, lent) = off_worker(
                move || {
                    let lent = lent;
                    let status = unsafe { handler(data.get(), metadata.as_ptr(), lent.get()) };
                    (status, lent)
                },
                (500, Owned(std::ptr::null_mut())),
            )
            .await;
            let error = match lent.get().is_null() {
                true => None,
                // SAFETY: made above; the handler has returned and no longer uses it.
                false => match unsafe { Box::from_raw(lent.get()) }.ends {
                    Ends::Server { error, .. } => error.into_inner().unwrap_or(None),
                    Ends::Client { .. } => None,
                },
            };
            match (error, status) {
                (Some(error), _) => Err(error),
                (None, 0) => Ok(()),
                (None, code) => Err(Error::new(
                    service,
                    format!("the stream handler ended with code {code}"),
                    reply::error_code(code),
                )),
            }
        })
    }
}

unsafe fn stream<'a>(ptr: *const micro_stream) -> Result<&'a micro_stream, Failure> {
    unsafe { args::handle(ptr, "stream") }
}

/// Opens a stream to `endpoint` of `service` and stores it in `*out`, owned by the caller
/// (free with `micro_stream_free`). `options_json` as in `micro_client_call`; its timeout
/// bounds the opening only. Any thread.
///
/// # Safety
/// `client` NULL or live; strings NULL or NUL-terminated; `out`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_client_stream(
    client: *mut micro_client,
    service: *const c_char,
    endpoint: *const c_char,
    options_json: *const c_char,
    out: *mut *mut micro_stream,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let client = unsafe { args::handle(client, "client") }?;
        let service = unsafe { args::text(service, "service") }?;
        let endpoint = unsafe { args::text(endpoint, "endpoint") }?;
        let options = unsafe { client::call_options(options_json) }?;
        args::out(out, "out")?;
        let engine = runtime::engine()?;
        let opened = engine.block_on(client.inner().stream(service, endpoint, &options))?;
        let (sender, receiver) = opened.split();
        let stream = Box::new(micro_stream {
            ends: Ends::Client {
                sender: Mutex::new(sender),
                receiver: Mutex::new(receiver),
            },
        });
        unsafe { args::put(out, Box::into_raw(stream), "out") }
    })
}

/// Sends one payload (`len` bytes at `data`, copied; NULL allowed when `len` is 0). Blocks
/// until it is written. 400 after `micro_stream_close_send`. Any thread; on a
/// client's stream one thread may send while another receives, a handler's stream takes one
/// call at a time.
///
/// # Safety
/// `s` NULL or a live stream; `data` NULL or `len` readable bytes; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_stream_send(
    s: *mut micro_stream,
    data: *const u8,
    len: usize,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let s = unsafe { stream(s) }?;
        let payload = Bytes::copy_from_slice(unsafe { args::bytes(data, len, "data") }?);
        let engine = runtime::engine()?;
        engine.block_on(async {
            match &s.ends {
                Ends::Client { sender, .. } => sender.lock().await.send(payload).await,
                Ends::Server { stream, .. } => stream.lock().await.send(payload).await,
            }
        })
    })
}

/// Waits for the next payload and stores it in `*out` (the caller frees it with
/// `micro_buf_free`). Returns `MICRO_EOF` (not an error: `*out` is empty and `*err` NULL)
/// once the other side has closed the stream. Any thread.
///
/// # Safety
/// `s` NULL or a live stream; `out`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_stream_recv(
    s: *mut micro_stream,
    out: *mut micro_buf,
    err: *mut *mut micro_error,
) -> i32 {
    let mut ended = false;
    let status = error::run(err, || {
        let s = unsafe { stream(s) }?;
        args::out(out, "out")?;
        let engine = runtime::engine()?;
        let next = engine.block_on(async {
            match &s.ends {
                Ends::Client { receiver, .. } => receiver.lock().await.recv().await,
                Ends::Server { stream, .. } => stream.lock().await.recv().await,
            }
        })?;
        ended = next.is_none();
        let buf = next.map_or(micro_buf::EMPTY, |payload| micro_buf::new(&payload));
        unsafe { args::put(out, buf, "out") }
    });
    if status == 0 && ended {
        MICRO_EOF
    } else {
        status
    }
}

/// Closes the client's sending side: the service's stream handler sees the end of the
/// stream; replies can still be received. A handler's stream ends when the handler returns,
/// so this is `MICRO_ERR_STATE` there. Closing twice is fine. Any thread.
///
/// # Safety
/// `s` NULL or a live stream; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_stream_close_send(
    s: *mut micro_stream,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let s = unsafe { stream(s) }?;
        let Ends::Client { sender, .. } = &s.ends else {
            return Err(Failure::new(
                MICRO_ERR_STATE,
                "a stream handler ends its stream by returning",
            ));
        };
        let engine = runtime::engine()?;
        engine.block_on(async { sender.lock().await.close().await })
    })
}

/// On a handler's stream: sets the error the stream ends with when the handler returns, which
/// the caller then receives whatever the handler returns: `code` HTTP-like (outside
/// 400..=599 it becomes 500), `id` who raised it (NULL for the service's name), `detail` what
/// went wrong (NULL for none). A second call replaces the first. `MICRO_ERR_STATE` on a
/// client's stream. The handler's thread.
///
/// # Safety
/// `s` NULL or a live stream; strings NULL or NUL-terminated; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_stream_error(
    s: *mut micro_stream,
    code: i32,
    id: *const c_char,
    detail: *const c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let s = unsafe { stream(s) }?;
        let Ends::Server { service, error, .. } = &s.ends else {
            return Err(Failure::new(
                MICRO_ERR_STATE,
                "micro_stream_error is for a stream handler's stream; a client ends its stream with micro_stream_close_send",
            ));
        };
        let raised = unsafe { reply::handler_error(service, code, id, detail) }?;
        *runtime::lock(error) = Some(raised);
        Ok(())
    })
}

/// Closes and frees a client's stream. NULL is ignored; so is a stream handed to a handler,
/// which the library frees. Call it once, after every other call on the stream returned.
///
/// # Safety
/// `s` NULL or a live stream, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_stream_free(s: *mut micro_stream) {
    if s.is_null() {
        return;
    }
    error::quietly(|| {
        // SAFETY: checked not NULL; the caller promises it is live.
        if matches!(unsafe { &(*s).ends }, Ends::Server { .. }) {
            return;
        }
        // SAFETY: a client stream made by `micro_client_stream`; the caller gives it up.
        drop(unsafe { Box::from_raw(s) });
    });
}
