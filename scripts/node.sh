#!/usr/bin/env bash
# The go-micro npm package (node/): installs what is missing (npm install from the committed lock,
# the examples' link to the package), builds the micro CLI and helloworld for the interop
# tests, the native addon (napi build, debug) and the JS face (tsc), then runs the node:test
# suite. Safe to re-run. Set MICRO_NODE_INTEROP_REQUIRED=1 to fail rather than skip the
# cross-process tests when their binaries are missing.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/libmicro/target}"

cd "$root/node"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    # `npm install` from the committed lock: npm 11's `npm ci` refuses this lock, whose
    # @napi-rs/cli pulls per-platform optional packages it does not record for other platforms.
    npm install --no-audit --no-fund
fi
if [ ! -e "$root/examples/node/node_modules/go-micro" ]; then
    (cd "$root/examples/node" && npm install --no-audit --no-fund --no-package-lock)
fi

cargo build -q -p micro-cli -p helloworld
./node_modules/.bin/napi build --platform --js native.js --dts native.d.ts
./node_modules/.bin/tsc -p tsconfig.json

node --test --test-concurrency=1 test/*.test.mjs test/*.test.cjs
