// Command helloworld is a go-micro v5 service written the way a go-micro user writes one, so
// libmicro's client, registry and broker can be tested against the real thing. It registers in
// go-micro's default mDNS registry (etcd or NATS with MICRO_REGISTRY and MICRO_REGISTRY_ADDRESS),
// serves on the HTTP transport and subscribes through the HTTP broker (NATS with MICRO_BROKER=nats
// and MICRO_BROKER_ADDRESS). Run it only inside a network namespace holding just loopback (see
// ../../README.md).
//
//	helloworld [-name gohello] [-address 127.0.0.1:0] [-topic gohello.events] [-version latest]
//
// Stdout carries only machine-readable lines: "ready <host:port>" once the node is registered
// and can be found, one JSON line {"topic","header","body"} per message the subscriber
// receives, and "stopped" after SIGTERM/SIGINT has deregistered it. go-micro logs to stderr.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"go-micro.dev/v5"
	"go-micro.dev/v5/codec/bytes"
	"go-micro.dev/v5/errors"
	"go-micro.dev/v5/metadata"
	"go-micro.dev/v5/server"

	"libmicro/tests/interop/brokerenv"
	"libmicro/tests/interop/netns"
	"libmicro/tests/interop/registryenv"
)

// Request is the body of Call, Fail and Meta.
type Request struct {
	Name string `json:"name"`
}

// Response is the body Call answers with, and each message Stream and Sleep send.
type Response struct {
	Msg string `json:"msg"`
}

// StreamRequest asks Stream for count greetings.
type StreamRequest struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// MetaResponse lists the metadata (transport headers) the handler saw.
type MetaResponse struct {
	Metadata map[string]string `json:"metadata"`
}

// SleepRequest asks Sleep to wait ms milliseconds before answering.
type SleepRequest struct {
	Ms int `json:"ms"`
}

// maxCount bounds Stream so a bad request cannot make the service send forever.
const maxCount = 100000

// Helloworld is the handler; its exported methods become endpoints Helloworld.<Method>.
type Helloworld struct {
	service string
}

// Call greets: {name} -> {msg: "Hello <name>"}.
//
// @example {"name": "Alice"}
func (h *Helloworld) Call(ctx context.Context, req *Request, rsp *Response) error {
	rsp.Msg = "Hello " + req.Name
	return nil
}

// Fail always answers with a go-micro error: id the service name, code 400, detail "bad <name>".
func (h *Helloworld) Fail(ctx context.Context, req *Request, rsp *Response) error {
	return errors.BadRequest(h.service, "bad %s", req.Name)
}

// Meta answers with the metadata the request carried (every transport header).
func (h *Helloworld) Meta(ctx context.Context, req *Request, rsp *MetaResponse) error {
	md, _ := metadata.FromContext(ctx)
	rsp.Metadata = md
	return nil
}

// Sleep waits ms milliseconds, or until the call's deadline, then answers.
func (h *Helloworld) Sleep(ctx context.Context, req *SleepRequest, rsp *Response) error {
	select {
	case <-time.After(time.Duration(req.Ms) * time.Millisecond):
		rsp.Msg = fmt.Sprintf("slept %d ms", req.Ms)
		return nil
	case <-ctx.Done():
		return errors.Timeout(h.service, "deadline passed after less than %d ms", req.Ms)
	}
}

// Stream is a server stream: {name, count} -> count messages {msg: "Hello <name> <i>"}, i from 1.
// As with every go-micro stream handler, the request is the stream's second message: go-micro's
// router drops the body of the first (the one client.NewRequest carried).
//
// Messages go out through send, not stream.Send(&Response{...}): see send for why.
func (h *Helloworld) Stream(ctx context.Context, stream server.Stream) error {
	var req StreamRequest
	if err := stream.Recv(&req); err != nil {
		return err
	}
	if req.Count < 0 || req.Count > maxCount {
		return errors.BadRequest(h.service, "count must be between 0 and %d", maxCount)
	}
	for i := 1; i <= req.Count; i++ {
		if err := send(stream, &Response{Msg: fmt.Sprintf("Hello %s %d", req.Name, i)}); err != nil {
			return err
		}
	}
	return nil
}

