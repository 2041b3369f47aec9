//! The RPC client for C: calls that block, calls that complete through a callback, and
//! publishing with go-micro's message headers.

use crate::args;
use crate::buf::micro_buf;
use crate::callback::{Owned, UserData};
use crate::error::{self, Failure, MICRO_ERR_INVALID_ARGUMENT, micro_error, micro_error_free};
use crate::runtime;
use bytes::Bytes;
use micro::Client;
use micro::client::{Backoff, CallOptions, RawRequest, Selector};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::sync::Notify;

/// A client. Opaque; share it between threads freely; free with `micro_client_free`.
pub struct micro_client {
    client: Client,
}

impl micro_client {
    pub(crate) fn inner(&self) -> &Client {
        &self.client
    }
}

/// Called once when a `micro_client_call_async` call completes, on a library thread (it may
/// block). `status` is 0 with the response in `rsp` (`rsp_len` bytes), or an error status
/// with `error` set; `rsp` and `error` are borrowed until the callback returns (copy what you
/// keep). If the runtime shuts down first, it is called with `MICRO_ERR_SHUTDOWN`.
pub type micro_call_done_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: i32,
        rsp: *const u8,
        rsp_len: usize,
        error: *const micro_error,
    ),
>;

/// What `micro_client_new` accepts.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    selector: Option<String>,
    pool_size: Option<usize>,
    pool_ttl: Option<u64>,
    max_body_size: Option<usize>,
}

/// What a call's `options_json` accepts.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Call {
    timeout_ms: Option<u64>,
    dial_timeout_ms: Option<u64>,
    retries: Option<usize>,
    backoff: Option<String>,
    metadata: Option<HashMap<String, String>>,
    address: Option<Vec<String>>,
    content_type: Option<String>,
}

/// go-micro's defaults, made once for the calls that give no options.
static DEFAULT_OPTIONS: LazyLock<CallOptions> = LazyLock::new(CallOptions::default);

/// The call options in `options_json` (NULL: go-micro's defaults, made once).
///
/// # Safety
/// `options_json` is NULL or NUL-terminated.
pub(crate) unsafe fn call_options(
    options_json: *const c_char,
) -> Result<Cow<'static, CallOptions>, Failure> {
    if options_json.is_null() {
        return Ok(Cow::Borrowed(&DEFAULT_OPTIONS));
    }
    let call: Call = unsafe { args::json(options_json, "options_json") }?;
    let mut options = CallOptions::default();
    if let Some(ms) = call.timeout_ms {
        options.timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = call.dial_timeout_ms {
        options.dial_timeout = Duration::from_millis(ms);
    }
    if let Some(retries) = call.retries {
        options.retries = retries;
    }
    options.backoff = match call.backoff.as_deref() {
        None | Some("exponential") => Backoff::Exponential,
        Some("none") => Backoff::None,
        Some(other) => {
            return Err(invalid(format!(
                "backoff {other:?}: use \"exponential\" or \"none\""
            )));
        }
    };
    options.metadata = call.metadata.unwrap_or_default();
    options.address = call.address.unwrap_or_default();
    if let Some(content_type) = call.content_type {
        options.content_type = content_type;
    }
    Ok(Cow::Owned(options))
}

fn invalid(detail: String) -> Failure {
    Failure::new(MICRO_ERR_INVALID_ARGUMENT, detail)
}

unsafe fn client<'a>(ptr: *const micro_client) -> Result<&'a micro_client, Failure> {
    unsafe { args::handle(ptr, "client") }
}

/// A call's arguments, read from C.
unsafe fn request(
    service: *const c_char,
    endpoint: *const c_char,
    req: *const u8,
    req_len: usize,
) -> Result<RawRequest, Failure> {
    Ok(RawRequest {
        service: unsafe { args::text(service, "service") }?.to_string(),
        endpoint: unsafe { args::text(endpoint, "endpoint") }?.to_string(),
        body: Bytes::copy_from_slice(unsafe { args::bytes(req, req_len, "req") }?),
    })
}

