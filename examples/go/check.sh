#!/usr/bin/env bash
# Runs the Go examples as separate processes in a network namespace of this script's own (so
# no multicast leaves the machine): examples/go/service registers over mDNS, examples/go/client
# finds it, calls, streams and publishes, the service logs the event, and SIGINT stops the
# service cleanly (exit 0 after deregistering).
# Usage: examples/go/check.sh DIR, where DIR holds the built service and client.
set -euo pipefail

bin="$(cd "$1" && pwd)"
if [ -z "${MICRO_GO_EXAMPLES_IN_NETNS:-}" ]; then
    exec unshare -n env MICRO_GO_EXAMPLES_IN_NETNS=1 sh -c \
        'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && exec "$0" "$@"' \
        "$0" "$@"
fi
unset MICRO_REGISTRY MICRO_BROKER
export MICRO_STORE=memory
log="$(mktemp)"
"$bin/service" >"$log" 2>&1 &
service=$!
trap 'kill "$service" 2>/dev/null || true; rm -f "$log"' EXIT

fail() {
    echo "go examples: $*" >&2
    cat "$log" >&2
    exit 1
}

for _ in $(seq 1 100); do
    grep -q "^ready 127.0.0.1:" "$log" && break
    sleep 0.1
done
grep -q "^ready 127.0.0.1:" "$log" || fail "the service never printed ready"
answer="$("$bin/client" Alice 2>&1)" || fail "the client failed: $answer"
want="Hello Alice
Hello Alice 1
Hello Alice 2
Hello Alice 3
published greeter.events"
[ "$answer" = "$want" ] || fail "the client said: $answer"
if answer="$("$bin/client" "" 2>&1)"; then
    fail "an empty name should be refused, got: $answer"
fi
case "$answer" in
*'"code":400'*"name is empty"*) ;;
*) fail "unexpected refusal: $answer" ;;
esac
for _ in $(seq 1 50); do
    grep -q 'greeter.events: {"greeted":"Alice"}' "$log" && break
    sleep 0.1
done
grep -q 'greeter.events: {"greeted":"Alice"}' "$log" || fail "the service did not log the event"
kill -INT "$service"
wait "$service" || fail "the service did not stop cleanly on SIGINT"
echo "go examples: service and client over mDNS: ok"
