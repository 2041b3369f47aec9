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
# network namespace this script creates. Writes bench/results/gateway.md.
#
#   bench/gateway/run.sh [connections=64] [seconds=10]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
c="${1:-64}"
d="${2:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/libmicro/target}"
target="$CARGO_TARGET_DIR"
interop="$root/tests/interop/bin"

# wrk, a gateway and a service share two cores here: every server process gets one
# scheduler thread (Rust's tokio and Go's runtime alike, the ceiling included), which spares
# the cross-thread wake-ups that otherwise cost each side a quarter of its CPU per request.
export TOKIO_WORKER_THREADS="${TOKIO_WORKER_THREADS:-1}" GOMAXPROCS="${GOMAXPROCS:-1}"

if [ -z "${MICRO_BENCH_IN_NETNS:-}" ]; then
    command -v wrk >/dev/null || apt-get install -y wrk >/dev/null ||
        { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    if [ ! -x "$interop/micro" ] || [ ! -x "$interop/helloworld" ]; then
        make -C "$root" go-tools
    fi
    (cd "$root" && cargo build --release -q -p helloworld -p micro-cli -p gateway-ceiling)
    exec unshare -n env MICRO_BENCH_IN_NETNS=1 CARGO_TARGET_DIR="$target" bash "$0" "$@"
fi

ip link set lo up
ip link set lo multicast on
ip route add 224.0.0.0/4 dev lo

script="$(mktemp --suffix .lua)"
cat >"$script" <<'LUA'
wrk.method = "POST"
wrk.body = '{"name":"Alice"}'
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
if token then wrk.headers["Authorization"] = "Bearer " .. token end
LUA
pids=()
stop_all() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
}
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

# CPU time (user + system) a process has used, in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# wrk against $1, warmed up for 2 s first, with the gateway process $2 and the service
# process $3 (or none); prints "req/s p50_us p99_us non2xx gateway_cpu_us/req service_cpu_us/req".
load() {
    wrk -t2 -c"$c" -d2s -s "$script" "$1" >/dev/null
    local out g0 s0=0 g1 s1=0
    g0="$(ticks "$2")"
    [ -n "${3:-}" ] && s0="$(ticks "$3")"
    out="$(wrk -t2 -c"$c" -d"${d}s" --latency -s "$script" "$1")"
    g1="$(ticks "$2")"
    [ -n "${3:-}" ] && s1="$(ticks "$3")"
    echo "$out" >&2
    local rps p50 p99 bad total
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    bad="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
    total="$(awk '/requests in/ {print $1}' <<<"$out")"
    echo "$rps $(us "$p50") $(us "$p99") ${bad:-0} $(per "$((g1 - g0))" "$total") $(if [ -n "${3:-}" ]; then per "$((s1 - s0))" "$total"; else echo -; fi)"
}

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

