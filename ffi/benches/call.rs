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
//! After criterion's runs, the kinds are measured again in alternating rounds, each kind with a
//! new client every round, so that load from elsewhere on the machine and where connections
//! land on the workers fall on all of them alike (the figures in bench/results/ffi.md).

use bytes::Bytes;
use criterion::Criterion;
use micro::client::{CallOptions, RawRequest};
use micro::registry::Registry;
use micro::{Client, Service, server};
use micro_ffi::buf::{micro_buf, micro_buf_free};
use micro_ffi::client::{micro_client, micro_client_call, micro_client_free, micro_client_new};
use micro_ffi::reply::{micro_reply, micro_reply_send};
use micro_ffi::runtime::micro_runtime_start;
use micro_ffi::service::{
    micro_service, micro_service_handle, micro_service_handle_inline, micro_service_new,
    micro_service_start,
};
use std::ffi::{CStr, c_void};
use std::ptr;
use std::sync::Arc;
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

/// A caller: a client of the C ABI, or a Rust one with the names it calls as Rust text (so
/// that the baseline does not pay for reading C strings).
enum Caller {
    C(*mut micro_client),
    Rust {
        client: Client,
        service: &'static str,
        endpoint: &'static str,
    },
}

impl Drop for Caller {
    fn drop(&mut self) {
        if let Caller::C(client) = self {
            unsafe { micro_client_free(*client) };
        }
    }
}

/// A kind of call: its name, whether the caller is a C client, and the endpoint it calls.
struct Kind {
    name: &'static str,
    c_client: bool,
    service: &'static CStr,
    endpoint: &'static CStr,
}

/// The kinds of call, the baseline (Rust to Rust) last.
const KINDS: [Kind; 6] = [
    Kind {
        name: "C to C, handler that may block",
        c_client: true,
        service: c"c-echo",
        endpoint: c"Echo.Blocking",
    },
    Kind {
        name: "C to C, inline handler",
        c_client: true,
        service: c"c-echo",
        endpoint: c"Echo.Inline",
    },
    Kind {
        name: "C client to Rust handler",
        c_client: true,
        service: c"rust-echo",
        endpoint: c"Echo.Inline",
    },
    Kind {
        name: "Rust client to inline C handler",
        c_client: false,
        service: c"c-echo",
        endpoint: c"Echo.Inline",
    },
    Kind {
        name: "Rust to Rust (control: the baseline)",
        c_client: false,
        service: c"rust-echo",
        endpoint: c"Echo.Inline",
    },
    Kind {
        name: "Rust to Rust",
        c_client: false,
        service: c"rust-echo",
        endpoint: c"Echo.Inline",
    },
];

