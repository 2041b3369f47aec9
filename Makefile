# libmicro: `make run` starts the example under `micro run`, `make test` installs what is
# missing and runs every suite, `make bench` runs the benchmarks. Build output lives outside the clone.

export CARGO_TARGET_DIR ?= $(HOME)/.cache/libmicro/target
CARGO ?= cargo

.PHONY: run test setup lint go-tools rust-test bench bench-distributed node-test ffi header c-test c-examples install bench-ffi python-test go-test toolkit-test bench-python bench-go bench-http

# micro run builds helloworld (debug: quick to rebuild), serves the gateway on :8080 and
# restarts helloworld when its files change.
run:
	@./scripts/protoc.sh
	$(CARGO) run -p micro-cli --bin micro -- run examples/helloworld

test: setup lint rust-test node-test c-test python-test go-test toolkit-test
	./scripts/servers.sh stop

setup:
	@./scripts/setup.sh

# The Dockerfile is checked with hadolint only: no container runs on the project's machines.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	./scripts/dockerfile.sh

# Go programs built on go-micro v5.30.0 that the Rust tests drive to prove interop, and
# go-micro's own micro CLI (from the Go module proxy), all into tests/interop/bin/.
go-tools:
	cd tests/interop && GOFLAGS=-mod=mod go build -o bin/ ./cmd/...
	cd tests/interop && GOFLAGS=-mod=mod go build -o bin/micro go-micro.dev/v5/cmd/micro

rust-test: go-tools
	MICRO_INTEROP_REQUIRED=1 MICRO_BROWSER_REQUIRED=1 MICRO_MCP_CLIENTS_REQUIRED=1 $(CARGO) test --workspace --locked

bench: bench-ffi bench-python bench-go bench-http bench-distributed
	$(CARGO) bench -p micro --all-features

# The go-micro npm package: npm ci, the native addon, and its node:test suite (JS, Rust and
# Python calling each other over mDNS in a network namespace).
node-test:
	MICRO_NODE_INTEROP_REQUIRED=1 ./scripts/node.sh

# --- C: libmicro (ffi/) ------------------------------------------------------------------
# `make ffi` builds libmicro.so, libmicro.a (FFI_PROFILE=release or debug) under the target
# dir; `make install PREFIX=/usr/local` puts them, include/micro.h and libmicro.pc in place
# (libmicro.so.0.1.0, with libmicro.so.0, its soname, and libmicro.so linking to it);
# `make header` regenerates include/micro.h (a test fails when it drifts); `make c-test`
# installs into a scratch prefix and runs the C tests under valgrind (test_fork without: its
# child forgets the parent's runtime on purpose, whose threads it does not have) and the C
# examples.
PREFIX ?= /usr/local
FFI_PROFILE ?= release
FFI_DIR = $(CARGO_TARGET_DIR)/$(FFI_PROFILE)
FFI_VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
# The soname ffi/build.rs gives the library: libmicro.so.<major>.
FFI_SONAME = libmicro.so.$(firstword $(subst ., ,$(FFI_VERSION)))
C_BUILD = $(CARGO_TARGET_DIR)/c
C_PREFIX = $(C_BUILD)/prefix
C_FLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g
VALGRIND = valgrind --leak-check=full --errors-for-leak-kinds=definite,possible \
	--error-exitcode=1 --suppressions=tests/c/valgrind.supp --num-callers=40

ffi:
	$(CARGO) build -p micro-ffi --locked $(if $(filter release,$(FFI_PROFILE)),--release)

header:
	MICRO_UPDATE_HEADER=1 $(CARGO) test -p micro-ffi --test header

install: ffi
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(FFI_DIR)/libmicro_ffi.so $(DESTDIR)$(PREFIX)/lib/libmicro.so.$(FFI_VERSION)
	ln -sfn libmicro.so.$(FFI_VERSION) $(DESTDIR)$(PREFIX)/lib/$(FFI_SONAME)
	ln -sfn $(FFI_SONAME) $(DESTDIR)$(PREFIX)/lib/libmicro.so
	install -m 644 $(FFI_DIR)/libmicro_ffi.a $(DESTDIR)$(PREFIX)/lib/libmicro.a
	install -m 644 include/micro.h $(DESTDIR)$(PREFIX)/include/micro.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(FFI_VERSION)|' ffi/libmicro.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/libmicro.pc

# Built against an installed libmicro through pkg-config, as a user would.
c-examples:
	mkdir -p $(C_BUILD)
	for example in service client ai_service ai_tools ai_flow; do \
		$(CC) $(C_FLAGS) examples/c/$$example.c -o $(C_BUILD)/$$example \
			$$(pkg-config --cflags --libs libmicro) -Wl,-rpath,$$(pkg-config --variable=libdir libmicro) || exit 1; \
	done

