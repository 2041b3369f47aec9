#!/usr/bin/env bash
# Installs what the Go binding's tests (make go-test) need and a fresh machine may lack: Go,
# pkg-config (the binding finds libmicro through libmicro.pc), unshare and ip (the tests run
# in a network namespace of their own). Safe to run again: installs only what is missing. The
# binding itself needs no Go modules beyond the standard library.
set -euo pipefail

if ! command -v go >/dev/null 2>&1; then
    echo "go.sh: go is missing; install Go 1.22 or newer (https://go.dev/dl/)" >&2
    exit 1
fi
missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}"
fi
