#!/usr/bin/env bash
# The Go bench: the same unary call from Go through go-micro v5.30.0 and through bindings/go
# (libmicro, release build), each in its own process inside a network namespace of this
# script's own (both use mDNS). Prints each side's latency and throughput lines; the figures
# are recorded in bench/results/go.md.
#
#   bench/go/run.sh [calls] [goroutines]      (defaults 20000 8)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
n="${1:-20000}"
c="${2:-8}"
target="${CARGO_TARGET_DIR:-$HOME/.cache/libmicro/target}"
prefix="$target/go/bench-prefix"

make -C "$root" --no-print-directory install PREFIX="$prefix" FFI_PROFILE=release >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig" CGO_LDFLAGS="-Wl,-rpath,$prefix/lib"
(cd "$here" && go build -o "$target/go/go-call" .)

netns='ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && exec "$0" "$@"'
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for impl in gomicro libmicro; do
    # go-micro logs to stderr as it runs: shown only when the run fails.
    unshare -n sh -c "$netns" "$target/go/go-call" -impl "$impl" -n "$n" -c "$c" 2>"$log" ||
        { cat "$log" >&2; exit 1; }
done