c-test:
	./scripts/ffi.sh
	$(CARGO) test -p micro-ffi --locked
	$(MAKE) install PREFIX=$(C_PREFIX) FFI_PROFILE=debug
	PKG_CONFIG_PATH=$(C_PREFIX)/lib/pkgconfig $(MAKE) c-examples
	export PKG_CONFIG_PATH=$(C_PREFIX)/lib/pkgconfig; \
	$(CC) $(C_FLAGS) tests/c/test_micro.c -o $(C_BUILD)/test_micro \
		$$(pkg-config --cflags --libs libmicro) -Wl,-rpath,$(C_PREFIX)/lib -lpthread && \
	$(CC) $(C_FLAGS) tests/c/test_micro.c -o $(C_BUILD)/test_micro_static $$(pkg-config --cflags libmicro) \
		$(C_PREFIX)/lib/libmicro.a $$(pkg-config --static --libs-only-l libmicro | sed 's/-lmicro//') && \
	$(CC) $(C_FLAGS) tests/c/test_fork.c -o $(C_BUILD)/test_fork \
		$$(pkg-config --cflags --libs libmicro) -Wl,-rpath,$(C_PREFIX)/lib && \
	$(CC) $(C_FLAGS) tests/c/test_ai.c -o $(C_BUILD)/test_ai \
		$$(pkg-config --cflags --libs libmicro) -Wl,-rpath,$(C_PREFIX)/lib -lpthread
	$(VALGRIND) $(C_BUILD)/test_micro
	$(VALGRIND) $(C_BUILD)/test_ai
	$(C_BUILD)/test_micro_static
	$(C_BUILD)/test_fork
	./tests/c/examples.sh $(C_BUILD)

# An in-process call through the C ABI against the same call made directly in Rust.
bench-ffi:
	$(CARGO) bench -p micro-ffi --bench call

# The go-micro Python package: python/.venv with maturin, pytest, mypy and pydantic, the
# extension built into it, its stubs checked (stubtest, mypy --strict), and pytest (in-process,
# fork and exit, and Python with the micro CLI, the Rust client and helloworld over mDNS in a
# network namespace).
python-test:
	./python/test.sh

# --- Go: bindings/go over libmicro ---------------------------------------------------------
# Installs libmicro (debug) into the C tests' scratch prefix, which the binding finds through
# pkg-config (linking libmicro.so, found at run time through the rpath); builds the programs the
# interop tests start (libmicro's micro and helloworld, go-micro's through go-tools); then
# gofmt, go vet and go test in bindings/go (the tests run in a network namespace they make),
# and go vet, go build and a run of examples/go (service and client, in a network namespace),
# and go vet of the Go bench (bench/go), so it keeps building.
GO_ENV = PKG_CONFIG_PATH=$(C_PREFIX)/lib/pkgconfig CGO_LDFLAGS="-Wl,-rpath,$(C_PREFIX)/lib"

go-test: go-tools
	./scripts/go.sh
	$(MAKE) install PREFIX=$(C_PREFIX) FFI_PROFILE=debug
	$(CARGO) build -p micro-cli -p helloworld --locked
	test -z "$$(gofmt -l bindings/go examples/go bench/go)" || { gofmt -l bindings/go examples/go bench/go; exit 1; }
	cd bindings/go && $(GO_ENV) go vet ./... && $(GO_ENV) MICRO_BIN_DIR=$(CARGO_TARGET_DIR)/debug \
		MICRO_INTEROP_REQUIRED=1 go test -count=1 ./...
	cd examples/go && $(GO_ENV) go vet ./... && $(GO_ENV) go build -o $(CARGO_TARGET_DIR)/go/ ./...
	./examples/go/check.sh $(CARGO_TARGET_DIR)/go
	cd bench/go && $(GO_ENV) go vet .

# The same unary call from Go through go-micro v5.30.0 and through bindings/go (libmicro release
# build), each in its own process in a network namespace; figures in bench/results/go.md.
bench-go:
	./bench/go/run.sh

# The LangChain and LlamaIndex toolkits (python/langchain, python/llamaindex, sharing
# python/toolkit): their venvs, the go-micro wheel, and their pytest suites against the real
# micro gateway and helloworld (and in-process) in a network namespace.
toolkit-test:
	./scripts/toolkit.sh test

# The gateway and MCP gateway under wrk against go-micro's, at the default thread count and
# pinned (set MICRO_BENCH_BEFORE="$$(bench/before.sh <commit>)" to add an earlier build's rows);
# figures in bench/results/gateway.md and mcp.md.
# etcd registry and MySQL/Postgres/Redis stores against go-micro on the same servers (scripts/servers.sh).
bench-distributed:
	./bench/distributed/run.sh

bench-http:
	./bench/gateway/run.sh
	./bench/mcp/run.sh

# The Python binding against Rust (release builds, in a netns); results in bench/results/python.md.
bench-python:
	./bench/python/run.sh
