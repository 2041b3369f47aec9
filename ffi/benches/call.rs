//! An in-process call through the C ABI against the same call made directly in Rust: a client
//! calls an echo endpoint of a service in the same process, over loopback, with the memory
//! registry. Through the C ABI the handler is an `extern "C"` callback answering through its
//! reply handle (on a library thread, or inline on the worker) and the call is
//! `micro_client_call`; directly, the handler is a raw Rust handler and the call
//! `Client::call_raw`. Both runtimes have two worker threads and both
//! calls are made from the bench thread, blocking on the runtime. After criterion's runs, the
//! three kinds are measured again in alternating rounds (the figures in bench/results/ffi.md).

use bytes::Bytes;
use criterion::Criterion;
use micro::client::{CallOptions, RawRequest};
use micro::registry::Memory;
use micro::{Client, Service, server};
use micro_ffi::buf::{micro_buf, micro_buf_free};
use micro_ffi::client::{micro_client, micro_client_call, micro_client_new};
use micro_ffi::runtime::micro_runtime_start;
use micro_ffi::service::{
    micro_reply, micro_reply_send, micro_service, micro_service_handle,
    micro_service_handle_inline, micro_service_new, micro_service_start,
};
use std::ffi::{CStr, c_char, c_void};
use std::ptr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const REQUEST: &[u8] = br#"{"name":"Alice"}"#;

/// The C-ABI handler: answers with the request.
unsafe extern "C" fn echo(
    _user_data: *mut c_void,
    req: *const u8,
    req_len: usize,
    _metadata_json: *const c_char,
    reply: *mut micro_reply,
) {
    unsafe { micro_reply_send(reply, req, req_len, ptr::null_mut()) };
}

fn check(status: i32, what: &str) {
    assert_eq!(status, 0, "{what} failed with status {status}");
}

/// A service with the C handler and a client, both through the C ABI.
fn c_abi() -> *mut micro_client {
    unsafe {
        let options = c"{\"registry\":\"memory\",\"broker\":\"memory\",\"store\":\"memory\",\"worker_threads\":2}";
        check(
            micro_runtime_start(options.as_ptr(), ptr::null_mut()),
            "runtime",
        );
        let mut svc: *mut micro_service = ptr::null_mut();
        check(
            micro_service_new(c"ffi-echo".as_ptr(), ptr::null(), &mut svc, ptr::null_mut()),
            "service",
        );
        let endpoint = c"Echo.Call".as_ptr();
        let handler = Some(echo as _);
        check(
            micro_service_handle(svc, endpoint, handler, ptr::null_mut(), ptr::null_mut()),
            "handle",
        );
        let inline = c"Echo.Inline".as_ptr();
        check(
            micro_service_handle_inline(svc, inline, handler, ptr::null_mut(), ptr::null_mut()),
            "handle_inline",
        );
        check(micro_service_start(svc, ptr::null_mut()), "start");
        let mut client: *mut micro_client = ptr::null_mut();
        check(
            micro_client_new(ptr::null(), &mut client, ptr::null_mut()),
            "client",
        );
        client
    }
}

/// One call through the C ABI to `endpoint` of the C service.
fn c_call(client: *mut micro_client, endpoint: &CStr) {
    let mut rsp = micro_buf {
        ptr: ptr::null_mut(),
        len: 0,
    };
    let status = unsafe {
        micro_client_call(
            client,
            c"ffi-echo".as_ptr(),
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

/// A Rust service and client on a runtime of their own, like the library's.
struct Direct {
    runtime: tokio::runtime::Runtime,
    client: Client,
    options: CallOptions,
    _running: micro::service::Running,
}

impl Direct {
    fn new() -> Direct {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let registry = Arc::new(Memory::new());
        let echo = server::raw(|_ctx, body: Bytes| async move { Ok(body) });
        let service = Service::new("rust-echo")
            .registry(registry.clone())
            .handle_raw("Echo.Call", echo);
        let running = runtime.block_on(service.start()).unwrap();
        Direct {
            runtime,
            client: Client::new(registry),
            options: CallOptions::default(),
            _running: running,
        }
    }

    /// One call made directly in Rust.
    fn call(&self) {
        let request = RawRequest {
            service: "rust-echo".into(),
            endpoint: "Echo.Call".into(),
            body: Bytes::copy_from_slice(REQUEST),
        };
        let rsp = self
            .runtime
            .block_on(self.client.call_raw(request, &self.options))
            .unwrap();
        assert_eq!(rsp.body.len(), REQUEST.len());
    }
}

const VIA_LIBRARY_THREAD: &str = "C ABI: micro_client_call to a C handler";
const VIA_WORKER: &str = "C ABI: micro_client_call to an inline C handler";
const DIRECT: &str = "Rust: Client::call_raw to a Rust handler";

fn calls(c: &mut Criterion, client: *mut micro_client, direct: &Direct) {
    let mut group = c.benchmark_group("in-process call");
    group.bench_function(VIA_LIBRARY_THREAD, |b| {
        b.iter(|| c_call(client, c"Echo.Call"))
    });
    group.bench_function(VIA_WORKER, |b| b.iter(|| c_call(client, c"Echo.Inline")));
    group.bench_function(DIRECT, |b| b.iter(|| direct.call()));
    group.finish();
}

/// CPU time used by the whole process so far (every thread: caller, workers, handlers).
fn cpu_time() -> Duration {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// The three kinds of call in alternating rounds, so that load from elsewhere on the machine
/// falls on all of them alike: per kind, the median over rounds of the mean wall time per call
/// and of the process CPU time per call (less sensitive to that load).
fn interleaved(client: *mut micro_client, direct: &Direct) {
    const ROUNDS: usize = 40;
    const CALLS: u32 = 300;
    let kinds: [(&str, &dyn Fn()); 3] = [
        (VIA_LIBRARY_THREAD, &|| c_call(client, c"Echo.Call")),
        (VIA_WORKER, &|| c_call(client, c"Echo.Inline")),
        (DIRECT, &|| direct.call()),
    ];
    let mut wall = vec![Vec::with_capacity(ROUNDS); kinds.len()];
    let mut cpu = vec![Vec::with_capacity(ROUNDS); kinds.len()];
    for _ in 0..ROUNDS {
        for (kind, (_, call)) in kinds.iter().enumerate() {
            let (start, start_cpu) = (Instant::now(), cpu_time());
            for _ in 0..CALLS {
                call();
            }
            wall[kind].push(start.elapsed() / CALLS);
            cpu[kind].push((cpu_time() - start_cpu) / CALLS);
        }
    }
    let us = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2].as_secs_f64() * 1e6
    };
    let (direct_wall, direct_cpu) = (us(&mut wall[2]), us(&mut cpu[2]));
    println!("\ninterleaved: medians of {ROUNDS} rounds of {CALLS} calls each, per call");
    for (kind, (name, _)) in kinds.iter().enumerate() {
        let (w, c) = (us(&mut wall[kind]), us(&mut cpu[kind]));
        println!(
            "  {name:<50} wall {w:>7.1} us ({:+.1})  cpu {c:>6.1} us ({:+.1})",
            w - direct_wall,
            c - direct_cpu
        );
    }
}

fn main() {
    let client = c_abi();
    let direct = Direct::new();
    let mut criterion = Criterion::default().configure_from_args();
    calls(&mut criterion, client, &direct);
    criterion.final_summary();
    interleaved(client, &direct);
}
