//! An in-process call through the C ABI against the same call made directly in Rust: a client
//! calls an echo endpoint (16-byte request) of a service in the same process, over loopback,
//! with the memory registry, the call blocking the bench thread. Every kind runs on the
//! library's own runtime (two workers), so the only difference between them is the C ABI:
//!
//! - C to C: `micro_client_call` to an `extern "C"` handler answering with `micro_reply_send`,
//!   registered with `micro_service_handle_inline` (runs on the worker) or
//!   `micro_service_handle` (may block: the worker's other tasks move away first);
//! - Rust to Rust: `Client::call_raw` to a raw Rust handler (`server::raw`), the baseline;
//! - C to Rust and Rust to C: each side of the C ABI alone.
//!
//! After criterion's runs, the kinds are measured again in alternating rounds, so that load
//! from elsewhere on the machine falls on all of them alike (the figures in
//! bench/results/ffi.md).

use bytes::Bytes;
use criterion::Criterion;
use micro::client::{CallOptions, RawRequest};
use micro::{Client, Service, server};
use micro_ffi::buf::{micro_buf, micro_buf_free};
use micro_ffi::client::{micro_client, micro_client_call, micro_client_new};
use micro_ffi::runtime::micro_runtime_start;
use micro_ffi::service::{
    micro_reply, micro_reply_send, micro_service, micro_service_handle,
    micro_service_handle_inline, micro_service_new, micro_service_start,
};
use std::ffi::{CStr, c_void};
use std::ptr;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;

const REQUEST: &[u8] = br#"{"name":"Alice"}"#;

/// The C-ABI handler: answers with the request.
unsafe extern "C" fn echo(
    _user_data: *mut c_void,
    req: *const u8,
    req_len: usize,
    reply: *mut micro_reply,
) {
    unsafe { micro_reply_send(reply, req, req_len, ptr::null_mut()) };
}

fn check(status: i32, what: &str) {
    assert_eq!(status, 0, "{what} failed with status {status}");
}

/// A kind of call: its name and one call of it.
type Kind<'a> = (&'static str, Box<dyn Fn() + 'a>);

/// Both clients and both services, on the library's runtime.
struct Bench {
    c_client: *mut micro_client,
    runtime: Handle,
    client: Client,
    options: CallOptions,
    _rust_service: micro::service::Running,
}

impl Bench {
    fn new() -> Bench {
        unsafe {
            let options = c"{\"registry\":\"memory\",\"broker\":\"memory\",\"store\":\"memory\",\"worker_threads\":2}";
            check(
                micro_runtime_start(options.as_ptr(), ptr::null_mut()),
                "runtime",
            );
            let mut svc: *mut micro_service = ptr::null_mut();
            check(
                micro_service_new(c"c-echo".as_ptr(), ptr::null(), &mut svc, ptr::null_mut()),
                "service",
            );
            let handler = Some(echo as _);
            let (blocking, inline) = (c"Echo.Blocking".as_ptr(), c"Echo.Inline".as_ptr());
            check(
                micro_service_handle(svc, blocking, handler, ptr::null_mut(), ptr::null_mut()),
                "handle",
            );
            check(
                micro_service_handle_inline(svc, inline, handler, ptr::null_mut(), ptr::null_mut()),
                "handle_inline",
            );
            check(micro_service_start(svc, ptr::null_mut()), "start");
            let mut c_client: *mut micro_client = ptr::null_mut();
            check(
                micro_client_new(ptr::null(), &mut c_client, ptr::null_mut()),
                "client",
            );
            let (runtime, registry) = micro_ffi::runtime::shared().expect("the runtime runs");
            let echo = server::raw(|_ctx, body: Bytes| async move { Ok(body) });
            let service = Service::new("rust-echo")
                .registry(registry.clone())
                .handle_raw("Echo.Inline", echo);
            let rust_service = runtime.block_on(service.start()).unwrap();
            Bench {
                c_client,
                runtime,
                client: Client::new(registry),
                options: CallOptions::default(),
                _rust_service: rust_service,
            }
        }
    }

