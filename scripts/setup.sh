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

# --- browser tests (core/tests/browser.rs drives tests/browser/dashboard.mjs) ---------------
# Debian's Chromium, and playwright-core from package-lock.json; playwright never downloads a
# browser of its own (it uses /usr/bin/chromium).
if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && apt-get install -y -qq chromium
fi
if ! need node || ! need npm; then
    echo "setup: node and npm are missing; install Node.js 20 or newer" >&2
    exit 1
fi
browser_dir="$(dirname "$0")/../tests/browser"
if [ ! -d "$browser_dir/node_modules/playwright-core" ]; then
    (cd "$browser_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
