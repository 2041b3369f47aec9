#!/usr/bin/env bash
# MCP gateway load, in one run on this machine: wrk calls helloworld's Helloworld.Call as
# the MCP tool helloworld.Helloworld.Call through
#   1. libmicro's `micro mcp serve --address`, REST `POST /mcp/call`,
#   2. go-micro v5.30.0's `micro mcp serve --address`, REST `POST /mcp/call` (no auth: its
#      serve command sets none),
#   3. libmicro's `micro mcp serve --address`, Streamable HTTP JSON-RPC `tools/call` at /mcp
#      inside a session opened with curl (initialize, notifications/initialized),
# all in front of the same libmicro helloworld, each for D seconds over C connections, on
# loopback, the service found through mDNS inside a network namespace this script creates;
# with MICRO_BENCH_BEFORE (bench/before.sh) the libmicro rows again from an earlier build,
# each libmicro row the median of MICRO_BENCH_ROUNDS (3) runs taken in turn with the earlier
# build's. Writes bench/results/mcp.md.
#
#   bench/mcp/run.sh [connections=64] [seconds=10]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bench_args=("$@")
c="${1:-64}"
d="${2:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/libmicro/target}"
target="$CARGO_TARGET_DIR"
interop="$root/tests/interop/bin"
. "$root/bench/lib.sh"

build() {
    [ -x "$interop/micro" ] || make -C "$root" go-tools
    (cd "$root" && cargo build --release -q -p helloworld -p micro-cli)
}
enter_netns build

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
trap 'stop_all; rm -f "$script"' EXIT

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
# BENCH_PROTOCOL (the negotiated protocol version).
open_session() {
    local headers body
    headers="$(mktemp)"
    body="$(curl -s -m 5 -D "$headers" -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' \
        -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}' "$1")"
    BENCH_SESSION="$(awk -F': ' 'tolower($1) == "mcp-session-id" {print $2}' "$headers" | tr -d '\r')"
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

# Starts a gateway (the command after the port) and waits until it greets over
# POST /mcp/call; its process id in $gateway.
start_gateway() {
    local port=$1
    shift
    start "$@"
    gateway=$started
    await_greeting "http://127.0.0.1:$port/mcp/call"
}

# micro mcp serve from the build in $1.
ours() { start_gateway 8094 env MICRO_LOG=warn MICRO_STORE=memory "$1/micro" mcp serve --address 127.0.0.1:8094; }

# POST /mcp/call through the gateway ours() started from the build in $1, into variable $2.
rest() {
    ours "$1"
    export BENCH_BODY="$rest_body"
    printf -v "$2" '%s' "$(load http://127.0.0.1:8094/mcp/call "$gateway" "$service")"
    kill -TERM "$gateway"
    wait "$gateway" 2>/dev/null || true
}

# Streamable HTTP tools/call in one session through the gateway from the build in $1, into
# variable $2.
streamable() {
    ours "$1"
    open_session http://127.0.0.1:8094/mcp
    export BENCH_BODY="$rpc_body"
    printf -v "$2" '%s' "$(load http://127.0.0.1:8094/mcp "$gateway" "$service")"
    unset BENCH_SESSION
    kill -TERM "$gateway"
    wait "$gateway" 2>/dev/null || true
}

# Every row in the current thread mode, as the results and ratio tables; every gateway in front
# of the same libmicro helloworld.
tables() {
    trap stop_all EXIT
    start env MICRO_SERVER_ADDRESS=127.0.0.1:8082 MICRO_LOG=warn "$target/release/helloworld"
    service=$started
    local rest go streamable rest_before="" streamable_before=""
    compare rest rest rest_before
    start_gateway 8095 "$interop/micro" mcp serve --address 127.0.0.1:8095
    export BENCH_BODY="$rest_body"
    go="$(load http://127.0.0.1:8095/mcp/call "$gateway" "$service")"
    kill -KILL "$gateway"
    compare streamable streamable streamable_before
    stop_all

    table_head "gateway -> libmicro helloworld"
    row "libmicro micro mcp serve, POST /mcp/call" "$rest"
    [ -z "$before" ] || row "the same, built from $before_rev" "$rest_before"
    row "go-micro micro mcp serve, POST /mcp/call" "$go"
    row "libmicro micro mcp serve, Streamable HTTP tools/call at /mcp" "$streamable"
    [ -z "$before" ] || row "the same, built from $before_rev" "$streamable_before"
    ratio_head
    ratio_row "libmicro / go-micro, POST /mcp/call" "$rest" "$go"
    ratio_row "libmicro Streamable HTTP / libmicro POST /mcp/call" "$streamable" "$rest"
    if [ -n "$before" ]; then
        ratio_row "POST /mcp/call / built from $before_rev" "$rest" "$rest_before"
        ratio_row "Streamable HTTP / built from $before_rev" "$streamable" "$streamable_before"
    fi
}

in_both_modes tables
cat >"$root/bench/results/mcp.md" <<MD
# MCP gateway load: libmicro \`micro mcp serve\` vs go-micro v5.30.0 \`micro mcp serve\`

Date $(date -u +%Y-%m-%d), $(machine). Load average before the run $load_before, after
$load_after.
wrk calls the tool \`$tool\` over $c keep-alive connections (2 threads) for $d s after a
2 s warm-up, on loopback, every gateway in front of the same libmicro helloworld, found
through mDNS (\`bench/mcp/run.sh $c $d\`$([ -z "$before" ] || echo ", with \`MICRO_BENCH_BEFORE\` set to a build of $before_rev")).
Each libmicro row is the median of $rounds runs$([ -z "$before" ] || echo ", taken in turn with the earlier build's").
CPU µs/req: user + system time of that process over the measured run, divided by the
requests served. wrk, gateway and service share the machine's cores, so run it on an
otherwise idle machine.

- \`POST /mcp/call\` body: \`$rest_body\` (go-micro's \`mcp serve\` has no auth, so neither does ours here).
- Streamable HTTP: one session opened with curl (\`initialize\`, then
  \`notifications/initialized\`), then wrk POSTs \`$rpc_body\` to \`/mcp\` with
  \`Accept: application/json, text/event-stream\`, \`Mcp-Session-Id\` and
  \`MCP-Protocol-Version\` as negotiated, each request with a JSON-RPC id of its own.
  non-2xx counts HTTP statuses only; a JSON-RPC error inside a 200 would not show there
  (the greeting is checked once with curl).

$results

Target: at least 3x go-micro's requests/s on \`POST /mcp/call\`.
MD
cat "$root/bench/results/mcp.md"
