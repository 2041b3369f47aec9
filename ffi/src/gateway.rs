//! The HTTP faces for C: the API gateway (`/api/...`, `/micro/...`, optionally `/mcp`) and
//! the standalone MCP server, over the runtime's registry, store and broker.

use crate::args;
use crate::buf;
use crate::error::{self, Failure, MICRO_ERR_ALREADY_STOPPED, micro_error};
use crate::runtime::{self, lock};
use micro::gateway::{Gateway, Running};
use micro::mcp::Mcp;
use serde::Deserialize;
use std::ffi::c_char;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// A running API gateway. Opaque; stop with `micro_gateway_stop`, free with
/// `micro_gateway_free`.
pub struct micro_gateway {
    server: Server,
}

/// A running MCP server. Opaque; stop with `micro_mcp_stop`, free with `micro_mcp_free`.
pub struct micro_mcp {
    server: Server,
}

/// An HTTP server in the background, until stopped.
struct Server {
    address: SocketAddr,
    running: Mutex<Option<Running>>,
}

impl Server {
    fn new(running: Running) -> Server {
        Server {
            address: running.address(),
            running: Mutex::new(Some(running)),
        }
    }

    fn stop(&self, what: &str) -> Result<(), Failure> {
        let running = lock(&self.running).take().ok_or_else(|| {
            Failure::new(
                MICRO_ERR_ALREADY_STOPPED,
                format!("the {what} was already stopped"),
            )
        })?;
        runtime::engine()?.block_on(async {
            running.stop().await;
            Ok(())
        })
    }
}

/// What `micro_gateway_start` accepts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct GatewayOptions {
    address: String,
    max_body_size: Option<usize>,
    mcp: bool,
    allowed_hosts: Vec<String>,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            address: ":8080".into(),
            max_body_size: None,
            mcp: false,
            allowed_hosts: Vec::new(),
        }
    }
}

/// What `micro_mcp_start` accepts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct McpOptions {
    address: String,
    allowed_hosts: Vec<String>,
    rate_limit: Option<f64>,
    rate_burst: Option<u32>,
}

impl Default for McpOptions {
    fn default() -> Self {
        McpOptions {
            address: ":3000".into(),
            allowed_hosts: Vec::new(),
            rate_limit: None,
            rate_burst: None,
        }
    }
}

/// The tools server over the runtime's components.
fn mcp(engine: &runtime::Engine) -> Result<Mcp, Failure> {
    Ok(Mcp::new(
        engine.registry(),
        engine.store()?,
        engine.broker(),
    ))
}

/// Starts the API gateway in the background with options as JSON (NULL for the defaults):
/// `{"address": ":8080", "max_body_size": 4194304, "mcp": false, "allowed_hosts": []}`
/// (`:port` means 127.0.0.1:port, port 0 picks a free one; `mcp` serves `/mcp` too; every route
/// answers only the loopback names, the bound address and `allowed_hosts`). On success `*out` holds the gateway,
/// owned by the caller (`micro_gateway_free`). Any thread but a runtime worker.
///
/// # Safety
/// `options_json` NULL or NUL-terminated; `out`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_gateway_start(
    options_json: *const c_char,
    out: *mut *mut micro_gateway,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let options: GatewayOptions = unsafe { args::json(options_json, "options_json") }?;
        args::out(out, "out")?;
        let engine = runtime::engine()?;
        let mut gateway = Gateway::new(engine.registry(), engine.store()?, engine.broker());
        if let Some(bytes) = options.max_body_size {
            gateway = gateway.max_body_size(bytes);
        }
        if options.mcp {
            gateway = gateway.mcp(Arc::new(mcp(&engine)?));
        }
        gateway = gateway.allowed_hosts(options.allowed_hosts);
        let running = engine.block_on(gateway.start(&options.address))?;
        let gateway = Box::new(micro_gateway {
            server: Server::new(running),
        });
        unsafe { args::put(out, Box::into_raw(gateway), "out") }
    })
}

/// Starts the MCP server (Streamable HTTP at `/mcp`, `GET /mcp/tools`, `POST /mcp/call`) in
/// the background, with options as JSON (NULL for the defaults): `{"address": ":3000",
/// "allowed_hosts": [], "rate_limit": 10.0, "rate_burst": 20}` (calls per second per tool,
/// none by default). On success `*out` holds it, owned by the caller (`micro_mcp_free`).
///
/// # Safety
/// As `micro_gateway_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_mcp_start(
    options_json: *const c_char,
    out: *mut *mut micro_mcp,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let options: McpOptions = unsafe { args::json(options_json, "options_json") }?;
        args::out(out, "out")?;
        let engine = runtime::engine()?;
        let mut mcp = mcp(&engine)?;
        if let Some(per_second) = options.rate_limit {
            mcp = mcp.rate_limit(per_second, options.rate_burst.unwrap_or(1));
        }
        let started =
            micro::mcp::http::start(Arc::new(mcp), &options.address, options.allowed_hosts);
        let running = engine.block_on(started)?;
        let mcp = Box::new(micro_mcp {
            server: Server::new(running),
        });
        unsafe { args::put(out, Box::into_raw(mcp), "out") }
    })
}

/// Stores in `*out` the address the gateway listens on (`127.0.0.1:8080`), a new string the
/// caller frees with `micro_string_free`.
///
/// # Safety
/// `gw` NULL or live; `out`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_gateway_address(
    gw: *mut micro_gateway,
    out: *mut *mut c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let gw = unsafe { args::handle(gw, "gw") }?;
        let address = buf::string(&gw.server.address.to_string());
        unsafe { args::put(out, address, "out") }
    })
}

/// Stores in `*out` the address the MCP server listens on, as `micro_gateway_address`.
///
/// # Safety
/// `mcp` NULL or live; `out`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_mcp_address(
    mcp: *mut micro_mcp,
    out: *mut *mut c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let mcp = unsafe { args::handle(mcp, "mcp") }?;
        let address = buf::string(&mcp.server.address.to_string());
        unsafe { args::put(out, address, "out") }
    })
}

/// Stops the gateway: stops accepting, lets requests in flight finish (at most 5 s).
/// `MICRO_ERR_ALREADY_STOPPED` the second time. Any thread but a runtime worker.
///
/// # Safety
/// `gw` NULL or live; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_gateway_stop(
    gw: *mut micro_gateway,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        unsafe { args::handle(gw, "gw") }?.server.stop("gateway")
    })
}

/// Stops the MCP server, as `micro_gateway_stop`.
///
/// # Safety
/// `mcp` NULL or live; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_mcp_stop(mcp: *mut micro_mcp, err: *mut *mut micro_error) -> i32 {
    error::run(err, || {
        unsafe { args::handle(mcp, "mcp") }?
            .server
            .stop("MCP server")
    })
}

/// Stops the gateway if it runs and frees it. NULL is ignored.
///
/// # Safety
/// `gw` NULL or live, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_gateway_free(gw: *mut micro_gateway) {
    if gw.is_null() {
        return;
    }
    // SAFETY: made by `micro_gateway_start`; the caller gives it up.
    error::quietly(|| {
        let _ = unsafe { Box::from_raw(gw) }.server.stop("gateway");
    });
}

/// Stops the MCP server if it runs and frees it. NULL is ignored.
///
/// # Safety
/// `mcp` NULL or live, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_mcp_free(mcp: *mut micro_mcp) {
    if mcp.is_null() {
        return;
    }
    // SAFETY: made by `micro_mcp_start`; the caller gives it up.
    error::quietly(|| {
        let _ = unsafe { Box::from_raw(mcp) }.server.stop("MCP server");
    });
}