// Echo is a bidirectional stream: every message received is sent back unchanged, until the
// client ends the stream.
func (h *Helloworld) Echo(ctx context.Context, stream server.Stream) error {
	for {
		var msg json.RawMessage
		if err := stream.Recv(&msg); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if err := send(stream, msg); err != nil {
			return err
		}
	}
}

// send encodes msg as JSON and sends the bytes as a raw frame. go-micro v5.30.0's server codec
// encodes a typed message into one buffer per stream and queues a slice of that buffer for a
// separate writer goroutine, so a handler that sends again before the writer has caught up
// overwrites the earlier message: three quick stream.Send calls arrive as three copies of the
// last. A raw frame is queued as its own bytes and is sent unchanged.
func send(stream server.Stream, msg any) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	return stream.Send(&bytes.Frame{Data: data})
}

// printer writes whole lines to stdout from any goroutine.
type printer struct {
	mu  sync.Mutex
	out *json.Encoder
}

func (p *printer) line(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Println(s)
}

func (p *printer) json(v any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Encode(v)
}

// received is what the subscriber prints for each message.
type received struct {
	Topic  string            `json:"topic"`
	Header map[string]string `json:"header"`
	Body   json.RawMessage   `json:"body"`
}

func main() {
	name := flag.String("name", "gohello", "service name to register")
	address := flag.String("address", "127.0.0.1:0", "host:port the RPC server listens on")
	topic := flag.String("topic", "gohello.events", "topic the subscriber listens on (empty: none)")
	version := flag.String("version", "latest", "service version to register")
	flag.Parse()

	if err := netns.Check(); err != nil {
		fail(err)
	}
	if err := run(*name, *address, *topic, *version); err != nil {
		fail(err)
	}
}

func run(name, address, topic, version string) error {
	out := &printer{out: json.NewEncoder(os.Stdout)}

	var svc micro.Service
	opts := []micro.Option{
		micro.Address(address),
		micro.Version(version),
		micro.AfterStart(func() error { return announce(svc, out) }),
	}
	if r := registryenv.FromEnv(); r != nil {
		opts = append(opts, micro.Registry(r))
	}
	opts = append(opts, micro.Broker(brokerenv.FromEnv()))
	svc = micro.New(name, opts...)
	if err := micro.RegisterHandler(svc.Server(), &Helloworld{service: name}); err != nil {
		return fmt.Errorf("registering the handler: %w", err)
	}
	if topic != "" {
		subscriber := func(ctx context.Context, body *json.RawMessage) error {
			header, _ := metadata.FromContext(ctx)
			return out.json(received{Topic: topic, Header: header, Body: *body})
		}
		if err := micro.RegisterSubscriber(topic, svc.Server(), subscriber); err != nil {
			return fmt.Errorf("registering the subscriber on %q: %w", topic, err)
		}
	}
	// Run blocks until SIGTERM/SIGINT/SIGQUIT, then stops the server, which deregisters the
	// node and unsubscribes.
	if err := svc.Run(); err != nil {
		return err
	}
	out.line("stopped")
	return nil
}

// announce prints "ready <address>" once the registry answers with this node. go-micro's server
// only logs a failed registration, so the check makes "ready" mean "can be found".
func announce(svc micro.Service, out *printer) error {
	opts := svc.Server().Options()
	nodeID := opts.Name + "-" + opts.Id
	services, err := svc.Options().Registry.GetService(opts.Name)
	if err != nil {
		return fmt.Errorf("looking up our own registration: %w", err)
	}
	for _, s := range services {
		for _, n := range s.Nodes {
			if n.Id == nodeID {
				out.line("ready " + opts.Address)
				return nil
			}
		}
	}
	return fmt.Errorf("node %s is not in the registry after start; see the log above", nodeID)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "helloworld:", err)
	os.Exit(1)
}
