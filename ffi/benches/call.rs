//! An in-process call through the C ABI against the same call made directly in Rust: a client
//! calls an echo endpoint of a service in the same process, over loopback, with the memory
//! registry. Through the C ABI the handler is an `extern "C"` callback answering through its
//! reply handle (on a library thread, or inline on the worker) and the call is
//! `micro_client_call`; directly, the handler is a raw Rust handler and the call
//! `Client::call_raw`. Both runtimes have two worker threads and both
//! calls are made from the bench thread, blocking on the runtime.

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
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
use std::ffi::{c_char, c_void};
use std::ptr;
use std::sync::Arc;

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

fn calls(c: &mut Criterion) {
    let client = c_abi();
    let mut group = c.benchmark_group("in-process call");
    for (name, endpoint) in [
        ("C ABI: micro_client_call to a C handler", c"Echo.Call"),
        (
            "C ABI: micro_client_call to an inline C handler",
            c"Echo.Inline",
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| unsafe {
                let mut rsp = micro_buf {
                    ptr: ptr::null_mut(),
                    len: 0,
                };
                let status = micro_client_call(
                    client,
                    c"ffi-echo".as_ptr(),
                    endpoint.as_ptr(),
                    REQUEST.as_ptr(),
                    REQUEST.len(),
                    ptr::null(),
                    &mut rsp,
                    ptr::null_mut(),
                );
                assert_eq!((status, rsp.len), (0, REQUEST.len()));
                micro_buf_free(&mut rsp);
            })
        });
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let registry = Arc::new(Memory::new());
    let _running = runtime
        .block_on(
            Service::new("rust-echo")
                .registry(registry.clone())
                .handle_raw(
                    "Echo.Call",
                    server::raw(|_ctx, body: Bytes| async move { Ok(body) }),
                )
                .start(),
        )
        .unwrap();
    let rust_client = Client::new(registry);
    let options = CallOptions::default();
    group.bench_function("Rust: Client::call_raw to a Rust handler", |b| {
        b.iter(|| {
            let request = RawRequest {
                service: "rust-echo".into(),
                endpoint: "Echo.Call".into(),
                body: Bytes::copy_from_slice(REQUEST),
            };
            let rsp = runtime
                .block_on(rust_client.call_raw(request, &options))
                .unwrap();
            assert_eq!(rsp.body.len(), REQUEST.len());
        })
    });
    group.finish();
}

criterion_group!(benches, calls);
criterion_main!(benches);
