#!/usr/bin/env bash
# The LangChain and LlamaIndex toolkits (python/langchain, python/llamaindex, sharing
# python/toolkit): `scripts/toolkit.sh setup` makes their venvs, each redone only when its
# requirements change, and installs the go-micro package built from python/ into both;
# `scripts/toolkit.sh test` (what `make toolkit-test` runs) also builds
# micro and helloworld and runs the three pytest suites inside a network namespace of their
# own, where the gateway and helloworld find each other over mDNS.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/libmicro/target}"

setup() {
    local dir
    for dir in "$root/python/langchain" "$root/python/llamaindex"; do
        local stamp="$dir/.venv/installed-requirements.txt"
        if cat "$dir/requirements-test.txt" "$dir/pyproject.toml" "$root/python/toolkit/pyproject.toml" \
            | cmp -s - "$stamp"; then
            continue
        fi
        [ -x "$dir/.venv/bin/python" ] || python3 -m venv "$dir/.venv"
        (cd "$dir" && .venv/bin/pip install -q --disable-pip-version-check -r requirements-test.txt)
        cat "$dir/requirements-test.txt" "$dir/pyproject.toml" "$root/python/toolkit/pyproject.toml" > "$stamp"
    done
    # The go-micro package (python/, built by maturin, debug profile) for the in-process mode,
    # as a wheel into both venvs; cargo rebuilds only what changed.
    local wheels="$CARGO_TARGET_DIR/toolkit-wheels"
    rm -rf "$wheels"
    "$root/python/langchain/.venv/bin/maturin" build -q --profile dev -m "$root/python/Cargo.toml" --out "$wheels"
    for dir in "$root/python/langchain" "$root/python/llamaindex"; do
        "$dir/.venv/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps "$wheels"/go_micro-*.whl
    done
    if ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then
        apt-get update -qq && apt-get install -y -qq util-linux iproute2
    fi
}

run_tests() {
    setup
    cargo build -q -p micro-cli -p helloworld
    export MICRO_BIN="$CARGO_TARGET_DIR/debug/micro" HELLOWORLD_BIN="$CARGO_TARGET_DIR/debug/helloworld"
    export MICRO_TOOLKIT_LOCAL_REQUIRED=1
    local pytest=(-m pytest -q -p no:cacheprovider)
    local status=0
    netns "$root/python/toolkit" "$root/python/langchain/.venv/bin/python" "${pytest[@]}" tests || status=1
    netns "$root/python/langchain" .venv/bin/python "${pytest[@]}" tests || status=1
    netns "$root/python/llamaindex" .venv/bin/python "${pytest[@]}" tests || status=1
    return $status
}

# Runs a command in `dir`, in a new network namespace with multicast on loopback only.
netns() {
    local dir="$1"
    shift
    (cd "$dir" && unshare -n sh -c 'ip link set lo up && ip link set lo multicast on &&
        ip route add 224.0.0.0/4 dev lo && exec "$@"' netns "$@")
}

# A tool call in-process against the same call through the gateway, on release builds (the
# go-micro wheel too); the table goes in bench/results/toolkits.md.
bench() {
    setup
    cargo build -q --release -p micro-cli -p helloworld
    local wheels="$CARGO_TARGET_DIR/toolkit-wheels-release" dir
    rm -rf "$wheels"
    "$root/python/langchain/.venv/bin/maturin" build -q --release -m "$root/python/Cargo.toml" --out "$wheels"
    export MICRO_BIN="$CARGO_TARGET_DIR/release/micro" HELLOWORLD_BIN="$CARGO_TARGET_DIR/release/helloworld"
    for dir in "$root/python/langchain" "$root/python/llamaindex"; do
        "$dir/.venv/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps "$wheels"/go_micro-*.whl
        netns "$dir" .venv/bin/python "$root/python/toolkit/bench/tool_calls.py"
    done
    # Leave the test build (debug) installed, as `test` expects.
    setup
}

case "${1:-test}" in
    setup) setup ;;
    test) run_tests ;;
    bench) bench ;;
    *) echo "usage: scripts/toolkit.sh [setup|test|bench]" >&2; exit 2 ;;
esac
