# libmicro: `make run` starts the example under `micro run`, `make test` installs what is
# missing and runs every suite, `make bench` runs the benchmarks. Build output lives outside the clone.

export CARGO_TARGET_DIR ?= $(HOME)/.cache/libmicro/target
CARGO ?= cargo

.PHONY: run test setup lint go-tools rust-test bench node-test

# micro run builds helloworld (debug: quick to rebuild), serves the gateway on :8080 and
# restarts helloworld when its files change.
run:
	$(CARGO) run -p micro-cli --bin micro -- run examples/helloworld

test: setup lint rust-test node-test

setup:
	@./scripts/setup.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# Go programs built on go-micro v5.30.0 that the Rust tests drive to prove interop, and
# go-micro's own micro CLI (from the Go module proxy), all into tests/interop/bin/.
go-tools:
	cd tests/interop && GOFLAGS=-mod=mod go build -o bin/ ./cmd/...
	cd tests/interop && GOFLAGS=-mod=mod go build -o bin/micro go-micro.dev/v5/cmd/micro

rust-test: go-tools
	MICRO_INTEROP_REQUIRED=1 MICRO_BROWSER_REQUIRED=1 MICRO_MCP_CLIENTS_REQUIRED=1 $(CARGO) test --workspace --locked

bench:
	$(CARGO) bench -p micro

# The go-micro npm package: npm ci, the native addon, and its node:test suite (JS, Rust and
# Python calling each other over mDNS in a network namespace).
node-test:
	MICRO_NODE_INTEROP_REQUIRED=1 ./scripts/node.sh