/// Makes a client over the runtime's registry and broker, with options as JSON (NULL for
/// go-micro's defaults): `{"selector": "random" | "roundrobin", "pool_size": 100,
/// "pool_ttl": 60, "max_body_size": 4194304}` (seconds, bytes). On success `*out` holds a
/// client the caller owns and frees with `micro_client_free`. Any thread.
///
/// # Safety
/// `options_json` NULL or NUL-terminated; `out`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_client_new(
    options_json: *const c_char,
    out: *mut *mut micro_client,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let options: Options = unsafe { args::json(options_json, "options_json") }?;
        args::out(out, "out")?;
        let engine = runtime::engine()?;
        let mut client = Client::new(engine.registry()).broker(engine.broker());
        match options.selector.as_deref() {
            None | Some("random") => {}
            Some("roundrobin") => client = client.selector(Selector::RoundRobin),
            Some(other) => {
                return Err(invalid(format!(
                    "selector {other:?}: use \"random\" or \"roundrobin\""
                )));
            }
        }
        if options.pool_size.is_some() || options.pool_ttl.is_some() {
            client = client.pool(
                options
                    .pool_size
                    .unwrap_or(micro::client::DEFAULT_POOL_SIZE),
                options
                    .pool_ttl
                    .map_or(micro::client::DEFAULT_POOL_TTL, Duration::from_secs),
            );
        }
        if let Some(bytes) = options.max_body_size {
            client = client.max_body_size(bytes);
        }
        let client = Box::new(micro_client { client });
        unsafe { args::put(out, Box::into_raw(client), "out") }
    })
}

/// Calls `endpoint` (`Handler.Method`) of `service` with the request payload (`req_len` bytes
/// at `req`, copied; NULL allowed when 0) and blocks until the answer: on success `*rsp` holds
/// the response payload, owned by the caller (free with `micro_buf_free`); on failure the
/// service's or client's error (404 unknown service, 408 timeout, the handler's own code, ...).
/// `options_json` (NULL for defaults): `{"timeout_ms": 30000, "dial_timeout_ms": 5000,
/// "retries": 1, "backoff": "exponential" | "none", "metadata": {"k": "v"}, "address":
/// ["host:port"], "content_type": "application/json"}`. Any thread but a runtime worker;
/// handlers may call it.
///
/// # Safety
/// `client` NULL or live; strings NULL or NUL-terminated; `req` NULL or `req_len` readable
/// bytes; `rsp`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_client_call(
    client: *mut micro_client,
    service: *const c_char,
    endpoint: *const c_char,
    req: *const u8,
    req_len: usize,
    options_json: *const c_char,
    rsp: *mut micro_buf,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let client = unsafe { self::client(client) }?;
        let request = unsafe { request(service, endpoint, req, req_len) }?;
        let options = unsafe { call_options(options_json) }?;
        args::out(rsp, "rsp")?;
        let engine = runtime::engine()?;
        let response = engine.block_on(client.client.call_raw(request, &options))?;
        unsafe { args::put(rsp, micro_buf::new(&response.body), "rsp") }
    })
}

/// The completion callback of one async call, called exactly once: with the result, or from
/// its drop with `MICRO_ERR_SHUTDOWN` when the runtime ends first.
struct Completion {
    done: unsafe extern "C" fn(*mut c_void, i32, *const u8, usize, *const micro_error),
    data: UserData,
    called: bool,
}

impl Completion {
    fn complete(mut self, result: Result<Bytes, Failure>) {
        self.called = true;
        deliver(self.done, self.data, result);
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        if !self.called {
            deliver(self.done, self.data, Err(runtime::shut_down()));
        }
    }
}

fn deliver(
    done: unsafe extern "C" fn(*mut c_void, i32, *const u8, usize, *const micro_error),
    data: UserData,
    result: Result<Bytes, Failure>,
) {
    error::quietly(|| match result {
        Ok(body) => unsafe { done(data.get(), 0, body.as_ptr(), body.len(), std::ptr::null()) },
        Err(failure) => {
            let error = Owned(micro_error::boxed(&failure));
            unsafe {
                done(data.get(), failure.code, std::ptr::null(), 0, error.get());
                micro_error_free(error.get());
            }
        }
    });
}

/// A call started with `micro_client_call_async`, to cancel it. Opaque; owned by the caller,
/// who frees it with `micro_call_free` (before or after the call completes).
pub struct micro_call {
    cancel: Arc<Notify>,
}

