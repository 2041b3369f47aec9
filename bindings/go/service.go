package micro

/*
#include <stdlib.h>
#include "micro.h"
*/
import "C"

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"runtime/cgo"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Handler serves a unary endpoint on raw payloads (JSON as go-micro's JSON codec sends it, or
// whatever the caller's Content-Type says). ctx carries the caller's [Metadata] and its
// deadline. Return an [*Error] to answer with its code; any other error answers 500.
type Handler func(ctx context.Context, req []byte) ([]byte, error)

// StreamHandler serves a stream endpoint (server or bidirectional): it receives and sends on
// the stream until it returns; returning an [*Error] ends the stream with its code, id and
// detail (any other error: a 500 with its text).
type StreamHandler func(ctx context.Context, stream *Stream) error

// MessageHandler handles one broker message: its topic, payload and headers. An error is
// reported to the broker.
type MessageHandler func(ctx context.Context, topic string, body []byte, header Metadata) error

// Service is a go-micro service served by libmicro: add handlers, docs and subscribers, then
// [Service.Run] it (or [Service.Start] and [Service.Stop]), and [Service.Close] it at the end.
// Its methods may be called from any goroutine.
type Service struct {
	name string

	mu      sync.Mutex
	ptr     *C.micro_service
	handles []cgo.Handle
}

// ServiceOption changes how a service is made.
type ServiceOption func(*serviceOptions)

type serviceOptions struct {
	Version          string            `json:"version,omitempty"`
	Address          string            `json:"address,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	RegisterTTL      uint64            `json:"register_ttl,omitempty"`
	RegisterInterval uint64            `json:"register_interval,omitempty"`
	MaxBodySize      int               `json:"max_body_size,omitempty"`
}

// WithVersion sets the version published in the registry (default "latest").
func WithVersion(version string) ServiceOption {
	return func(o *serviceOptions) { o.Version = version }
}

// WithAddress sets the listen address, host:port (default 127.0.0.1:0, a free port; or
// MICRO_SERVER_ADDRESS).
func WithAddress(address string) ServiceOption {
	return func(o *serviceOptions) { o.Address = address }
}

// WithMetadata adds a service metadata entry, published in the registry.
func WithMetadata(key, value string) ServiceOption {
	return func(o *serviceOptions) {
		if o.Metadata == nil {
			o.Metadata = map[string]string{}
		}
		o.Metadata[key] = value
	}
}

// WithRegisterTTL sets how long a registration lives and how often it is renewed (whole
// seconds; defaults 90 s and 30 s).
func WithRegisterTTL(ttl, interval time.Duration) ServiceOption {
	return func(o *serviceOptions) {
		o.RegisterTTL = uint64(ttl / time.Second)
		o.RegisterInterval = uint64(interval / time.Second)
	}
}

// WithMaxBodySize refuses requests with a larger body with 413.
func WithMaxBodySize(bytes int) ServiceOption {
	return func(o *serviceOptions) { o.MaxBodySize = bytes }
}

// NewService makes the service name, using the process's registry and broker (see [Init]).
func NewService(name string, opts ...ServiceOption) (*Service, error) {
	var options serviceOptions
	for _, opt := range opts {
		opt(&options)
	}
	coptions, err := cJSON(options)
	if err != nil {
		return nil, err
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	defer C.free(unsafe.Pointer(coptions))
	s := &Service{name: name}
	var cerr *C.micro_error
	if err := check(C.micro_service_new(cname, coptions, &s.ptr, &cerr), cerr); err != nil {
		return nil, err
	}
	return s, nil
}

// Name is the service's name.
func (s *Service) Name() string { return s.name }

// use runs f with the C service, or fails once the service is closed.
func (s *Service) use(f func(*C.micro_service) error) error {
	s.mu.Lock()
	ptr := s.ptr
	s.mu.Unlock()
	if ptr == nil {
		return stateError("service " + s.name + " is closed; make a new one")
	}
	return f(ptr)
}

// register hands value to C as a handle the service keeps until it is closed.
func (s *Service) register(value any, add func(*C.micro_service, cgo.Handle, **C.micro_error) C.int32_t) error {
	return s.use(func(ptr *C.micro_service) error {
		h := cgo.NewHandle(value)
		var cerr *C.micro_error
		if err := check(add(ptr, h, &cerr), cerr); err != nil {
			h.Delete()
			return err
		}
		s.mu.Lock()
		s.handles = append(s.handles, h)
		s.mu.Unlock()
		return nil
	})
}

// Handle serves the unary endpoint ("Handler.Method") with h. Only before Start.
func (s *Service) Handle(endpoint string, h Handler) error {
	cendpoint := C.CString(endpoint)
	defer C.free(unsafe.Pointer(cendpoint))
	return s.register(handler{service: s.name, fn: h}, func(ptr *C.micro_service, hd cgo.Handle, cerr **C.micro_error) C.int32_t {
		return serviceHandle(ptr, cendpoint, hd, cerr)
	})
}

// HandleStream serves the stream endpoint ("Handler.Method") with h. Only before Start.
func (s *Service) HandleStream(endpoint string, h StreamHandler) error {
	cendpoint := C.CString(endpoint)
	defer C.free(unsafe.Pointer(cendpoint))
	return s.register(streamHandler{service: s.name, fn: h}, func(ptr *C.micro_service, hd cgo.Handle, cerr **C.micro_error) C.int32_t {
		return serviceStream(ptr, cendpoint, hd, cerr)
	})
}

// Subscribe runs h for each message on topic while the service runs. With a non-empty queue
// the service's instances share the messages; else each gets every message. Only before
// Start.
func (s *Service) Subscribe(topic, queue string, h MessageHandler) error {
	ctopic, cqueue := C.CString(topic), optionalCString(queue)
	defer C.free(unsafe.Pointer(ctopic))
	defer C.free(unsafe.Pointer(cqueue))
	return s.register(h, func(ptr *C.micro_service, hd cgo.Handle, cerr **C.micro_error) C.int32_t {
		return serviceSubscribe(ptr, ctopic, cqueue, hd, cerr)
	})
}

// Describe documents an endpoint already added: what it does and an example request as JSON
// ("" for none). The registry, the gateway and MCP tools publish both. A mistake (unknown
// endpoint, example not JSON) is reported by Start.
func (s *Service) Describe(endpoint, description, example string) error {
	return s.call(func(ptr *C.micro_service, cerr **C.micro_error) C.int32_t {
		cendpoint, cdescription, cexample := C.CString(endpoint), C.CString(description), optionalCString(example)
		defer C.free(unsafe.Pointer(cendpoint))
		defer C.free(unsafe.Pointer(cdescription))
		defer C.free(unsafe.Pointer(cexample))
		return C.micro_service_describe(ptr, cendpoint, cdescription, cexample, cerr)
	})
}

// EndpointMetadata sets one metadata entry of an endpoint already added, published in the
// registry: e.g. "scopes" (comma-separated scopes a caller's token needs) or "mcp_name".
func (s *Service) EndpointMetadata(endpoint, key, value string) error {
	return s.call(func(ptr *C.micro_service, cerr **C.micro_error) C.int32_t {
		cendpoint, ckey, cvalue := C.CString(endpoint), C.CString(key), C.CString(value)
		defer C.free(unsafe.Pointer(cendpoint))
		defer C.free(unsafe.Pointer(ckey))
		defer C.free(unsafe.Pointer(cvalue))
		return C.micro_service_endpoint_metadata(ptr, cendpoint, ckey, cvalue, cerr)
	})
}

// Scopes sets the scopes a caller's token needs for an endpoint already added, checked by
// the gateway and MCP when auth is on.
func (s *Service) Scopes(endpoint string, scopes ...string) error {
	return s.EndpointMetadata(endpoint, "scopes", strings.Join(scopes, ","))
}

// call runs one C call on the service and checks its status.
func (s *Service) call(f func(*C.micro_service, **C.micro_error) C.int32_t) error {
	return s.use(func(ptr *C.micro_service) error {
		var cerr *C.micro_error
		return check(f(ptr, &cerr), cerr)
	})
}

// Start listens, subscribes, registers and serves in the background; it returns once the
// service is registered.
func (s *Service) Start() error {
	return s.call(func(ptr *C.micro_service, cerr **C.micro_error) C.int32_t {
		return C.micro_service_start(ptr, cerr)
	})
}

// Stop deregisters, unsubscribes, stops accepting and waits for requests in flight. A second
// Stop fails with [ErrAlreadyStopped].
func (s *Service) Stop() error {
	return s.call(func(ptr *C.micro_service, cerr **C.micro_error) C.int32_t {
		return C.micro_service_stop(ptr, cerr)
	})
}

// Run starts the service (unless it runs already), serves until ctx is done or SIGINT or
// SIGTERM arrives, then stops it cleanly.
func (s *Service) Run(ctx context.Context) error {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	if err := s.Start(); err != nil {
		// Only a running service has an address: then Start failed for having started.
		if _, running := s.Address(); !errors.Is(err, ErrState) || running != nil {
			return err
		}
	}
	select {
	case <-ctx.Done():
	case <-signals:
	}
	return s.Stop()
}

// Address is the address the running service listens on, e.g. 127.0.0.1:40123.
func (s *Service) Address() (string, error) {
	var address string
	err := s.call(func(ptr *C.micro_service, cerr **C.micro_error) C.int32_t {
		var out *C.char
		status := C.micro_service_address(ptr, &out, cerr)
		if out != nil {
			address = C.GoString(out)
			C.micro_string_free(out)
		}
		return status
	})
	return address, err
}

// Close stops the service if it runs and frees it. Call it once, when nothing else uses the
// service; later calls on it fail.
func (s *Service) Close() {
	s.mu.Lock()
	ptr, handles := s.ptr, s.handles
	s.ptr, s.handles = nil, nil
	s.mu.Unlock()
	if ptr == nil {
		return
	}
	C.micro_service_free(ptr)
	for _, h := range handles {
		h.Delete()
	}
}

// optionalCString is NULL for "", else a C copy of text; free it with C.free (NULL is fine).
func optionalCString(text string) *C.char {
	if text == "" {
		return nil
	}
	return C.CString(text)
}
