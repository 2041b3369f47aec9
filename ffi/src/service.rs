//! Services written in C: create one, add endpoint handlers (C callbacks answering through a
//! reply handle), documentation and subscribers, then start or run it and stop it.

use crate::args;
use crate::broker::{self, micro_message_fn};
use crate::buf;
use crate::callback::UserData;
use crate::error::{self, Failure, MICRO_ERR_ALREADY_STOPPED, MICRO_ERR_STATE, micro_error};
use crate::reply::micro_reply;
use crate::runtime::{self, lock};
use crate::stream::{self, micro_stream_fn};
use bytes::Bytes;
use micro::Service;
use micro::server::{self, Context};
use micro::service::Running;
use serde::Deserialize;
use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// A service: built with `micro_service_handle` and friends, then started. Opaque; free with
/// `micro_service_free`.
pub struct micro_service {
    name: String,
    phase: Mutex<Phase>,
    /// Becomes true when the service stops, for `micro_service_run` to return.
    stopped: watch::Sender<bool>,
}

// One per service, moved a few times in its life: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Phase {
    Building(Service),
    Running(Running),
    Stopped,
    /// Between phases, while a start is under way.
    Moving,
}

/// An endpoint handler. Called on a library thread, where it may block (a handler given to
/// `micro_service_handle_inline` runs on a runtime worker and must not), with the request
/// payload (`req_len` bytes, borrowed until it returns) and a reply handle it owns: read the
/// call metadata from it with `micro_reply_metadata`, and answer it once, now or later and
/// from any thread, with `micro_reply_send` or `micro_reply_error`. An agent's tool handler
/// has the same form (see `micro_agent_new`).
pub type micro_handler_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        req: *const u8,
        req_len: usize,
        reply: *mut micro_reply,
    ),
>;

/// What `micro_service_new` accepts.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    version: Option<String>,
    address: Option<String>,
    metadata: Option<HashMap<String, String>>,
    register_ttl: Option<u64>,
    register_interval: Option<u64>,
    max_body_size: Option<usize>,
}

impl micro_service {
    /// Changes the service while it is being built.
    fn build(&self, change: impl FnOnce(Service) -> Service) -> Result<(), Failure> {
        let mut phase = lock(&self.phase);
        match std::mem::replace(&mut *phase, Phase::Moving) {
            Phase::Building(service) => {
                *phase = Phase::Building(change(service));
                Ok(())
            }
            other => {
                *phase = other;
                Err(Failure::new(
                    MICRO_ERR_STATE,
                    format!(
                        "service {} has started; add handlers, docs and subscribers before micro_service_start",
                        self.name
                    ),
                ))
            }
        }
    }

    /// Starts the service if it is still being built.
    fn start(&self) -> Result<(), Failure> {
        let engine = runtime::engine()?;
        let service = {
            let mut phase = lock(&self.phase);
            match std::mem::replace(&mut *phase, Phase::Moving) {
                Phase::Building(service) => service,
                other => {
                    let stopped = matches!(other, Phase::Stopped);
                    *phase = other;
                    return Err(Failure::new(
                        MICRO_ERR_STATE,
                        match stopped {
                            true => format!(
                                "service {} was stopped and cannot start again; make a new one",
                                self.name
                            ),
                            false => format!("service {} is already running", self.name),
                        },
                    ));
                }
            }
        };
        let started = engine.block_on(service.start());
        let mut phase = lock(&self.phase);
        match started {
            Ok(running) => {
                *phase = Phase::Running(running);
                Ok(())
            }
            Err(err) => {
                *phase = Phase::Stopped;
                let _ = self.stopped.send(true);
                Err(err)
            }
        }
    }

    /// Takes the running service out, leaving it stopped.
    fn take_running(&self) -> Result<Running, Failure> {
        let mut phase = lock(&self.phase);
        match std::mem::replace(&mut *phase, Phase::Stopped) {
            Phase::Running(running) => Ok(running),
            Phase::Stopped => Err(Failure::new(
                MICRO_ERR_ALREADY_STOPPED,
                format!("service {} was already stopped", self.name),
            )),
            other => {
                *phase = other;
                Err(Failure::new(
                    MICRO_ERR_STATE,
                    format!("service {} is not running; start it first", self.name),
                ))
            }
        }
    }

