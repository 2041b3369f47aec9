#!/bin/sh
# `make python-test`: builds go_micro into python/.venv, checks the type stubs against the
# built module (mypy stubtest) and the package's types (mypy --strict), builds the Rust
# programs the cross-process tests drive, then runs pytest inside a new network namespace
# holding only loopback with multicast on, so mDNS never leaves it. Needs root for unshare.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
./setup.sh
.venv/bin/python -m mypy.stubtest go_micro._native
.venv/bin/python -m mypy --strict go_micro ../examples/python/service.py ../examples/python/client.py \
    ../examples/python/ai_service.py ../examples/python/ai_tools.py ../examples/python/ai_events.py
(cd .. && ${CARGO:-cargo} build -q -p micro-cli -p helloworld -p rpc-load)
export MICRO_PY_INTEROP_REQUIRED=1 MICRO_PY_NETNS=1
exec unshare -n sh -c 'ip link set lo up && ip link set lo multicast on &&
    ip route add 224.0.0.0/4 dev lo && exec .venv/bin/python -m pytest -q tests "$@"' sh "$@"
