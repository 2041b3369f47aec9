//! A Python handler called in-process against a Rust handler: one process embeds Python, loads
//! `go_micro` (its `_native` module from this crate, so both share one engine runtime) and
//! serves `Helloworld.Call` four ways: a Rust handler (the baseline, as
//! examples/helloworld answers it), a sync Python handler, the same declared `blocking=True`,
//! and an async one (dataclass request and response, declared with `@service.handle` as a
//! user would). A Rust client on the bench
//! thread calls each in turn over loopback, with the memory registry, in rotating rounds so
//! that load from elsewhere on the machine falls on all of them alike, and prints per kind the
//! median over rounds of the wall and process CPU time per call, and the median of its
//! per-round differences from the baseline: the Python handler's overhead per call (the
//! figures in bench/results/python.md).
//!
//! `cargo bench -p micro-py --bench handler`; `-- --rounds N --calls N` to change the sampling.

use _native::{components::Registry, runtime};
use bytes::Bytes;
use micro::client::{CallOptions, RawRequest};
use micro::server::Context;
use micro::{Client, Service};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;

const REQUEST: &[u8] = br#"{"name":"Alice"}"#;
const RESPONSE: &[u8] = br#"{"msg":"Hello Alice"}"#;

/// The Python services: `pyhello` with a sync handler, `pyhello-async` with an async one run
/// on an event loop in a thread of its own (as `await service.start()` from a loop would).
const SERVICES: &std::ffi::CStr = cr#"
import asyncio
import threading
from dataclasses import dataclass

import go_micro


@dataclass
class Request:
    name: str


@dataclass
class Response:
    msg: str


sync = go_micro.Service("pyhello")


@sync.handle("Helloworld.Call")
def call(req: Request) -> Response:
    return Response(msg=f"Hello {req.name}")


blocking = go_micro.Service("pyhello-blocking")


@blocking.handle("Helloworld.Call", blocking=True)
def call_blocking(req: Request) -> Response:
    return Response(msg=f"Hello {req.name}")


asynchronous = go_micro.Service("pyhello-async")


@asynchronous.handle("Helloworld.Call")
async def call_async(req: Request) -> Response:
    return Response(msg=f"Hello {req.name}")


loop = asyncio.new_event_loop()
threading.Thread(target=loop.run_forever, daemon=True).start()
for service in (sync, blocking, asynchronous):
    asyncio.run_coroutine_threadsafe(service.start(), loop).result()
"#;

/// Whom to greet.
#[derive(Deserialize, JsonSchema)]
struct Request {
    name: String,
}

/// The greeting.
#[derive(Serialize, JsonSchema)]
struct Response {
    msg: String,
}

/// The baseline: the Rust helloworld's handler.
async fn call(_ctx: Context, req: Request) -> micro::Result<Response> {
    Ok(Response {
        msg: format!("Hello {}", req.name),
    })
}

/// The client, and the running services (kept so they keep serving).
struct Bench {
    runtime: Handle,
    client: Client,
    options: CallOptions,
    _services: (micro::service::Running, Py<PyModule>),
}

impl Bench {
    fn new() -> Bench {
        // SAFETY: no other thread runs yet.
        unsafe {
            std::env::set_var("MICRO_REGISTRY", "memory");
            std::env::set_var("MICRO_BROKER", "memory");
        }
        Python::initialize();
        let (runtime, registry, python) = Python::attach(|py| -> PyResult<_> {
            let sys = py.import("sys")?;
            sys.getattr("path")?
                .call_method1("insert", (0, env!("CARGO_MANIFEST_DIR")))?;
            let native = pyo3::wrap_pymodule!(_native::_native)(py);
            sys.getattr("modules")?
                .cast::<PyDict>()?
                .set_item("go_micro._native", native)?;
            let python = PyModule::from_code(py, SERVICES, c"services.py", c"services")?;
            Ok((
                runtime::handle(py)?,
                Registry::or_shared(py, None)?,
                python.unbind(),
            ))
        })
        .unwrap_or_else(|err| panic!("the Python services did not start: {err}"));
        let rust = Service::new("rust-hello")
            .registry(registry.clone())
            .handle("Helloworld.Call", call);
        let rust = runtime
            .block_on(rust.start())
            .expect("the Rust service starts");
        Bench {
            runtime,
            client: Client::new(registry),
            options: CallOptions::default(),
            _services: (rust, python),
        }
    }

    /// One `Helloworld.Call` to `service`, blocking this thread.
    fn call(&self, service: &str) {
        let request = RawRequest {
            service: service.into(),
            endpoint: "Helloworld.Call".into(),
            body: Bytes::from_static(REQUEST),
        };
        let rsp = self
            .runtime
            .block_on(self.client.call_raw(request, &self.options))
            .unwrap_or_else(|err| panic!("{service}: {err}"));
        assert_eq!(rsp.body.as_ref(), RESPONSE, "{service}");
    }
}

/// CPU time used by the whole process so far (every thread: caller, workers, handlers).
fn cpu_time() -> Duration {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// A number following `flag` on the command line, else `default`.
fn arg(flag: &str, default: u32) -> u32 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The median of `values`.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let (rounds, calls) = (arg("--rounds", 60) as usize, arg("--calls", 500));
    let bench = Bench::new();
    let kinds = [
        ("Python handler, sync", "pyhello"),
        ("Python, sync, blocking=True", "pyhello-blocking"),
        ("Python handler, async", "pyhello-async"),
        ("Rust handler (baseline)", "rust-hello"),
    ];
    for (_, service) in &kinds {
        for _ in 0..100 {
            bench.call(service);
        }
    }
    // Per kind and round, the mean wall and CPU time of one call, in µs.
    let mut wall = vec![Vec::with_capacity(rounds); kinds.len()];
    let mut cpu = vec![Vec::with_capacity(rounds); kinds.len()];
    for round in 0..rounds {
        // Each round starts with another kind, so that none always follows the same one.
        for kind in (0..kinds.len()).map(|k| (k + round) % kinds.len()) {
            let (start, start_cpu) = (Instant::now(), cpu_time());
            for _ in 0..calls {
                bench.call(kinds[kind].1);
            }
            let per_call = |time: Duration| time.as_secs_f64() * 1e6 / f64::from(calls);
            wall[kind].push(per_call(start.elapsed()));
            cpu[kind].push(per_call(cpu_time() - start_cpu));
        }
    }
    // What a kind adds to the baseline: the median of its per-round differences.
    let base = kinds.len() - 1;
    let extra = |times: &[Vec<f64>], kind: usize| {
        median(
            times[kind]
                .iter()
                .zip(&times[base])
                .map(|(k, b)| k - b)
                .collect(),
        )
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "medians of {rounds} rotating rounds of {calls} calls each, per call (load {}, Python {})",
        load.split(' ').take(3).collect::<Vec<_>>().join(" "),
        Python::attach(|py| py
            .version()
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_string())
    );
    for (kind, (name, _)) in kinds.iter().enumerate() {
        println!(
            "  {name:<28} wall {:>6.1} us ({:+.1})  cpu {:>6.1} us ({:+.1})",
            median(wall[kind].clone()),
            extra(&wall, kind),
            median(cpu[kind].clone()),
            extra(&cpu, kind),
        );
    }
}
