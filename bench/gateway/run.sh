#!/usr/bin/env bash
# HTTP gateway load, in one run on this machine: wrk POSTs {"name":"Alice"} to
# Helloworld.Call through
#   1. libmicro's `micro api` in front of libmicro's helloworld,
#   2. go-micro v5.30.0's `micro api` in front of go-micro's helloworld,
#   3. go-micro's `micro api` in front of libmicro's helloworld (the same service as 1, so
#      the two gateways are compared alone),
#   4. a bare hyper server answering the same JSON with no RPC behind it (the ceiling),
#   5. libmicro's `micro server` (auth on, a Bearer token on every request, checked for
#      signature, revocation, account and scopes) in front of libmicro's helloworld,
# each for D seconds over C connections, on loopback, services found through mDNS inside a
# network namespace this script creates; every row at the default thread count and pinned to
# one thread per process, and with MICRO_BENCH_BEFORE (bench/before.sh) the libmicro rows
# again from an earlier build, each libmicro row the median of MICRO_BENCH_ROUNDS (3) runs
# taken in turn with the earlier build's. Writes bench/results/gateway.md.
#
#   bench/gateway/run.sh [connections=64] [seconds=10]
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
    if [ ! -x "$interop/micro" ] || [ ! -x "$interop/helloworld" ]; then
        make -C "$root" go-tools
    fi
    (cd "$root" && cargo build --release -q -p helloworld -p micro-cli -p gateway-ceiling)
}
enter_netns build

script="$(mktemp --suffix .lua)"
cat >"$script" <<'LUA'
wrk.method = "POST"
wrk.body = '{"name":"Alice"}'
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
if token then wrk.headers["Authorization"] = "Bearer " .. token end
LUA
trap 'stop_all; rm -f "$script"' EXIT

# Waits until POSTing to $1 answers helloworld's greeting (the gateway found the service).
await_greeting() {
    for _ in $(seq 200); do
        if [ "$(curl -s -m 2 ${BENCH_TOKEN:+-H "Authorization: Bearer $BENCH_TOKEN"} -d '{"name":"Alice"}' "$1" 2>/dev/null)" = '{"msg":"Hello Alice"}' ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "no greeting from $1" >&2
    exit 1
}

# The helloworld service of the build in directory $1 (libmicro's) or go-micro's ("go");
# its process id in $service.
helloworld() {
    if [ "$1" = go ]; then
        start "$interop/helloworld" -name helloworld -address 127.0.0.1:8083 -topic ""
    else
        start env MICRO_SERVER_ADDRESS=127.0.0.1:8082 MICRO_LOG=warn "$1/helloworld"
    fi
    service=$started
}

# Logs in to the gateway at $1 as the default admin (once it answers) and exports the token
# as BENCH_TOKEN, which curl and the wrk script send as a Bearer token.
login() {
    for _ in $(seq 200); do
        BENCH_TOKEN="$(curl -s -m 2 -H 'Content-Type: application/json' \
            -d '{"id":"admin","password":"micro"}' "$1/auth/login" 2>/dev/null |
            sed -n 's/.*"token":"\([^"]*\)".*/\1/p' || true)"
        [ -n "$BENCH_TOKEN" ] && export BENCH_TOKEN && return 0
        sleep 0.1
    done
    echo "cannot log in to $1" >&2
    exit 1
}

# Starts a gateway (the command after the variable name, port and path), waits until it
# answers (logging in first when $auth is set), runs the load through it into the named
# variable, then stops every process of the row.
through_gateway() {
    local result=$1 port=$2 path=$3
    shift 3
    start "$@"
    local gateway=$started
    [ -n "${auth:-}" ] && login "http://127.0.0.1:$port"
    local url="http://127.0.0.1:$port$path"
    await_greeting "$url"
    printf -v "$result" '%s' "$(load "$url" $gateway $service)"
    stop_all
}

call=/helloworld/Helloworld.Call