    /// Stops the service if it runs, waiting for in-flight requests.
    fn stop(&self) -> Result<(), Failure> {
        runtime::not_on_library_thread("micro_service_stop")?;
        let running = self.take_running()?;
        let result = runtime::engine().and_then(|engine| engine.block_on(running.stop()));
        let _ = self.stopped.send(true);
        result
    }
}

/// Where a handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Thread {
    /// Where the request arrived, after the worker's other tasks have moved to another
    /// thread (`block_in_place`): the handler may block, and the answer needs no hand-off
    /// back to a worker.
    Library,
    /// On the runtime worker serving the request: the handler must not block.
    Worker,
}

/// The handler that hands each request to a C callback and waits for its reply.
fn unary(
    service: &str,
    handler: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut micro_reply),
    data: UserData,
    thread: Thread,
) -> server::Handler {
    let service: Arc<str> = service.into();
    server::raw(move |ctx: Context, body: Bytes| {
        let reply = micro_reply::new(service.clone(), ctx.metadata);
        async move {
            let call = || {
                let lent = reply.lend();
                error::quietly(|| unsafe { handler(data.get(), body.as_ptr(), body.len(), lent) });
            };
            match thread {
                Thread::Library => tokio::task::block_in_place(call),
                Thread::Worker => runtime::on_worker(call),
            }
            reply.answered().await
        }
    })
}

/// The service behind a handle.
unsafe fn service<'a>(svc: *const micro_service) -> Result<&'a micro_service, Failure> {
    unsafe { args::handle(svc, "svc") }
}

/// Makes a service named `name` (UTF-8, not NULL), with options as JSON (NULL for the
/// defaults): `{"version": "latest", "address": "127.0.0.1:0", "metadata": {"k": "v"},
/// "register_ttl": 90, "register_interval": 30, "max_body_size": 4194304}` (seconds, bytes;
/// setting one of the two register times sets the other to its default unless given). It uses
/// the runtime's registry and broker. On success `*out` holds a new service that the caller
/// owns and frees with `micro_service_free`. Any thread.
///
/// # Safety
/// Strings are NULL or NUL-terminated; `out` and `err` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_service_new(
    name: *const c_char,
    options_json: *const c_char,
    out: *mut *mut micro_service,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let name = unsafe { args::text(name, "name") }?;
        let options: Options = unsafe { args::json(options_json, "options_json") }?;
        args::out(out, "out")?;
        let engine = runtime::engine()?;
        let mut service = Service::new(name)
            .registry(engine.registry())
            .broker(engine.broker());
        if let Some(version) = options.version {
            service = service.version(version);
        }
        if let Some(address) = options.address {
            service = service.address(address);
        }
        for (key, value) in options.metadata.unwrap_or_default() {
            service = service.metadata(key, value);
        }
        if options.register_ttl.is_some() || options.register_interval.is_some() {
            service = service.register_ttl(
                Duration::from_secs(options.register_ttl.unwrap_or(90)),
                Duration::from_secs(options.register_interval.unwrap_or(30)),
            );
        }
        if let Some(bytes) = options.max_body_size {
            service = service.max_body_size(bytes);
        }
        let svc = Box::new(micro_service {
            name: name.to_string(),
            phase: Mutex::new(Phase::Building(service)),
            stopped: watch::channel(false).0,
        });
        unsafe { args::put(out, Box::into_raw(svc), "out") }
    })
}

/// Adds a unary handler running on `thread`.
unsafe fn handle(
    svc: *mut micro_service,
    endpoint: *const c_char,
    handler: micro_handler_fn,
    user_data: *mut c_void,
    thread: Thread,
) -> Result<(), Failure> {
    let svc = unsafe { service(svc) }?;
    let endpoint = unsafe { args::text(endpoint, "endpoint") }?;
    let handler = args::callback(handler, "handler")?;
    let raw = unary(&svc.name, handler, UserData(user_data), thread);
    svc.build(|service| service.handle_raw(endpoint, raw))
}