/// Like `micro_client_call`, without blocking: returns at once, and `done` is called exactly
/// once later with `user_data` and the outcome (see `micro_call_done_fn`). If this returns an
/// error status (bad arguments, after shutdown), `done` is never called. `user_data` must
/// stay valid, and usable from any thread, until then. When `call` is not NULL, `*call`
/// receives a handle to cancel the call with (`micro_call_cancel`), which the caller frees
/// with `micro_call_free`. Any thread.
///
/// # Safety
/// As `micro_client_call`; `call` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_client_call_async(
    client: *mut micro_client,
    service: *const c_char,
    endpoint: *const c_char,
    req: *const u8,
    req_len: usize,
    options_json: *const c_char,
    done: micro_call_done_fn,
    user_data: *mut c_void,
    call: *mut *mut micro_call,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let client = unsafe { self::client(client) }?.client.clone();
        let request = unsafe { request(service, endpoint, req, req_len) }?;
        let options = unsafe { call_options(options_json) }?.into_owned();
        let done = args::callback(done, "done")?;
        let engine = runtime::engine()?;
        let completion = Completion {
            done,
            data: UserData(user_data),
            called: false,
        };
        let cancel = Arc::new(Notify::new());
        let cancelled = cancel.clone();
        engine.handle().spawn(async move {
            let result = tokio::select! {
                result = client.call_raw(request, &options) => {
                    result.map(|r| r.body).map_err(Failure::from)
                }
                () = cancelled.notified() => Err(Failure::from(micro::Error::timeout(
                    micro::client::ID,
                    "the call was cancelled (micro_call_cancel)",
                ))),
            };
            // The callback may block, so it runs off the workers; if the runtime is shutting
            // down and drops this closure unrun, the completion's drop reports that.
            tokio::task::spawn_blocking(move || completion.complete(result));
        });
        if !call.is_null() {
            // SAFETY: the caller passes NULL or a pointer it can write a `micro_call *` to.
            unsafe { *call = Box::into_raw(Box::new(micro_call { cancel })) };
        }
        Ok(())
    })
}

/// Cancels the call if it is still under way: its `done` is then called with a 408 error
/// (`go.micro.client`, "the call was cancelled"), as go-micro answers a call whose context
/// was cancelled; the service may still run the request. After the call completed it does
/// nothing. Returns 0, or `MICRO_ERR_NULL_ARGUMENT`. Any thread.
///
/// # Safety
/// `call` NULL or a live handle; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_call_cancel(
    call: *mut micro_call,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        unsafe { args::handle(call, "call") }?.cancel.notify_one();
        Ok(())
    })
}

/// Frees a call handle; the call itself goes on (cancel it first to end it). NULL is ignored.
/// Any thread.
///
/// # Safety
/// `call` NULL or a live handle, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_call_free(call: *mut micro_call) {
    if call.is_null() {
        return;
    }
    // SAFETY: made by `micro_client_call_async`; the caller gives it up.
    error::quietly(|| drop(unsafe { Box::from_raw(call) }));
}

/// Publishes `len` bytes at `body` on `topic` through the runtime's broker, as go-micro's
/// client does: with `Content-Type` (`content_type`, NULL for `application/json`), `Micro-Topic`
/// and a fresh `Micro-Id` header, plus the headers in `metadata_json` (a JSON object of
/// strings, NULL for none). Blocks until published. Any thread but a runtime worker.
///
/// # Safety
/// `client` NULL or live; strings NULL or NUL-terminated; `body` NULL or `len` readable
/// bytes; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_client_publish(
    client: *mut micro_client,
    topic: *const c_char,
    body: *const u8,
    len: usize,
    content_type: *const c_char,
    metadata_json: *const c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let client = unsafe { self::client(client) }?;
        let topic = unsafe { args::text(topic, "topic") }?;
        let body = Bytes::copy_from_slice(unsafe { args::bytes(body, len, "body") }?);
        let content_type = unsafe { args::optional_text(content_type, "content_type") }?
            .unwrap_or(micro::client::DEFAULT_CONTENT_TYPE);
        let metadata: HashMap<String, String> =
            unsafe { args::json(metadata_json, "metadata_json") }?;
        let engine = runtime::engine()?;
        engine.block_on(
            client
                .client
                .publish_raw(topic, content_type, body, metadata),
        )
    })
}

/// Frees a client. NULL is ignored. Call it once, after every other call on it returned
/// (pending async calls still complete). Any thread.
///
/// # Safety
/// `client` NULL or live, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_client_free(client: *mut micro_client) {
    if client.is_null() {
        return;
    }
    // SAFETY: made by `micro_client_new`; the caller gives it up.
    error::quietly(|| drop(unsafe { Box::from_raw(client) }));
}
