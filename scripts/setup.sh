#!/usr/bin/env bash
# Installs what the test suites need and a fresh machine may lack. Safe to run again.
set -euo pipefail

need() { command -v "$1" >/dev/null 2>&1; }

if ! need cargo; then
    echo "setup: cargo is missing; install Rust with rustup first" >&2
    exit 1
fi
for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
        rustup component add "$component"
    fi
done
# The networked tests run in network namespaces they create (unshare, ip); the interop tests
# build go-micro programs (go); the RPC bench polls health with curl.
if ! need go; then
    echo "setup: go is missing; install Go 1.24 or newer" >&2
    exit 1
fi
if ! need unshare || ! need ip || ! need curl; then
    apt-get update -qq && apt-get install -y -qq util-linux iproute2 curl
fi
