#!/usr/bin/env bash
# Proves that the go-micro interop programs work against each other, so a failure in a
# libmicro interop test points at libmicro: helloworld serves, client calls, streams, fails and
# publishes, and go-micro's own micro CLI lists, describes and calls. Everything runs inside a
# network namespace this script creates, holding only loopback with multicast on (mDNS never
# leaves it). Needs root (or CAP_SYS_ADMIN), unshare, ip and Go. Prints "N passed, M failed"
# and exits non-zero when anything failed.
#
#   tests/interop/go_self_check.sh
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
bin="$here/bin"

if [ -z "${MICRO_SELF_CHECK_IN_NETNS:-}" ]; then
    for program in helloworld client micro; do
        if [ ! -x "$bin/$program" ]; then
            echo "building the interop programs into $bin"
            (cd "$here" && GOFLAGS=-mod=mod go build -o bin/ ./cmd/... &&
                GOFLAGS=-mod=mod go build -o bin/micro go-micro.dev/v5/cmd/micro) || exit 1
            break
        fi
    done
    exec unshare -n env MICRO_SELF_CHECK_IN_NETNS=1 bash "$0" "$@"
fi

ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo || {
    echo "could not set up loopback multicast in the namespace" >&2
    exit 1
}

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() {
    echo "FAIL $1"
    shift
    for line in "$@"; do echo "     $line"; done
    failed=$((failed + 1))
}

# wait_for FILE PATTERN SECONDS: true once a line of FILE matches PATTERN (grep -E).
wait_for() {
    local deadline=$((SECONDS + $3))
    while [ "$SECONDS" -lt "$deadline" ]; do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# expect NAME WANT COMMAND...: COMMAND exits 0 and prints exactly WANT on stdout.
expect() {
    local name="$1" want="$2"
    shift 2
    local got rc
    got="$("$@" 2>"$work/stderr")"
    rc=$?
    if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then
        pass "$name"
    else
        fail "$name" "command: $*" "exit $rc, stdout: $got" "want: $want" "stderr: $(tail -3 "$work/stderr")"
    fi
}

# expect_match NAME PATTERN TRIES COMMAND...: COMMAND exits 0 and its stdout matches PATTERN
# (grep -E), within TRIES attempts (registry answers are multicast and may be slow on a busy host).
expect_match() {
    local name="$1" pattern="$2" tries="$3"
    shift 3
    local got rc i
    for ((i = 0; i < tries; i++)); do
        got="$("$@" 2>"$work/stderr")"
        rc=$?
        if [ "$rc" -eq 0 ] && grep -Eq -- "$pattern" <<<"$got"; then
            pass "$name"
            return
        fi
        sleep 0.5
    done
    fail "$name" "command: $*" "exit $rc, stdout: $(head -c 400 <<<"$got")" "want a match for: $pattern" \
        "stderr: $(tail -3 "$work/stderr")"
}

client="$bin/client"
micro="$bin/micro"

# The service, and a plain broker subscriber that prints raw headers.
"$bin/helloworld" -name gohello -topic gohello.events >"$work/hello.out" 2>"$work/hello.err" &
hello=$!
pids+=("$hello")
"$client" -n 1 subscribe check.topic >"$work/sub.out" 2>"$work/sub.err" &
pids+=($!)

if ! wait_for "$work/hello.out" '^ready ' 15; then
    fail "helloworld registers and prints ready" "stderr: $(tail -5 "$work/hello.err")"
    echo "$passed passed, $failed failed"
    exit 1
fi
pass "helloworld registers and prints ready"
address="$(sed -n 's/^ready //p' "$work/hello.out" | head -1)"
wait_for "$work/sub.out" '^ready ' 15 || fail "client subscribe prints ready" "stderr: $(tail -5 "$work/sub.err")"

expect "call through the registry" '{"msg":"Hello Alice"}' \
    "$client" call gohello Helloworld.Call '{"name":"Alice"}'
expect "call a node by address" '{"msg":"Hello Direct"}' \
    "$client" -address "$address" call gohello Helloworld.Call '{"name":"Direct"}'
expect "server stream sends count messages in order" \
    "$(printf '%s\n' '{"msg":"Hello Alice 1"}' '{"msg":"Hello Alice 2"}' '{"msg":"Hello Alice 3"}')" \
    "$client" stream gohello Helloworld.Stream '{"name":"Alice","count":3}'
expect "bidirectional stream echoes each message" "$(printf '%s\n' '{"a":1}' '{"b":2}')" \
    "$client" -n 2 stream gohello Helloworld.Echo '{"a":1}' '{"b":2}'
expect_match "call metadata arrives as headers" '"X-Check":"yes"' 1 \
    "$client" -H X-Check:yes call gohello Helloworld.Meta '{}'

# A handler error comes back as go-micro's error JSON (the last line of stderr), exit code 2.
got="$("$client" call gohello Helloworld.Fail '{"name":"Alice"}' 2>"$work/stderr")"
rc=$?
want='{"id":"gohello","code":400,"detail":"bad Alice","status":"Bad Request"}'
if [ "$rc" -eq 2 ] && [ "$(tail -1 "$work/stderr")" = "$want" ] && [ -z "$got" ]; then
    pass "handler error arrives as go-micro error JSON"
else
    fail "handler error arrives as go-micro error JSON" "exit $rc, stdout: $got" \
        "stderr: $(cat "$work/stderr")" "want as the last line of stderr: $want"
fi

expect "publish reaches the service's subscriber" "published gohello.events" \
    "$client" publish gohello.events '{"n":1}'
if wait_for "$work/hello.out" '"body":\{"n":1\}' 5 &&
    grep -q '"Micro-Topic":"gohello.events"' "$work/hello.out"; then
    pass "subscriber prints the message with its headers"
else
    fail "subscriber prints the message with its headers" "stdout: $(cat "$work/hello.out")"
fi
expect "publish reaches a broker subscriber" "published check.topic" \
    "$client" publish check.topic '{"n":2}'
if wait_for "$work/sub.out" '"body":\{"n":2\}' 5 &&
    grep -q '"Content-Type":"application/json"' "$work/sub.out"; then
    pass "broker subscriber prints the message with its headers"
else
    fail "broker subscriber prints the message with its headers" "stdout: $(cat "$work/sub.out")"
fi

# go-micro's own CLI.
expect_match "micro services lists the service" '^gohello$' 3 "$micro" services
expect_match "micro describe shows the endpoints" '"name": "Helloworld.Call"' 3 "$micro" describe gohello
expect_match "micro registry get shows the node address" "\"address\": \"$address\"" 3 \
    "$micro" registry get gohello
expect "micro call calls the service" '{"msg":"Hello Bob"}' \
    "$micro" call gohello Helloworld.Call '{"name":"Bob"}'
expect_match "micro <service> <handler> <method> --flags calls the service" '"msg": "Hello Carol"' 1 \
    "$micro" gohello helloworld call --name=Carol

# SIGTERM deregisters.
kill -TERM "$hello"
wait "$hello"
rc=$?
if [ "$rc" -eq 0 ] && grep -q '^stopped$' "$work/hello.out"; then
    pass "helloworld stops cleanly on SIGTERM"
else
    fail "helloworld stops cleanly on SIGTERM" "exit $rc" "stderr: $(tail -3 "$work/hello.err")"
fi
if "$micro" services 2>/dev/null | grep -q '^gohello$'; then
    fail "a stopped service leaves the registry"
else
    pass "a stopped service leaves the registry"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
