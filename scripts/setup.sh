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
# The mDNS tests run in network namespaces they create: they need unshare and ip.
if ! need unshare || ! need ip; then
    apt-get update -qq && apt-get install -y -qq util-linux iproute2
fi
