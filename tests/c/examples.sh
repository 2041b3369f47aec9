#!/usr/bin/env bash
# The C examples as separate processes: examples/c/service registers over mDNS in a network
# namespace of this script's own (so no multicast leaves the machine), examples/c/client finds
# it and calls it, and SIGINT stops the service cleanly (exit 0 after deregistering).
# Usage: tests/c/examples.sh DIR, where DIR holds the built service and client.
set -euo pipefail

bin="$(cd "$1" && pwd)"
if [ -z "${MICRO_C_IN_NETNS:-}" ]; then
    exec unshare -n env MICRO_C_IN_NETNS=1 sh -c \
        'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && exec "$0" "$@"' \
        "$0" "$@"
fi
unset MICRO_REGISTRY MICRO_BROKER
log="$(mktemp)"
"$bin/service" >"$log" 2>&1 &
service=$!
trap 'kill "$service" 2>/dev/null || true; rm -f "$log"' EXIT

answer=""
for _ in $(seq 1 50); do
    if answer="$("$bin/client" Alice 2>&1)"; then
        break
    fi
    sleep 0.2
done
if [ "$answer" != '{"msg":"Hello Alice"}' ]; then
    echo "examples: the client said: $answer" >&2
    cat "$log" >&2
    exit 1
fi
if answer="$("$bin/client" "" 2>&1)"; then
    echo "examples: an empty name should be refused, got: $answer" >&2
    exit 1
fi
case "$answer" in
*"say who to greet"*) ;;
*) echo "examples: unexpected refusal: $answer" >&2; exit 1 ;;
esac
kill -INT "$service"
if ! wait "$service"; then
    echo "examples: the service did not stop cleanly on SIGINT" >&2
    cat "$log" >&2
    exit 1
fi
grep -q "helloworld listening on 127.0.0.1:" "$log"
echo "examples: service and client over mDNS: ok"
