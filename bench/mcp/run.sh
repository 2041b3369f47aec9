#!/usr/bin/env bash
# MCP gateway load, in one run on this machine: wrk calls helloworld's Helloworld.Call as
# the MCP tool helloworld.Helloworld.Call through
#   1. libmicro's `micro mcp serve --address`, REST `POST /mcp/call`,
#   2. go-micro v5.30.0's `micro mcp serve --address`, REST `POST /mcp/call` (no auth: its
#      serve command sets none),
#   3. libmicro's `micro mcp serve --address`, Streamable HTTP JSON-RPC `tools/call` at /mcp
#      inside a session opened with curl (initialize, notifications/initialized),
# all in front of the same libmicro helloworld, each for D seconds over C connections, on
# loopback, the service found through mDNS inside a network namespace this script creates.
# Writes bench/results/mcp.md.
#
#   bench/mcp/run.sh [connections=64] [seconds=10]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
c="${1:-64}"
d="${2:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/libmicro/target}"
target="$CARGO_TARGET_DIR"
interop="$root/tests/interop/bin"

# wrk, a gateway and the service share the cores: one scheduler thread per server process,
# as in bench/gateway/run.sh.
export TOKIO_WORKER_THREADS="${TOKIO_WORKER_THREADS:-1}" GOMAXPROCS="${GOMAXPROCS:-1}"

if [ -z "${MICRO_BENCH_IN_NETNS:-}" ]; then
    command -v wrk >/dev/null || apt-get install -y wrk >/dev/null ||
        { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    [ -x "$interop/micro" ] || make -C "$root" go-tools
    (cd "$root" && cargo build --release -q -p helloworld -p micro-cli)
    exec unshare -n env MICRO_BENCH_IN_NETNS=1 CARGO_TARGET_DIR="$target" bash "$0" "$@"
fi

ip link set lo up
ip link set lo multicast on
ip route add 224.0.0.0/4 dev lo

tool=helloworld.Helloworld.Call
rest_body='{"tool":"'$tool'","input":{"name":"Alice"}}'
rpc_body='{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"'$tool'","arguments":{"name":"Alice"}}}'

# The wrk script POSTs BENCH_BODY; when BENCH_SESSION is set, with the Streamable HTTP headers
# and a JSON-RPC id of its own per request.
script="$(mktemp --suffix .lua)"
cat >"$script" <<'LUA'
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
local session = os.getenv("BENCH_SESSION")
if session then
    wrk.headers["Accept"] = "application/json, text/event-stream"
    wrk.headers["Mcp-Session-Id"] = session
    wrk.headers["MCP-Protocol-Version"] = os.getenv("BENCH_PROTOCOL")
end

-- Every JSON-RPC request gets its own id ("<thread>-<n>"), as a real client's would.
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end
local n = 0
function request()
    if not session then return wrk.request() end
    n = n + 1
    local body = wrk.body:gsub('"id":2,', '"id":"' .. tid .. '-' .. n .. '",', 1)
    return wrk.format(nil, nil, nil, body)
end
LUA
pids=()
# Stops the gateways: TERM, then KILL after 3 s (go-micro's mcp serve keeps serving on TERM).
stop_all() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}
service=""
trap 'stop_all; [ -z "$service" ] || kill -TERM "$service"; rm -f "$script"' EXIT

# CPU time (user + system) a process has used, in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# CPU ticks spent over N requests, as microseconds per request.
per() { awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }'; }

# wrk's latency (e.g. 812.00us, 1.53ms, 2.01s) in microseconds.
us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000; else if (v ~ /s$/) m = 1000000; else m = 1
        printf "%d", n * m
    }'
}

# wrk POSTing BENCH_BODY to $1, warmed up for 2 s first, with the gateway process $2 and the
# service process $3; prints "req/s p50_us p99_us non2xx gateway_cpu_us/req service_cpu_us/req".
load() {
    wrk -t2 -c"$c" -d2s -s "$script" "$1" >/dev/null
    local out g0 s0 g1 s1
    g0="$(ticks "$2")"
    s0="$(ticks "$3")"
    out="$(wrk -t2 -c"$c" -d"${d}s" --latency -s "$script" "$1")"
    g1="$(ticks "$2")"
    s1="$(ticks "$3")"
    echo "$out" >&2
    local rps p50 p99 bad total
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    bad="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
    total="$(awk '/requests in/ {print $1}' <<<"$out")"
    echo "$rps $(us "$p50") $(us "$p99") ${bad:-0} $(per "$((g1 - g0))" "$total") $(per "$((s1 - s0))" "$total")"
}

# Waits until POSTing the REST call to $1 answers helloworld's greeting (the gateway found
# the service and its tool).
await_greeting() {
    for _ in $(seq 200); do
        if curl -s -m 2 -H 'Content-Type: application/json' -d "$rest_body" "$1" 2>/dev/null |
            grep -q 'Hello Alice'; then
            return 0
        fi
        sleep 0.1
    done
    echo "no greeting from $1" >&2
    exit 1
}

