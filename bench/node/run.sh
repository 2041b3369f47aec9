#!/usr/bin/env bash
# Node on the libmicro engine, in one run on this machine, inside a network namespace this
# script creates (services found through mDNS, everything on loopback, release builds):
#   1. a JS handler against a Rust handler: the Rust load client (bench/rpc/load) calling
#      Helloworld.Call served by the Rust helloworld, then by the same handler in JS
#      (server.mjs, the engine calling it in-process through a ThreadsafeFunction);
#   2. JS client calls per second: load.mjs (go-micro's Client in Node) calling the Rust
#      helloworld, against the Rust load client calling it.
# Each at 1 caller (per-call latency) and C concurrent callers (throughput), D seconds each.
# Writes bench/results/node.md.
#
#   bench/node/run.sh [concurrency=64] [seconds=10]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
c="${1:-64}"
d="${2:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/libmicro/target}"
target="$CARGO_TARGET_DIR"

if [ -z "${MICRO_BENCH_IN_NETNS:-}" ]; then
    (cd "$root" && cargo build --release -q -p helloworld -p rpc-load -p micro-node)
    exec unshare -n env MICRO_BENCH_IN_NETNS=1 CARGO_TARGET_DIR="$target" bash "$0" "$@"
fi

ip link set lo up
ip link set lo multicast on
ip route add 224.0.0.0/4 dev lo

# The release addon, loaded in place of the debug one the tests build.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cp "$target/release/libmicro_node.so" "$scratch/micro.node"
export NAPI_RS_NATIVE_LIBRARY_PATH="$scratch/micro.node" MICRO_LOG=warn

field() { sed -E "s/.*\"$2\":([0-9.]+).*/\1/" <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ready() { for _ in $(seq 100); do curl -sf "http://$1/health/ready" >/dev/null && return; sleep 0.1; done; }
load() { "$target/release/rpc-load" --service "$1" -c "$2" -d "$d"; }
jsload() { node "$here/load.mjs" "$1" "$2" "$d"; }
row() { echo "| $1 | $(field "$2" rps) | $(field "$2" p50_us) | $(field "$2" p99_us) | $(field "$2" errors) |"; }

MICRO_SERVER_ADDRESS=127.0.0.1:8082 "$target/release/helloworld" &
server=$!
ready 127.0.0.1:8082
rust_1="$(load helloworld 1)"
rust_c="$(load helloworld "$c")"
jsclient_1="$(jsload helloworld 1)"
jsclient_c="$(jsload helloworld "$c")"
kill -TERM $server; wait $server || true

MICRO_SERVER_ADDRESS=127.0.0.1:8083 node "$here/server.mjs" 2>/dev/null &
server=$!
ready 127.0.0.1:8083
jshandler_1="$(load node-helloworld 1)"
jshandler_c="$(load node-helloworld "$c")"
kill -INT $server; wait $server || true

load_avg="$(cut -d' ' -f1-3 /proc/loadavg)"
overhead="$(awk -v a="$(field "$jshandler_1" p50_us)" -v b="$(field "$rust_1" p50_us)" 'BEGIN { print a - b }')"
cpu="$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
cat >"$root/bench/results/node.md" <<MD
# Node on the engine: JS handlers and the JS client against Rust

Date $(date -u +%Y-%m-%d), $(nproc) cores ($cpu), Node $(node --version), release builds.
Helloworld.Call over loopback, JSON, services found through mDNS in a network namespace;
1 caller, then $c concurrent callers, $d s each (\`bench/node/run.sh $c $d\`). Client and
server share the machine's cores; load average at the end of the run: $load_avg (other work
on the machine slows both sides alike, so compare the rows of one run, not across runs).

## A JS handler against a Rust handler

The Rust load client (bench/rpc/load) calling the Rust helloworld, then the same handler
written in JS (bench/node/server.mjs: the engine serves it and calls the JS function
in-process through a ThreadsafeFunction, awaiting its promise).

| handler | callers | requests/s | p50 µs | p99 µs | errors |
| --- | --- | --- | --- | --- | --- |
$(row "Rust | 1" "$rust_1")
$(row "JS | 1" "$jshandler_1")
$(row "Rust | $c" "$rust_c")
$(row "JS | $c" "$jshandler_c")

Per-call overhead of the JS handler (p50 at 1 caller, JS − Rust): **${overhead} µs**.
Throughput at $c callers, JS / Rust: **$(ratio "$(field "$jshandler_c" rps)" "$(field "$rust_c" rps)")**.

## JS client calls per second to a Rust service

bench/node/load.mjs (\`new Client().call(...)\` from async callers in one Node process)
calling the Rust helloworld, against the Rust load client calling it.

| client | callers | requests/s | p50 µs | p99 µs | errors |
| --- | --- | --- | --- | --- | --- |
$(row "Rust | 1" "$rust_1")
$(row "JS | 1" "$jsclient_1")
$(row "Rust | $c" "$rust_c")
$(row "JS | $c" "$jsclient_c")

JS client / Rust client throughput at $c callers: **$(ratio "$(field "$jsclient_c" rps)" "$(field "$rust_c" rps)")**.
MD
cat "$root/bench/results/node.md"
