//! The registry for C: the services the runtime's registry knows, as go-micro's JSON.

use crate::args;
use crate::buf;
use crate::error::{self, micro_error};
use crate::runtime;
use micro::registry::Service;
use std::ffi::c_char;
use std::time::Duration;

/// Stores in `*out` a JSON array of every known service (`[{"name", "version", "metadata",
/// "endpoints", "nodes"}]`, go-micro's shape), a new string the caller frees with
/// `micro_string_free`. Any thread but a runtime worker.
///
/// # Safety
/// `out`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_registry_list(
    out: *mut *mut c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        args::out(out, "out")?;
        let engine = runtime::engine()?;
        let services = engine.block_on(engine.registry().list_services())?;
        unsafe { args::put(out, buf::json_string(&services)?, "out") }
    })
}

/// Stores in `*out` a JSON array of every version of the service `name`, with its nodes and
/// endpoints, as `micro_registry_list` does; 404 when it is unknown.
///
/// # Safety
/// `name` NULL or NUL-terminated; `out`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_registry_get(
    name: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let name = unsafe { args::text(name, "name") }?;
        args::out(out, "out")?;
        let engine = runtime::engine()?;
        let services = engine.block_on(engine.registry().get_service(name))?;
        unsafe { args::put(out, buf::json_string(&services)?, "out") }
    })
}

/// Registers a service given as go-micro's JSON (one object of `micro_registry_get`'s array),
/// for `ttl_seconds` (0: until deregistered). For services running elsewhere; services made
/// with `micro_service_new` register themselves. Any thread but a runtime worker.
///
/// # Safety
/// `service_json` NULL or NUL-terminated; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_registry_register(
    service_json: *const c_char,
    ttl_seconds: u64,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let service: Service = args::parse(
            unsafe { args::text(service_json, "service_json") }?,
            "service_json",
        )?;
        let ttl = (ttl_seconds > 0).then(|| Duration::from_secs(ttl_seconds));
        let engine = runtime::engine()?;
        engine.block_on(engine.registry().register(&service, ttl))
    })
}

/// Removes the nodes of a service given as go-micro's JSON from the registry.
///
/// # Safety
/// As `micro_registry_register`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_registry_deregister(
    service_json: *const c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let service: Service = args::parse(
            unsafe { args::text(service_json, "service_json") }?,
            "service_json",
        )?;
        let engine = runtime::engine()?;
        engine.block_on(engine.registry().deregister(&service))
    })
}
