// Package micro is libmicro for Go: go-micro v5's services, clients and broker, served by the
// libmicro engine (Rust) through its C ABI. Services registered here are found and called by
// go-micro v5 peers, and call them, over go-micro's own registry, transport and broker.
//
// Building needs libmicro installed where pkg-config finds it (libmicro.pc), e.g. from the
// repository root:
//
//	make install PREFIX=$HOME/.local
//	export PKG_CONFIG_PATH=$HOME/.local/lib/pkgconfig
//	export CGO_LDFLAGS="-Wl,-rpath,$HOME/.local/lib"   # or set LD_LIBRARY_PATH at run time
//
// The binding links the shared library, libmicro.so; the rpath (or LD_LIBRARY_PATH) lets the
// program find it at run time. To put the engine inside the binary instead, install only
// libmicro.a under the prefix (the linker then takes it) and add its system libraries:
// CGO_LDFLAGS="-lm -ldl -lpthread". In this repository `make go-test` does all this.
//
// Components are chosen as go-micro chooses them: MICRO_REGISTRY (mdns, memory, etcd, nats),
// MICRO_BROKER (http, memory, nats, rabbitmq), MICRO_STORE (file, memory, mysql, postgres, redis, nats), ..., or
// once per process with [Init].
package micro

/*
#cgo pkg-config: libmicro
#cgo CFLAGS: -I${SRCDIR}/../../include
#include <stdlib.h>
#include "micro.h"
*/
import "C"

import "unsafe"

// Config chooses the process's components and runtime; empty fields come from the MICRO_*
// environment, as in go-micro. Every service and client of the process shares them.
type Config struct {
	// WorkerThreads is the engine's thread count (0: one per core).
	WorkerThreads int `json:"worker_threads,omitempty"`
	// Registry is mdns (default), memory, etcd or nats.
	Registry string `json:"registry,omitempty"`
	// RegistryAddress is the registry's address, for registries that have one (etcd:
	// host:port, nats: nats://host:4222).
	RegistryAddress string `json:"registry_address,omitempty"`
	// Broker is http (default), memory, nats or rabbitmq.
	Broker string `json:"broker,omitempty"`
	// BrokerAddress is the broker's address: the http broker's listen address, NATS's
	// (nats://host:4222, ?jetstream=true for at-least-once delivery) or RabbitMQ's URL
	// (amqp://user:password@host:5672/vhost).
	BrokerAddress string `json:"broker_address,omitempty"`
	// Store is file (default), memory, mysql, postgres, redis or nats.
	Store string `json:"store,omitempty"`
	// StoreAddress is the store's address: the file store's directory, or the server's URL.
	StoreAddress string `json:"store_address,omitempty"`
	// StoreDatabase is the store's database name.
	StoreDatabase string `json:"store_database,omitempty"`
	// StoreTable is the store's table name.
	StoreTable string `json:"store_table,omitempty"`
}

// Init starts the engine with cfg. It is optional: without it the first service or client
// starts the engine from the environment. It fails when the engine already runs.
func Init(cfg Config) error {
	text, err := cJSON(cfg)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(text))
	var cerr *C.micro_error
	return check(C.micro_runtime_start(text, &cerr), cerr)
}

// Shutdown stops the engine: running work gets a few seconds to finish. Stop services first
// so they deregister. Every later call fails with [ErrShutdown].
func Shutdown() error {
	var cerr *C.micro_error
	return check(C.micro_runtime_shutdown(&cerr), cerr)
}

// Version is libmicro's version, e.g. "0.1.0".
func Version() string {
	return C.GoString(C.micro_version())
}

// check turns a status and the error the C call filled in into a Go error (nil on success),
// freeing the C error.
func check(status C.int32_t, cerr *C.micro_error) error {
	if status == C.MICRO_OK {
		return nil
	}
	defer C.micro_error_free(cerr)
	return fromC(status, cerr)
}

// fromC copies a C error (which may be NULL) into an *Error.
func fromC(status C.int32_t, cerr *C.micro_error) *Error {
	if cerr == nil {
		return &Error{Id: "micro.ffi", Code: int32(status), Status: C.GoString(C.micro_status_text(status))}
	}
	return &Error{
		Id:     C.GoString(cerr.id),
		Code:   int32(cerr.code),
		Detail: C.GoString(cerr.detail),
		Status: C.GoString(cerr.status),
		Kind:   Kind(C.GoString(cerr.kind)),
	}
}
