#!/usr/bin/env bash
# RPC load, libmicro against go-micro v5.30.0, in one run on this machine: each side's
# helloworld server on loopback and its own client (`micro::Client` / go-micro's client)
# calling Helloworld.Call from C concurrent callers for D seconds, found through mDNS, inside
# a network namespace this script creates. Writes bench/results/rpc.md.
#
#   bench/rpc/run.sh [concurrency=64] [seconds=10]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
c="${1:-64}"
d="${2:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/libmicro/target}"
target="$CARGO_TARGET_DIR"

if [ -z "${MICRO_BENCH_IN_NETNS:-}" ]; then
    (cd "$here/go" && GOFLAGS=-mod=mod go build -o bin/ ./server ./load)
    (cd "$root" && cargo build --release -q -p helloworld -p rpc-load)
    exec unshare -n env MICRO_BENCH_IN_NETNS=1 CARGO_TARGET_DIR="$target" bash "$0" "$@"
fi

ip link set lo up
ip link set lo multicast on
ip route add 224.0.0.0/4 dev lo

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
field() { sed -E "s/.*\"$2\":([0-9.]+).*/\1/" <<<"$1"; }

# go-micro: server, idle memory, load, peak memory.
log="$(mktemp)"
"$here/go/bin/server" -name helloworld -address 127.0.0.1:8081 >"$log" 2>/dev/null &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q '^ready ' "$log" && break; sleep 0.1; done
sleep 1
go_idle="$(rss $server)"
go_out="$("$here/go/bin/load" -service helloworld -c "$c" -d "${d}s")"
go_peak="$(hwm $server)"
kill -TERM $server; wait $server || true

# libmicro: the same shape.
MICRO_SERVER_ADDRESS=127.0.0.1:8082 MICRO_LOG=warn "$target/release/helloworld" &
server=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:8082/health/ready >/dev/null && break; sleep 0.1; done
sleep 1
rs_idle="$(rss $server)"
rs_out="$("$target/release/rpc-load" --service helloworld -c "$c" -d "$d")"
rs_peak="$(hwm $server)"
kill -TERM $server; wait $server || true

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
cpu="$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
cat >"$root/bench/results/rpc.md" <<MD
# RPC load: libmicro vs go-micro v5.30.0

Date $(date -u +%Y-%m-%d), $(nproc) cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB.
Helloworld.Call over loopback, JSON, $c concurrent callers for $d s, services found through
mDNS; each side's own server and client (\`bench/rpc/run.sh $c $d\`). Client and server share
the machine's cores.

| | requests/s | p50 µs | p99 µs | errors | server RSS idle | server RSS peak |
| --- | --- | --- | --- | --- | --- | --- |
| go-micro | $(field "$go_out" rps) | $(field "$go_out" p50_us) | $(field "$go_out" p99_us) | $(field "$go_out" errors) | ${go_idle} kB | ${go_peak} kB |
| libmicro | $(field "$rs_out" rps) | $(field "$rs_out" p50_us) | $(field "$rs_out" p99_us) | $(field "$rs_out" errors) | ${rs_idle} kB | ${rs_peak} kB |
| libmicro / go-micro | $(ratio "$(field "$rs_out" rps)" "$(field "$go_out" rps)") | $(ratio "$(field "$rs_out" p50_us)" "$(field "$go_out" p50_us)") | $(ratio "$(field "$rs_out" p99_us)" "$(field "$go_out" p99_us)") | | $(ratio "$rs_idle" "$go_idle") | $(ratio "$rs_peak" "$go_peak") |

Targets: throughput ≥ 2x go-micro's, p99 ≤ half, idle RSS ≤ half.
MD
cat "$root/bench/results/rpc.md"
