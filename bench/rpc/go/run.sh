#!/usr/bin/env bash
# Runs the go-micro RPC benchmark inside a network namespace this script creates (only
# loopback, multicast on it for mDNS): server on 127.0.0.1:8081, then load against it by name.
# Prints load's JSON line, then the server's memory: {"server_vmrss_kb":..,"server_vmhwm_kb":..}
# (resident set after the run, and its peak). Needs root (or CAP_SYS_ADMIN), unshare, ip, Go.
#
#   bench/rpc/go/run.sh [load flags...]       e.g. run.sh -c 64 -d 5s
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"

if [ -z "${MICRO_BENCH_IN_NETNS:-}" ]; then
    (cd "$here" && GOFLAGS=-mod=mod go build -o bin/ ./server ./load)
    exec unshare -n env MICRO_BENCH_IN_NETNS=1 bash "$0" "$@"
fi

ip link set lo up
ip link set lo multicast on
ip route add 224.0.0.0/4 dev lo

log="$(mktemp)"
"$here/bin/server" -name helloworld -address 127.0.0.1:8081 >"$log" 2>"$log.err" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$log" "$log.err"' EXIT
for _ in $(seq 100); do
    grep -q '^ready ' "$log" && break
    sleep 0.1
done
grep -q '^ready ' "$log" || { echo "server did not start: $(tail -3 "$log.err")" >&2; exit 1; }

"$here/bin/load" -service helloworld "$@"
rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$server/status")"
hwm="$(awk '/^VmHWM:/ {print $2}' "/proc/$server/status")"
echo "{\"server_vmrss_kb\":$rss,\"server_vmhwm_kb\":$hwm}"