rust_helloworld() {
    MICRO_SERVER_ADDRESS=127.0.0.1:8082 MICRO_LOG=warn "$target/release/helloworld" &
    pids+=($!)
    service=$!
}
go_helloworld() {
    "$interop/helloworld" -name helloworld -address 127.0.0.1:8083 -topic "" >/dev/null 2>&1 &
    pids+=($!)
    service=$!
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
# variable, then stops every process.
through_gateway() {
    local result=$1 port=$2 path=$3
    shift 3
    "$@" >/dev/null 2>&1 &
    pids+=($!)
    gateway=$!
    [ -n "${auth:-}" ] && login "http://127.0.0.1:$port"
    local url="http://127.0.0.1:$port$path"
    await_greeting "$url"
    printf -v "$result" '%s' "$(load "$url" $gateway $service)"
    stop_all
}

# 1. libmicro's micro api -> libmicro helloworld.
rust_helloworld
call=/helloworld/Helloworld.Call
through_gateway ours 8090 "$call" env MICRO_LOG=warn MICRO_STORE=memory "$target/release/micro" api --address 127.0.0.1:8090

# 2. go-micro's micro api -> go-micro helloworld.
go_helloworld
through_gateway go_go 8091 "$call" "$interop/micro" api --address 127.0.0.1:8091

# 3. go-micro's micro api -> libmicro helloworld.
rust_helloworld
through_gateway go_rust 8091 "$call" "$interop/micro" api --address 127.0.0.1:8091

# 4. The ceiling: bare hyper, same JSON, no RPC and so no service to measure.
service=""
through_gateway bare 8092 "$call" "$target/release/gateway-ceiling" 127.0.0.1:8092

# 5. libmicro's micro server with auth on -> libmicro helloworld, with its own ~/micro.
rust_helloworld
home="$(mktemp -d)"
auth=1 through_gateway authed 8093 /api/helloworld/Helloworld.Call \
    env HOME="$home" MICRO_LOG=warn MICRO_STORE=memory "$target/release/micro" server --address 127.0.0.1:8093
unset BENCH_TOKEN
rm -rf "$home"

col() { awk -v i="$2" '{print $i}' <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
row() { echo "| $1 | $(col "$2" 1) | $(col "$2" 2) | $(col "$2" 3) | $(col "$2" 4) | $(col "$2" 5) | $(col "$2" 6) |"; }
cpu="$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
cat >"$root/bench/results/gateway.md" <<MD
# HTTP gateway load: libmicro \`micro api\` vs go-micro v5.30.0 \`micro api\`

Date $(date -u +%Y-%m-%d), $(nproc) cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB.
wrk POSTs \`{"name":"Alice"}\` to \`/helloworld/Helloworld.Call\` over $c keep-alive connections
(2 threads) for $d s after a 2 s warm-up, on loopback; gateways find helloworld through mDNS
(\`bench/gateway/run.sh $c $d\`). wrk, gateway and service share the machine's cores, so
run it on an otherwise idle machine. CPU µs/req: user + system time of that process over the
measured run, divided by the requests served.

| gateway -> service | requests/s | p50 µs | p99 µs | non-2xx | gateway CPU µs/req | service CPU µs/req |
| --- | --- | --- | --- | --- | --- | --- |
$(row "libmicro micro api -> libmicro helloworld" "$ours")
$(row "go-micro micro api -> go-micro helloworld" "$go_go")
$(row "go-micro micro api -> libmicro helloworld" "$go_rust")
$(row "bare hyper, same JSON, no RPC (ceiling)" "$bare")
$(row "libmicro micro server, auth on (Bearer token) -> libmicro helloworld" "$authed")

| ratio | requests/s | p99 |
| --- | --- | --- |
| libmicro / go-micro (each with its own helloworld) | $(ratio "$(col "$ours" 1)" "$(col "$go_go" 1)") | $(ratio "$(col "$ours" 3)" "$(col "$go_go" 3)") |
| libmicro / go-micro (both gateways before libmicro helloworld) | $(ratio "$(col "$ours" 1)" "$(col "$go_rust" 1)") | $(ratio "$(col "$ours" 3)" "$(col "$go_rust" 3)") |
| libmicro / bare hyper | $(ratio "$(col "$ours" 1)" "$(col "$bare" 1)") | $(ratio "$(col "$ours" 3)" "$(col "$bare" 3)") |
| libmicro with auth / without | $(ratio "$(col "$authed" 1)" "$(col "$ours" 1)") | $(ratio "$(col "$authed" 3)" "$(col "$ours" 3)") |

Targets: at least 2x go-micro's requests/s, at least 40% of the bare hyper figure.

Where a gateway request goes: the bare server reads the request and writes one answer; the
gateway also writes the RPC to the service and reads its reply, and the service does its own
read, dispatch and write, all on the same cores as wrk. On loopback each write runs the
receiver's TCP path inside the writer's syscall, so those writes dominate the gateway's CPU
(profile with \`perf record -p <micro api pid>\` during the run).
MD
cat "$root/bench/results/gateway.md"
