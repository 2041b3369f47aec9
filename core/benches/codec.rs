//! Codec speed on the RPC hot path: a helloworld request from wire body to typed value and a
//! response from typed value to wire body (unframe + decode, encode + frame), plain JSON and
//! gRPC-framed JSON, and gRPC framing of a payload on its own.

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use micro::codec::Codec;
use serde::{Deserialize, Serialize};
use std::hint::black_box;

#[derive(Serialize, Deserialize)]
struct Request {
    name: String,
}

#[derive(Serialize, Deserialize)]
struct Response {
    msg: String,
}

fn json(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec_json");
    group.throughput(Throughput::Elements(1));
    let response = Response {
        msg: "Hello Alice".into(),
    };
    for codec in [Codec::Json, Codec::GrpcJson] {
        let payload = codec
            .encode(&Request {
                name: "Alice".into(),
            })
            .unwrap();
        let body = codec.frame(payload);
        group.bench_function(format!("decode_request/{codec}"), |b| {
            b.iter(|| {
                let payload = codec.unframe(black_box(body.clone())).unwrap();
                let req: Request = codec.decode(payload).unwrap();
                req
            })
        });
        group.bench_function(format!("encode_response/{codec}"), |b| {
            b.iter(|| codec.frame(codec.encode(black_box(&response)).unwrap()))
        });
    }
    group.finish();
}

fn grpc_framing(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec_grpc");
    group.throughput(Throughput::Elements(1));
    let payload = Bytes::from_static(b"\x0a\x05Alice");
    let body = Codec::Grpc.frame(payload.clone());
    group.bench_function("frame_small", |b| {
        b.iter(|| Codec::Grpc.frame(black_box(payload.clone())))
    });
    group.bench_function("unframe_small", |b| {
        b.iter(|| Codec::Grpc.unframe(black_box(body.clone())).unwrap())
    });
    group.finish();
}

criterion_group!(benches, json, grpc_framing);
criterion_main!(benches);
