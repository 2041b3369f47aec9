package micro

/*
#include <stdlib.h>
#include "micro.h"
*/
import "C"

import (
	"sync"
	"unsafe"
)

// GatewayOptions configures [StartGateway]; zero fields take the defaults.
type GatewayOptions struct {
	// Address is host:port or :port (127.0.0.1); default :8080, port 0 picks a free one.
	Address string `json:"address,omitempty"`
	// MaxBodySize refuses larger request bodies with 413.
	MaxBodySize int `json:"max_body_size,omitempty"`
	// MCP serves the MCP tools at /mcp too.
	MCP bool `json:"mcp,omitempty"`
	// AllowedHosts are the host names /mcp answers beyond the loopback names.
	AllowedHosts []string `json:"allowed_hosts,omitempty"`
}

// MCPOptions configures [StartMCP]; zero fields take the defaults.
type MCPOptions struct {
	// Address is host:port or :port (127.0.0.1); default :3000, port 0 picks a free one.
	Address string `json:"address,omitempty"`
	// AllowedHosts are the host names answered beyond the loopback names.
	AllowedHosts []string `json:"allowed_hosts,omitempty"`
	// RateLimit caps calls per second per tool (0: no limit).
	RateLimit float64 `json:"rate_limit,omitempty"`
	// RateBurst is how many calls a tool may take at once above RateLimit.
	RateBurst int `json:"rate_burst,omitempty"`
}

// Server is an HTTP face of the engine running in the background: the API gateway from
// [StartGateway] or the MCP server from [StartMCP]. Stop it, then Close it.
type Server struct {
	mu      sync.Mutex
	address string
	stop    func(**C.micro_error) C.int32_t
	free    func()
}

// StartGateway starts the API gateway (/api/<service>/<Handler.Method>, the dashboard, and
// /mcp when asked) over the process's registry, store and broker.
func StartGateway(opts GatewayOptions) (*Server, error) {
	var gw *C.micro_gateway
	return startServer(opts, func(options *C.char, cerr **C.micro_error) C.int32_t {
		return C.micro_gateway_start(options, &gw, cerr)
	}, func(out **C.char, cerr **C.micro_error) C.int32_t {
		return C.micro_gateway_address(gw, out, cerr)
	}, &Server{
		stop: func(cerr **C.micro_error) C.int32_t { return C.micro_gateway_stop(gw, cerr) },
		free: func() { C.micro_gateway_free(gw) },
	})
}

// StartMCP starts the MCP server (Streamable HTTP at /mcp, GET /mcp/tools, POST /mcp/call):
// the services' endpoints as tools for AI agents.
func StartMCP(opts MCPOptions) (*Server, error) {
	var mcp *C.micro_mcp
	return startServer(opts, func(options *C.char, cerr **C.micro_error) C.int32_t {
		return C.micro_mcp_start(options, &mcp, cerr)
	}, func(out **C.char, cerr **C.micro_error) C.int32_t {
		return C.micro_mcp_address(mcp, out, cerr)
	}, &Server{
		stop: func(cerr **C.micro_error) C.int32_t { return C.micro_mcp_stop(mcp, cerr) },
		free: func() { C.micro_mcp_free(mcp) },
	})
}

// startServer starts a server with options and reads its address.
func startServer(options any, start func(*C.char, **C.micro_error) C.int32_t,
	address func(**C.char, **C.micro_error) C.int32_t, s *Server) (*Server, error) {
	coptions, err := cJSON(options)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(coptions))
	var cerr *C.micro_error
	if err := check(start(coptions, &cerr), cerr); err != nil {
		return nil, err
	}
	var out *C.char
	if err := check(address(&out, &cerr), cerr); err != nil {
		s.free()
		return nil, err
	}
	s.address = C.GoString(out)
	C.micro_string_free(out)
	return s, nil
}

// Address is where the server listens, e.g. 127.0.0.1:8080.
func (s *Server) Address() string { return s.address }

// Stop stops serving and waits for requests in flight; a second Stop fails with
// [ErrAlreadyStopped].
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free == nil {
		return stateError("the server is closed; start a new one")
	}
	var cerr *C.micro_error
	return check(s.stop(&cerr), cerr)
}

// Close stops the server if it runs and frees it; later calls fail.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free != nil {
		s.free()
		s.free = nil
	}
}