/// Serves the unary endpoint `endpoint` (`Handler.Method`) with `handler`, which gets
/// `user_data` back on every call. `user_data` must stay valid, and usable from any thread,
/// until the service is freed. Only before `micro_service_start` (else `MICRO_ERR_STATE`).
///
/// # Safety
/// `svc` is NULL or a live service; `endpoint` NULL or NUL-terminated; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_service_handle(
    svc: *mut micro_service,
    endpoint: *const c_char,
    handler: micro_handler_fn,
    user_data: *mut c_void,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || unsafe {
        handle(svc, endpoint, handler, user_data, Thread::Library)
    })
}

/// Like `micro_service_handle`, but `handler` runs on the runtime worker serving the request,
/// which saves moving the worker's other tasks to another thread first (see
/// bench/results/ffi.md). Only for handlers that return at once and never block: no I/O, no
/// waiting on locks or other threads; a blocking call of this library made there
/// (`micro_client_call`, ...) fails with `MICRO_ERR_STATE`. Such a handler may still hand its
/// reply to another thread to answer.
///
/// # Safety
/// As `micro_service_handle`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_service_handle_inline(
    svc: *mut micro_service,
    endpoint: *const c_char,
    handler: micro_handler_fn,
    user_data: *mut c_void,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || unsafe {
        handle(svc, endpoint, handler, user_data, Thread::Worker)
    })
}

/// Serves the stream endpoint `endpoint` with `handler`: for each stream opened by a caller it
/// runs on a library thread (it may block) with the call metadata (JSON, borrowed) and the
/// stream, which the library owns: use it with `micro_stream_recv` and `micro_stream_send`
/// until the handler returns, and never free it. The handler returns 0, or an HTTP-like code
/// (400, 404, 500, ...) sent to the caller as an error; `micro_stream_error` sets an error
/// with its own id and detail instead. `user_data` as in
/// `micro_service_handle`. Only before `micro_service_start`.
///
/// # Safety
/// As `micro_service_handle`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_service_stream(
    svc: *mut micro_service,
    endpoint: *const c_char,
    handler: micro_stream_fn,
    user_data: *mut c_void,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let svc = unsafe { service(svc) }?;
        let endpoint = unsafe { args::text(endpoint, "endpoint") }?;
        let handler = args::callback(handler, "handler")?;
        let name = svc.name.clone();
        svc.build(|service| {
            service.stream(endpoint, stream::serve(name, handler, UserData(user_data)))
        })
    })
}

/// Documents `endpoint` (already added): what it does (`description`, UTF-8) and an example
/// request as JSON text (`example_json`; NULL or empty for none). The registry, the gateway's
/// pages and MCP tools publish both. A mistake (unknown endpoint, example not JSON) is reported
/// by `micro_service_start`. Only before `micro_service_start`.
///
/// # Safety
/// As `micro_service_handle`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_service_describe(
    svc: *mut micro_service,
    endpoint: *const c_char,
    description: *const c_char,
    example_json: *const c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let svc = unsafe { service(svc) }?;
        let endpoint = unsafe { args::text(endpoint, "endpoint") }?;
        let description = unsafe { args::text(description, "description") }?;
        let example = unsafe { args::optional_text(example_json, "example_json") }?;
        svc.build(|service| service.describe(endpoint, description, example.unwrap_or("")))
    })
}

/// Sets one metadata entry of `endpoint` (already added), published in the registry: for
/// example `scopes` (comma-separated scopes a caller's token needs), `mcp_name` or
/// `mcp_result`. Only before `micro_service_start`.
///
/// # Safety
/// As `micro_service_handle`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_service_endpoint_metadata(
    svc: *mut micro_service,
    endpoint: *const c_char,
    key: *const c_char,
    value: *const c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let svc = unsafe { service(svc) }?;
        let endpoint = unsafe { args::text(endpoint, "endpoint") }?;
        let key = unsafe { args::text(key, "key") }?;
        let value = unsafe { args::text(value, "value") }?;
        svc.build(|service| service.endpoint_metadata(endpoint, key, value))
    })
}

