#!/bin/sh
# The Python binding's benchmarks: python/benches/handler.rs (a Python handler against a Rust
# one in one process, memory registry, loopback), then bench.py (Python handlers and clients
# against Rust across processes; it says what it measures): builds go_micro in release into
# bench/python/.venv and the Rust programs in release, and runs bench.py inside a new network
# namespace (loopback only, multicast on: mDNS stays in it). Needs root for unshare.
#
#   bench/python/run.sh > /tmp/python-bench.md
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/libmicro/target}"
if [ ! -x "$here/.venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$here/.venv"
fi
"$here/.venv/bin/python" -m pip install -q --disable-pip-version-check "maturin>=1.7,<2"
(cd "$repo/python" && VIRTUAL_ENV="$here/.venv" "$here/.venv/bin/maturin" build -q --release --out "$here/.wheel" >&2 &&
    "$here/.venv/bin/python" -m pip install -q --force-reinstall --no-deps "$here"/.wheel/go_micro-*.whl)
(cd "$repo" && cargo build -q --release -p helloworld -p rpc-load)
# A Python handler against a Rust one in one process (python/benches/handler.rs).
echo '```'
(cd "$repo" && cargo bench -q -p micro-py --bench handler)
echo '```'
exec unshare -n sh -c 'ip link set lo up && ip link set lo multicast on &&
    ip route add 224.0.0.0/4 dev lo && exec "$1" "$2"' sh "$here/.venv/bin/python" "$here/bench.py"