# libmicro's micro api in front of libmicro's helloworld, both from the build in $1.
micro_api() {
    helloworld "$1"
    through_gateway "$2" 8090 "$call" env MICRO_LOG=warn MICRO_STORE=memory "$1/micro" api --address 127.0.0.1:8090
}

# libmicro's micro server with auth on in front of libmicro's helloworld, both from the build
# in $1, with a ~/micro of its own.
micro_server() {
    helloworld "$1"
    local home
    home="$(mktemp -d)"
    auth=1 through_gateway "$2" 8093 /api/helloworld/Helloworld.Call \
        env HOME="$home" MICRO_LOG=warn MICRO_STORE=memory "$1/micro" server --address 127.0.0.1:8093
    unset BENCH_TOKEN
    rm -rf "$home"
}

# Every row in the current thread mode, as the results and ratio tables.
tables() {
    trap stop_all EXIT
    local ours go_go go_rust bare authed ours_before="" authed_before=""
    compare micro_api ours ours_before
    helloworld go
    through_gateway go_go 8091 "$call" "$interop/micro" api --address 127.0.0.1:8091
    helloworld "$target/release"
    through_gateway go_rust 8091 "$call" "$interop/micro" api --address 127.0.0.1:8091
    service=""
    through_gateway bare 8092 "$call" "$target/release/gateway-ceiling" 127.0.0.1:8092
    compare micro_server authed authed_before

    table_head "gateway -> service"
    row "libmicro micro api -> libmicro helloworld" "$ours"
    [ -z "$before" ] || row "the same, built from $before_rev" "$ours_before"
    row "go-micro micro api -> go-micro helloworld" "$go_go"
    row "go-micro micro api -> libmicro helloworld" "$go_rust"
    row "bare hyper, same JSON, no RPC (ceiling)" "$bare"
    row "libmicro micro server, auth on (Bearer token) -> libmicro helloworld" "$authed"
    [ -z "$before" ] || row "the same, built from $before_rev" "$authed_before"
    ratio_head
    ratio_row "libmicro / go-micro (each with its own helloworld)" "$ours" "$go_go"
    ratio_row "libmicro / go-micro (both gateways before libmicro helloworld)" "$ours" "$go_rust"
    ratio_row "libmicro / bare hyper" "$ours" "$bare"
    ratio_row "libmicro with auth / without" "$authed" "$ours"
    if [ -n "$before" ]; then
        ratio_row "libmicro micro api / built from $before_rev" "$ours" "$ours_before"
        ratio_row "libmicro micro server / built from $before_rev" "$authed" "$authed_before"
    fi
}

in_both_modes tables
cat >"$root/bench/results/gateway.md" <<MD
# HTTP gateway load: libmicro \`micro api\` vs go-micro v5.30.0 \`micro api\`

Date $(date -u +%Y-%m-%d), $(machine). Load average before the run $load_before, after
$load_after.
wrk POSTs \`{"name":"Alice"}\` to \`/helloworld/Helloworld.Call\` over $c keep-alive connections
(2 threads) for $d s after a 2 s warm-up, on loopback; gateways find helloworld through mDNS
(\`bench/gateway/run.sh $c $d\`$([ -z "$before" ] || echo ", with \`MICRO_BENCH_BEFORE\` set to a build of $before_rev")).
Each libmicro row is the median of $rounds runs$([ -z "$before" ] || echo ", taken in turn with the earlier build's").
wrk, gateway and service share the machine's cores, so run it on an otherwise idle machine.
CPU µs/req: user + system time of that process over the measured run, divided by the
requests served.

$results

Targets: at least 6x go-micro's requests/s at the defaults, at least 40% of the bare hyper
figure.

Where a gateway request goes: the bare server reads the request and writes one answer; the
gateway also writes the RPC to the service and reads its reply, and the service does its own
read, dispatch and write, all on the same cores as wrk. On loopback each write runs the
receiver's TCP path inside the writer's syscall, so those writes dominate the gateway's CPU
(profile with \`perf record -p <micro api pid>\` during the run).
MD
cat "$root/bench/results/gateway.md"