/// Runs `handler` for each message on `topic` while the service runs; with a `queue` (NULL for
/// none) the instances of the service share the messages. The handler runs on a library
/// thread, as in `micro_broker_subscribe`. `user_data` as in `micro_service_handle`. Only
/// before `micro_service_start`.
///
/// # Safety
/// As `micro_service_handle`; `queue` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_service_subscribe(
    svc: *mut micro_service,
    topic: *const c_char,
    queue: *const c_char,
    handler: micro_message_fn,
    user_data: *mut c_void,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let svc = unsafe { service(svc) }?;
        let topic = unsafe { args::text(topic, "topic") }?;
        let queue = unsafe { args::optional_text(queue, "queue") }?;
        let handler = broker::handler(handler, UserData(user_data))?;
        svc.build(|service| service.subscribe(topic, handler, queue))
    })
}

/// Starts the service in the background: listens, subscribes, registers and serves; returns
/// once it is registered. `MICRO_ERR_STATE` if it already started; a build mistake (see
/// `micro_service_describe`) or a listen failure as its engine error. Any thread but a
/// handler's.
///
/// # Safety
/// `svc` is NULL or a live service; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_service_start(
    svc: *mut micro_service,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || unsafe { service(svc) }?.start())
}

/// Starts the service if not started, then blocks until SIGINT or SIGTERM arrives or another
/// thread calls `micro_service_stop`, and stops it (deregisters, finishes in-flight requests).
/// Returns 0 after a clean stop. The library keeps catching SIGINT and SIGTERM afterwards.
/// Call it from a thread of yours (`MICRO_ERR_STATE` from a handler or callback of the
/// library).
///
/// # Safety
/// As `micro_service_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_service_run(
    svc: *mut micro_service,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let svc = unsafe { service(svc) }?;
        runtime::not_on_library_thread("micro_service_run")?;
        let engine = runtime::engine()?;
        let mut stopped = svc.stopped.subscribe();
        if matches!(*lock(&svc.phase), Phase::Building(_)) {
            svc.start()?;
        }
        engine.block_on(async {
            let signal = micro::service::shutdown_signal();
            tokio::select! {
                _ = signal => {},
                _ = stopped.wait_for(|stopped| *stopped) => {},
            }
            Ok(())
        })?;
        match svc.stop() {
            Err(failure) if failure.code == MICRO_ERR_ALREADY_STOPPED => Ok(()),
            other => other,
        }
    })
}

/// Stops a running service: deregisters, unsubscribes, stops accepting and waits for
/// in-flight requests (so answer pending replies first). `MICRO_ERR_ALREADY_STOPPED` on a
/// second stop; `MICRO_ERR_STATE` if it never started, or when called from a handler or
/// callback of the library (it would wait for its own request). Any thread of yours.
///
/// # Safety
/// As `micro_service_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_service_stop(
    svc: *mut micro_service,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || unsafe { service(svc) }?.stop())
}

/// The address a running service listens on (`127.0.0.1:40123`), as a new string in `*out`
/// for the caller to free with `micro_string_free`. `MICRO_ERR_STATE` unless running.
///
/// # Safety
/// `svc` is NULL or a live service; `out` and `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_service_address(
    svc: *mut micro_service,
    out: *mut *mut c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let svc = unsafe { service(svc) }?;
        args::out(out, "out")?;
        let address = match &*lock(&svc.phase) {
            Phase::Running(running) => running.address().to_string(),
            _ => {
                return Err(Failure::new(
                    MICRO_ERR_STATE,
                    format!("service {} is not running", svc.name),
                ));
            }
        };
        unsafe { args::put(out, buf::string(&address), "out") }
    })
}

/// Stops the service if it runs (errors ignored) and frees it. NULL is ignored. Call it once,
/// after every other call on the service has returned. From a thread of yours it waits for the
/// stop; from one of the library's handler threads the stop finishes in the background.
///
/// # Safety
/// `svc` is NULL or a live service, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_service_free(svc: *mut micro_service) {
    if svc.is_null() {
        return;
    }
    error::quietly(|| {
        // SAFETY: made by `micro_service_new`; the caller gives it up.
        let svc = unsafe { Box::from_raw(svc) };
        if !matches!(*lock(&svc.phase), Phase::Running(_)) {
            return;
        }
        if runtime::not_on_library_thread("").is_ok() {
            let _ = svc.stop();
        } else if let (Ok(running), Ok(engine)) = (svc.take_running(), runtime::engine()) {
            // Freed by one of its own handlers: waiting here for in-flight requests would
            // wait for this one, so the stop finishes in the background.
            engine.handle().spawn(running.stop());
        }
    });
}