/// Both services, on the library's runtime.
struct Bench {
    runtime: Handle,
    registry: Arc<dyn Registry>,
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
        }
        let (runtime, registry) = micro_ffi::runtime::shared().expect("the runtime runs");
        let echo = server::raw(|_ctx, body: Bytes| async move { Ok(body) });
        let service = Service::new("rust-echo")
            .registry(registry.clone())
            .handle_raw("Echo.Inline", echo);
        let rust_service = runtime.block_on(service.start()).unwrap();
        Bench {
            runtime,
            registry,
            options: CallOptions::default(),
            _rust_service: rust_service,
        }
    }

    /// A new client for `kind`, with connections of its own once it has called.
    fn caller(&self, kind: &Kind) -> Caller {
        if !kind.c_client {
            return Caller::Rust {
                client: Client::new(self.registry.clone()),
                service: kind.service.to_str().unwrap(),
                endpoint: kind.endpoint.to_str().unwrap(),
            };
        }
        let mut client: *mut micro_client = ptr::null_mut();
        check(
            unsafe { micro_client_new(ptr::null(), &mut client, ptr::null_mut()) },
            "client",
        );
        Caller::C(client)
    }

    /// One call of `kind` by `caller`.
    fn call(&self, caller: &Caller, kind: &Kind) {
        match caller {
            Caller::C(client) => self.c_call(*client, kind.service, kind.endpoint),
            Caller::Rust {
                client,
                service,
                endpoint,
            } => self.rust_call(client, service, endpoint),
        }
    }

    /// One call through the C ABI to `endpoint` of `service`.
    fn c_call(&self, client: *mut micro_client, service: &CStr, endpoint: &CStr) {
        let mut rsp = micro_buf {
            ptr: ptr::null_mut(),
            len: 0,
        };
        let status = unsafe {
            micro_client_call(
                client,
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
    fn rust_call(&self, client: &Client, service: &str, endpoint: &str) {
        let request = RawRequest {
            service: service.into(),
            endpoint: endpoint.into(),
            body: Bytes::copy_from_slice(REQUEST),
        };
        let rsp = self
            .runtime
            .block_on(client.call_raw(request, &self.options))
            .unwrap();
        assert_eq!(rsp.body.len(), REQUEST.len());
    }
}

/// CPU time used by the whole process so far (every thread: caller, workers, handlers).
fn cpu_time() -> Duration {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// The kinds in alternating rounds, each round in another order and each kind with a new
/// client (so new connections, whose tasks land on the workers anew: where they land moves a
/// call by several microseconds, for the whole life of the connection). Per kind: the median
/// over rounds of the mean wall time per call and of the process CPU time per call, and the
/// median (with the quartiles) over rounds of its difference from the baseline measured in
/// the same round (so that a slower stretch of the machine, which falls on both, cancels out).
fn interleaved(bench: &Bench) {
    const ROUNDS: usize = 200;
    const WARM_UP: u32 = 20;
    const CALLS: u32 = 500;
    let mut wall = vec![Vec::with_capacity(ROUNDS); KINDS.len()];
    let mut cpu = vec![Vec::with_capacity(ROUNDS); KINDS.len()];
    for round in 0..ROUNDS {
        // Each round starts with another kind, so that no kind always follows the same one.
        for k in (0..KINDS.len()).map(|k| (k + round) % KINDS.len()) {
            let (kind, caller) = (&KINDS[k], bench.caller(&KINDS[k]));
            for _ in 0..WARM_UP {
                bench.call(&caller, kind);
            }
            let (start, start_cpu) = (Instant::now(), cpu_time());
            for _ in 0..CALLS {
                bench.call(&caller, kind);
            }
            wall[k].push(start.elapsed().as_secs_f64() * 1e6 / f64::from(CALLS));
            cpu[k].push((cpu_time() - start_cpu).as_secs_f64() * 1e6 / f64::from(CALLS));
        }
    }
    let quartiles = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        let at = |q: usize| values[values.len() * q / 4];
        [at(1), at(2), at(3)]
    };
    let base = KINDS.len() - 1;
    let extra = |times: &[Vec<f64>], kind: usize| {
        quartiles(
            times[kind]
                .iter()
                .zip(&times[base])
                .map(|(k, b)| k - b)
                .collect(),
        )
    };
    println!(
        "\ninterleaved: medians of {ROUNDS} rounds of {CALLS} calls each, per call; extra over the baseline: median [quartiles]"
    );
    for (k, kind) in KINDS.iter().enumerate() {
        let [wall_low, wall_extra, wall_high] = extra(&wall, k);
        let [_, cpu_extra, _] = extra(&cpu, k);
        println!(
            "  {:<37} wall {:>6.1} us ({wall_extra:+.2} [{wall_low:+.2}, {wall_high:+.2}])  cpu {:>6.1} us ({cpu_extra:+.2})",
            kind.name,
            quartiles(wall[k].clone())[1],
            quartiles(cpu[k].clone())[1],
        );
    }
}

fn main() {
    let bench = Bench::new();
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("in-process call");
    for kind in &KINDS {
        let caller = bench.caller(kind);
        group.bench_function(kind.name, |b| b.iter(|| bench.call(&caller, kind)));
    }
    group.finish();
    criterion.final_summary();
    interleaved(&bench);
}