    /// One call through the C ABI to `endpoint` of `service`.
    fn c_call(&self, service: &CStr, endpoint: &CStr) {
        let mut rsp = micro_buf {
            ptr: ptr::null_mut(),
            len: 0,
        };
        let status = unsafe {
            micro_client_call(
                self.c_client,
                service.as_ptr(),
                endpoint.as_ptr(),
                REQUEST.as_ptr(),
                REQUEST.len(),
                ptr::null(),
                &mut rsp,
                ptr::null_mut(),
            )
        };
        assert_eq!((status, rsp.len), (0, REQUEST.len()));
        unsafe { micro_buf_free(&mut rsp) };
    }

    /// One call made directly in Rust to `endpoint` of `service`.
    fn rust_call(&self, service: &str, endpoint: &str) {
        let request = RawRequest {
            service: service.into(),
            endpoint: endpoint.into(),
            body: Bytes::copy_from_slice(REQUEST),
        };
        let rsp = self
            .runtime
            .block_on(self.client.call_raw(request, &self.options))
            .unwrap();
        assert_eq!(rsp.body.len(), REQUEST.len());
    }

    /// The kinds of call, the baseline (Rust to Rust) last.
    fn kinds(&self) -> [Kind<'_>; 6] {
        [
            (
                "C to C, handler that may block",
                Box::new(|| self.c_call(c"c-echo", c"Echo.Blocking")),
            ),
            (
                "C to C, inline handler",
                Box::new(|| self.c_call(c"c-echo", c"Echo.Inline")),
            ),
            (
                "C client to Rust handler",
                Box::new(|| self.c_call(c"rust-echo", c"Echo.Inline")),
            ),
            (
                "Rust client to inline C handler",
                Box::new(|| self.rust_call("c-echo", "Echo.Inline")),
            ),
            (
                "Rust to Rust (control: the baseline)",
                Box::new(|| self.rust_call("rust-echo", "Echo.Inline")),
            ),
            (
                "Rust to Rust",
                Box::new(|| self.rust_call("rust-echo", "Echo.Inline")),
            ),
        ]
    }
}

/// CPU time used by the whole process so far (every thread: caller, workers, handlers).
fn cpu_time() -> Duration {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// The kinds in alternating rounds, each round in another order: per kind, the median over rounds of the mean wall time per
/// call and of the process CPU time per call, and the median over rounds of its difference
/// from the baseline measured in the same round (so that a slower stretch of the machine,
/// which falls on both, cancels out).
fn interleaved(bench: &Bench) {
    const ROUNDS: usize = 100;
    const CALLS: u32 = 500;
    let kinds = bench.kinds();
    let mut wall = vec![Vec::with_capacity(ROUNDS); kinds.len()];
    let mut cpu = vec![Vec::with_capacity(ROUNDS); kinds.len()];
    for round in 0..ROUNDS {
        // Each round starts with another kind, so that no kind always follows the same one.
        for kind in (0..kinds.len()).map(|k| (k + round) % kinds.len()) {
            let call = &kinds[kind].1;
            let (start, start_cpu) = (Instant::now(), cpu_time());
            for _ in 0..CALLS {
                call();
            }
            wall[kind].push(start.elapsed().as_secs_f64() * 1e6 / f64::from(CALLS));
            cpu[kind].push((cpu_time() - start_cpu).as_secs_f64() * 1e6 / f64::from(CALLS));
        }
    }
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
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
    println!("\ninterleaved: medians of {ROUNDS} rounds of {CALLS} calls each, per call");
    for (kind, (name, _)) in kinds.iter().enumerate() {
        println!(
            "  {name:<37} wall {:>6.1} us ({:+.2})  cpu {:>6.1} us ({:+.2})",
            median(wall[kind].clone()),
            extra(&wall, kind),
            median(cpu[kind].clone()),
            extra(&cpu, kind),
        );
    }
}

fn main() {
    let bench = Bench::new();
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("in-process call");
    for (name, call) in bench.kinds() {
        group.bench_function(name, |b| b.iter(&call));
    }
    group.finish();
    criterion.final_summary();
    interleaved(&bench);
}
