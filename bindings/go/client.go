package micro

/*
#include <stdlib.h>
#include "micro.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"runtime/cgo"
	"sync"
	"time"
	"unsafe"
)

// Client calls services and publishes messages through the process's registry and broker.
// Share one between goroutines.
type Client struct {
	mu  sync.RWMutex
	ptr *C.micro_client
}

// ClientOption changes how a client is made.
type ClientOption func(*clientOptions)

type clientOptions struct {
	Selector    string `json:"selector,omitempty"`
	PoolSize    int    `json:"pool_size,omitempty"`
	PoolTTL     uint64 `json:"pool_ttl,omitempty"`
	MaxBodySize int    `json:"max_body_size,omitempty"`
}

// WithSelector picks how a node of a service is chosen: "random" (default) or "roundrobin".
func WithSelector(selector string) ClientOption {
	return func(o *clientOptions) { o.Selector = selector }
}

// WithPool sets the connection pool: connections kept per node, and how long an idle one
// lives (whole seconds).
func WithPool(size int, ttl time.Duration) ClientOption {
	return func(o *clientOptions) {
		o.PoolSize = size
		o.PoolTTL = uint64(ttl / time.Second)
	}
}

// WithResponseLimit refuses responses larger than bytes.
func WithResponseLimit(bytes int) ClientOption {
	return func(o *clientOptions) { o.MaxBodySize = bytes }
}

// NewClient makes a client over the process's registry and broker (see [Init]).
func NewClient(opts ...ClientOption) (*Client, error) {
	var options clientOptions
	for _, opt := range opts {
		opt(&options)
	}
	coptions, err := cJSON(options)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(coptions))
	c := &Client{}
	var cerr *C.micro_error
	if err := check(C.micro_client_new(coptions, &c.ptr, &cerr), cerr); err != nil {
		return nil, err
	}
	return c, nil
}

// CallOption changes one call.
type CallOption func(*callOptions)

type callOptions struct {
	TimeoutMs     int64    `json:"timeout_ms,omitempty"`
	DialTimeoutMs int64    `json:"dial_timeout_ms,omitempty"`
	Retries       *int     `json:"retries,omitempty"`
	Backoff       string   `json:"backoff,omitempty"`
	Metadata      Metadata `json:"metadata,omitempty"`
	Address       []string `json:"address,omitempty"`
	ContentType   string   `json:"content_type,omitempty"`
}

// WithNodes calls these nodes (host:port) directly, without asking the registry.
func WithNodes(addresses ...string) CallOption {
	return func(o *callOptions) { o.Address = addresses }
}

// WithRetries sets how many times a failed call is retried on another node (go-micro's
// default is 1).
func WithRetries(retries int) CallOption {
	return func(o *callOptions) { o.Retries = &retries }
}

// WithoutBackoff retries at once instead of after an exponential backoff.
func WithoutBackoff() CallOption {
	return func(o *callOptions) { o.Backoff = "none" }
}

// WithDialTimeout bounds connecting to a node.
func WithDialTimeout(timeout time.Duration) CallOption {
	return func(o *callOptions) { o.DialTimeoutMs = max(1, timeout.Milliseconds()) }
}

// WithContentType sets the request's Content-Type (default application/json), for payloads
// in another codec such as application/protobuf.
func WithContentType(contentType string) CallOption {
	return func(o *callOptions) { o.ContentType = contentType }
}

// callOptionsJSON is the C options of a call made with ctx: ctx's metadata and deadline
// (as the call's timeout) and opts.
func callOptionsJSON(ctx context.Context, opts []CallOption) (*C.char, error) {
	options := callOptions{Metadata: outgoing(ctx)}
	if deadline, ok := ctx.Deadline(); ok {
		// Rounded up, so the engine never gives up before ctx does.
		options.TimeoutMs = max(1, (time.Until(deadline) + time.Millisecond - 1).Milliseconds())
	}
	for _, opt := range opts {
		opt(&options)
	}
	return cJSON(options)
}

// use runs f with the C client, or fails once the client is closed.
func (c *Client) use(f func(*C.micro_client) error) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return stateError("the client is closed; make a new one")
	}
	return f(c.ptr)
}

// Call calls endpoint ("Handler.Method") of service with the request payload and returns the
// response payload. ctx's deadline is the call's timeout (else the engine's default, 30 s)
// and its [Metadata] is sent with it; when ctx is done first, Call returns ctx.Err() (a
// deadline as a 408 [*Error] that also matches context.DeadlineExceeded). A
// failed call returns an [*Error]: 404 for an unknown service, 408 for a timeout, or the
// handler's own.
func (c *Client) Call(ctx context.Context, service, endpoint string, req []byte, opts ...CallOption) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(err)
	}
	coptions, err := callOptionsJSON(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(coptions))
	cservice, cendpoint := C.CString(service), C.CString(endpoint)
	defer C.free(unsafe.Pointer(cservice))
	defer C.free(unsafe.Pointer(cendpoint))

	done := make(chan callResult, 1)
	var call *C.micro_call
	err = c.use(func(ptr *C.micro_client) error {
		h := cgo.NewHandle(done)
		var cerr *C.micro_error
		status := clientCallAsync(ptr, cservice, cendpoint, (*C.uint8_t)(unsafe.SliceData(req)),
			C.size_t(len(req)), coptions, h, &call, &cerr)
		if err := check(status, cerr); err != nil {
			h.Delete()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	defer C.micro_call_free(call)
	select {
	case result := <-done:
		return result.body, deadlineError(ctx, result.err)
	case <-ctx.Done():
		// The engine drops the request and completes the call; its result goes unread.
		C.micro_call_cancel(call, nil)
		return nil, contextError(ctx.Err())
	}
}

// deadlineError is err, except that a timeout of a call whose context has a deadline (which
// set the call's timeout) also matches context.DeadlineExceeded, as when ctx ends first.
func deadlineError(ctx context.Context, err error) error {
	var merr *Error
	if _, ok := ctx.Deadline(); !ok || !errors.As(err, &merr) || merr.Code != 408 {
		return err
	}
	wrapped := *merr
	wrapped.cause = context.DeadlineExceeded
	return &wrapped
}

// contextError is the error of a call whose context is done: a 408 *Error for a deadline
// (matching context.DeadlineExceeded too), else ctx.Err() itself.
func contextError(err error) error {
	if err == context.DeadlineExceeded {
		return &Error{Id: "go.micro.client", Code: 408, Detail: "call timeout: context deadline exceeded",
			Status: "Request Timeout", cause: err}
	}
	return err
}

// Publish publishes body on topic as go-micro's client does: with Content-Type
// application/json (or [WithContentType]'s), Micro-Topic, a fresh Micro-Id and ctx's
// [Metadata] as headers. It returns once the message is handed to the broker.
func (c *Client) Publish(ctx context.Context, topic string, body []byte, opts ...CallOption) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var options callOptions
	for _, opt := range opts {
		opt(&options)
	}
	cmetadata, err := cJSON(outgoing(ctx))
	if err != nil {
		return err
	}
	ctopic, ctype := C.CString(topic), optionalCString(options.ContentType)
	defer C.free(unsafe.Pointer(cmetadata))
	defer C.free(unsafe.Pointer(ctopic))
	defer C.free(unsafe.Pointer(ctype))
	return c.use(func(ptr *C.micro_client) error {
		var cerr *C.micro_error
		return check(C.micro_client_publish(ptr, ctopic, (*C.uint8_t)(unsafe.SliceData(body)),
			C.size_t(len(body)), ctype, cmetadata, &cerr), cerr)
	})
}

// Stream opens a stream to endpoint of service. ctx's deadline bounds the opening only; its
// [Metadata] is sent. Close the stream when done with it.
func (c *Client) Stream(ctx context.Context, service, endpoint string, opts ...CallOption) (*Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(err)
	}
	coptions, err := callOptionsJSON(ctx, opts)
	if err != nil {
		return nil, err
	}
	cservice, cendpoint := C.CString(service), C.CString(endpoint)
	defer C.free(unsafe.Pointer(coptions))
	defer C.free(unsafe.Pointer(cservice))
	defer C.free(unsafe.Pointer(cendpoint))
	s := &Stream{}
	err = c.use(func(ptr *C.micro_client) error {
		var cerr *C.micro_error
		return check(C.micro_client_stream(ptr, cservice, cendpoint, coptions, &s.ptr, &cerr), cerr)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Close frees the client; calls under way still complete, later ones fail.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr != nil {
		C.micro_client_free(c.ptr)
		c.ptr = nil
	}
}

// cJSON is value as C JSON text, to free with C.free.
func cJSON(value any) (*C.char, error) {
	text, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	return C.CString(string(text)), nil
}