# Opens a Streamable HTTP session at $1 and exports BENCH_SESSION (its Mcp-Session-Id) and
# BENCH_PROTOCOL (the negotiated protocol version); notes in $sse whether answers are SSE.
open_session() {
    local headers body
    headers="$(mktemp)"
    body="$(curl -s -m 5 -D "$headers" -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' \
        -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}' "$1")"
    BENCH_SESSION="$(awk -F': ' 'tolower($1) == "mcp-session-id" {print $2}' "$headers" | tr -d '\r')"
    grep -qi '^content-type: text/event-stream' "$headers" && sse=yes || sse=no
    rm -f "$headers"
    BENCH_PROTOCOL="$(sed -n 's/.*"protocolVersion":"\([^"]*\)".*/\1/p' <<<"$body" | head -1)"
    if [ -z "$BENCH_SESSION" ] || [ -z "$BENCH_PROTOCOL" ]; then
        echo "cannot open an MCP session at $1: $body" >&2
        exit 1
    fi
    export BENCH_SESSION BENCH_PROTOCOL
    local status
    status="$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' -H "Mcp-Session-Id: $BENCH_SESSION" \
        -H "MCP-Protocol-Version: $BENCH_PROTOCOL" \
        -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$1")"
    [ "$status" = 202 ] || { echo "notifications/initialized got HTTP $status from $1" >&2; exit 1; }
    # One call by hand: it must greet.
    curl -s -m 5 -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H "Mcp-Session-Id: $BENCH_SESSION" -H "MCP-Protocol-Version: $BENCH_PROTOCOL" \
        -d "$rpc_body" "$1" | grep -q 'Hello Alice' || { echo "tools/call at $1 did not greet" >&2; exit 1; }
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
MICRO_SERVER_ADDRESS=127.0.0.1:8082 MICRO_LOG=warn "$target/release/helloworld" &
service=$!

# Starts a gateway (the command after the port), keeps its process id in $gateway and
# waits until it greets over POST /mcp/call.
start_gateway() {
    local port=$1
    shift
    "$@" >/dev/null 2>&1 &
    pids+=($!)
    gateway=$!
    await_greeting "http://127.0.0.1:$port/mcp/call"
}

ours=(env MICRO_LOG=warn MICRO_STORE=memory "$target/release/micro" mcp serve --address 127.0.0.1:8094)

# 1. libmicro micro mcp serve, POST /mcp/call.
start_gateway 8094 "${ours[@]}"
export BENCH_BODY="$rest_body"
rest="$(load http://127.0.0.1:8094/mcp/call "$gateway" "$service")"
stop_all

# 2. go-micro micro mcp serve, POST /mcp/call.
start_gateway 8095 "$interop/micro" mcp serve --address 127.0.0.1:8095
go="$(load http://127.0.0.1:8095/mcp/call "$gateway" "$service")"
stop_all

# 3. libmicro micro mcp serve, Streamable HTTP tools/call in one session.
start_gateway 8094 "${ours[@]}"
open_session http://127.0.0.1:8094/mcp
export BENCH_BODY="$rpc_body"
streamable="$(load http://127.0.0.1:8094/mcp "$gateway" "$service")"
stop_all
kill -TERM "$service"
wait "$service" 2>/dev/null || true
service=""

col() { awk -v i="$2" '{print $i}' <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
row() { echo "| $1 | $(col "$2" 1) | $(col "$2" 2) | $(col "$2" 3) | $(col "$2" 4) | $(col "$2" 5) | $(col "$2" 6) |"; }
cpu="$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
cat >"$root/bench/results/mcp.md" <<MD
# MCP gateway load: libmicro \`micro mcp serve\` vs go-micro v5.30.0 \`micro mcp serve\`

Date $(date -u +%Y-%m-%d), $(nproc) cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB.
wrk calls the tool \`$tool\` over $c keep-alive connections (2 threads) for $d s after a
2 s warm-up, on loopback, every gateway in front of the same libmicro helloworld, found
through mDNS (\`bench/mcp/run.sh $c $d\`). One scheduler thread per server process
(TOKIO_WORKER_THREADS=1, GOMAXPROCS=1). CPU µs/req: user + system time of that process over
the measured run, divided by the requests served. Load average before the run: $load_before
(wrk, gateway and service share the machine's cores, so run it on an otherwise idle machine).

- \`POST /mcp/call\` body: \`$rest_body\` (go-micro's \`mcp serve\` has no auth, so neither does ours here).
- Streamable HTTP: one session opened with curl (\`initialize\`, then
  \`notifications/initialized\`), then wrk POSTs \`$rpc_body\` to \`/mcp\` with
  \`Accept: application/json, text/event-stream\`, \`Mcp-Session-Id\` and
  \`MCP-Protocol-Version: $BENCH_PROTOCOL\`, each request with a JSON-RPC id of its own.
  Answers come as SSE (\`text/event-stream\`): $sse. non-2xx counts HTTP statuses only; a
  JSON-RPC error inside a 200 would not show there (the greeting is checked once with curl).

| gateway -> libmicro helloworld | requests/s | p50 µs | p99 µs | non-2xx | gateway CPU µs/req | service CPU µs/req |
| --- | --- | --- | --- | --- | --- | --- |
$(row "libmicro micro mcp serve, POST /mcp/call" "$rest")
$(row "go-micro micro mcp serve, POST /mcp/call" "$go")
$(row "libmicro micro mcp serve, Streamable HTTP tools/call at /mcp" "$streamable")

| ratio | requests/s | p99 |
| --- | --- | --- |
| libmicro / go-micro, POST /mcp/call | $(ratio "$(col "$rest" 1)" "$(col "$go" 1)") | $(ratio "$(col "$rest" 3)" "$(col "$go" 3)") |
| libmicro Streamable HTTP / libmicro POST /mcp/call | $(ratio "$(col "$streamable" 1)" "$(col "$rest" 1)") | $(ratio "$(col "$streamable" 3)" "$(col "$rest" 3)") |

Target: at least 3x go-micro's requests/s on \`POST /mcp/call\`.
MD
cat "$root/bench/results/mcp.md"
