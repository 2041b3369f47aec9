// Command client is a go-micro v5 client on the command line, so libmicro's server and broker
// can be tested against go-micro's real client. It finds services in go-micro's default mDNS
// registry (etcd with MICRO_REGISTRY=etcd and MICRO_REGISTRY_ADDRESS) and calls them over the HTTP transport with the JSON codec; run it only inside a
// network namespace holding just loopback (see ../../README.md). It publishes and subscribes
// through go-micro's HTTP broker, or its RabbitMQ broker with MICRO_BROKER=rabbitmq and
// MICRO_BROKER_ADDRESS.
//
//	client [flags] call <service> <endpoint> <json>      print the response JSON
//	client [flags] stream <service> <endpoint> <json>... send each JSON, print each reply, one a line
//	client [flags] publish <topic> <json>                publish with client.Publish
//	client [flags] subscribe <topic>                     print "ready", then each message
//
// Flags (before the command): -address host:port calls that node directly instead of asking
// the registry; -timeout sets the request timeout; -H Key:Value (repeatable) adds call
// metadata; -linger keeps publish alive for go-micro's asynchronous delivery (default 1s);
// -queue names the subscribe queue; -n stops stream or subscribe after n messages
// (stream then closes its side, sending go-micro's end-of-stream).
//
// A go-micro error is printed as its JSON on the last line of stderr and the exit code is 2
// (go-micro itself may log lines before it); any other failure exits 1.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"go-micro.dev/v5/broker"
	"go-micro.dev/v5/client"
	"go-micro.dev/v5/errors"
	"go-micro.dev/v5/metadata"

	"libmicro/tests/interop/brokerenv"
	"libmicro/tests/interop/netns"
	"libmicro/tests/interop/registryenv"
)

// headerFlags collects repeated -H Key:Value flags.
type headerFlags map[string]string

func (h headerFlags) String() string { return fmt.Sprint(map[string]string(h)) }

func (h headerFlags) Set(s string) error {
	key, value, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(key) == "" {
		return fmt.Errorf("want Key:Value, got %q", s)
	}
	h[strings.TrimSpace(key)] = strings.TrimSpace(value)
	return nil
}

type options struct {
	address string
	timeout time.Duration
	header  headerFlags
	queue   string
	count   int
	linger  time.Duration
}

func main() {
	opts := options{header: headerFlags{}}
	flag.StringVar(&opts.address, "address", "", "call this host:port directly instead of asking the registry")
	flag.DurationVar(&opts.timeout, "timeout", 10*time.Second, "request timeout (call) or whole-stream timeout (stream)")
	flag.Var(opts.header, "H", "call metadata Key:Value (repeatable)")
	flag.StringVar(&opts.queue, "queue", "", "subscribe: queue group name (default: broadcast)")
	flag.IntVar(&opts.count, "n", 0, "stream, subscribe: stop after this many messages (0: until the server ends the stream, or a signal)")
	flag.DurationVar(&opts.linger, "linger", time.Second, "publish: stay this long after publishing, for go-micro's asynchronous delivery")
	flag.Usage = usage
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		usage()
		os.Exit(1)
	}
	if err := netns.Check(); err != nil {
		failWith(err)
	}

	var err error
	switch cmd, rest := args[0], args[1:]; {
	case cmd == "call" && len(rest) == 3:
		err = call(opts, rest[0], rest[1], rest[2])
	case cmd == "stream" && len(rest) >= 3:
		err = stream(opts, rest[0], rest[1], rest[2:])
	case cmd == "publish" && len(rest) == 2:
		err = publish(opts, rest[0], rest[1])
	case cmd == "subscribe" && len(rest) == 1:
		err = subscribe(opts, rest[0])
	default:
		usage()
		os.Exit(1)
	}
	if err != nil {
		failWith(err)
	}
}

// newClient is go-micro's client on the registry MICRO_REGISTRY names (default mDNS) and the
// broker MICRO_BROKER names (default HTTP).
func newClient() client.Client {
	opts := []client.Option{client.Broker(brokerenv.FromEnv())}
	if r := registryenv.FromEnv(); r != nil {
		opts = append(opts, client.Registry(r))
	}
	return client.NewClient(opts...)
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: client [flags] call <service> <endpoint> <json>
       client [flags] stream <service> <endpoint> <json>...
       client [flags] publish <topic> <json>
       client [flags] subscribe <topic>
flags:`)
	flag.PrintDefaults()
}

// body checks that text is one JSON value, so a typo fails here and not at the server.
func body(text string) (json.RawMessage, error) {
	if !json.Valid([]byte(text)) {
		return nil, fmt.Errorf("request %q is not valid JSON", text)
	}
	return json.RawMessage(text), nil
}

// callContext carries the -H metadata and the timeout.
func callContext(opts options) (context.Context, context.CancelFunc) {
	ctx := context.Background()
	if len(opts.header) > 0 {
		ctx = metadata.NewContext(ctx, metadata.Metadata(opts.header))
	}
	return context.WithTimeout(ctx, opts.timeout)
}

func callOptions(opts options) []client.CallOption {
	var out []client.CallOption
	if opts.address != "" {
		out = append(out, client.WithAddress(opts.address))
	}
	return out
}

func call(opts options, service, endpoint, text string) error {
	req, err := body(text)
	if err != nil {
		return err
	}
	ctx, cancel := callContext(opts)
	defer cancel()

	c := newClient()
	var rsp json.RawMessage
	if err := c.Call(ctx, c.NewRequest(service, endpoint, req), &rsp, callOptions(opts)...); err != nil {
		return err
	}
	fmt.Println(string(rsp))
	return nil
}

// stream opens a stream the way protoc-gen-micro's generated clients do: the first request goes
// with client.NewRequest (go-micro servers drop that first body) and again with Send, which is
// the message a go-micro stream handler's first Recv returns. Every further JSON is sent after
// it. It prints each message until the server ends the stream, or until -n messages, then
// closes the stream (which sends go-micro's end-of-stream message).
func stream(opts options, service, endpoint string, texts []string) error {
	msgs := make([]json.RawMessage, len(texts))
	for i, text := range texts {
		msg, err := body(text)
		if err != nil {
			return err
		}
		msgs[i] = msg
	}
	ctx, cancel := callContext(opts)
	defer cancel()

	c := newClient()
	s, err := c.Stream(ctx, c.NewRequest(service, endpoint, msgs[0]), callOptions(opts)...)
	if err != nil {
		return err
	}
	defer s.Close()
	for _, msg := range msgs {
		if err := s.Send(msg); err != nil {
			return err
		}
	}
	for seen := 0; opts.count == 0 || seen < opts.count; seen++ {
		var msg json.RawMessage
		err := s.Recv(&msg)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Println(string(msg))
	}
	return nil
}

func publish(opts options, topic, text string) error {
	msg, err := body(text)
	if err != nil {
		return err
	}
	ctx, cancel := callContext(opts)
	defer cancel()

	c := newClient()
	if err := c.Publish(ctx, c.NewMessage(topic, msg)); err != nil {
		return err
	}
	// go-micro's HTTP broker looks subscribers up, then POSTs to them from a goroutine after
	// Publish has returned: a process that exits at once loses the message.
	time.Sleep(opts.linger)
	fmt.Println("published " + topic)
	return nil
}

// received is what subscribe prints for each message: the broker headers as sent, and the
// body as JSON when it is JSON, else as a string.
type received struct {
	Topic  string            `json:"topic"`
	Header map[string]string `json:"header"`
	Body   json.RawMessage   `json:"body"`
}

// subscribe listens through the broker MICRO_BROKER names (default go-micro's HTTP broker,
// registered in the registry) the way a go-micro server's subscriber does, but prints each
// message's raw headers and body.
func subscribe(opts options, topic string) error {
	b := brokerenv.FromEnv()
	if err := b.Connect(); err != nil {
		return err
	}
	defer b.Disconnect()

	var (
		mu   sync.Mutex
		seen int
		done = make(chan struct{})
		out  = json.NewEncoder(os.Stdout)
	)
	handler := func(e broker.Event) error {
		msg := e.Message()
		payload := json.RawMessage(msg.Body)
		if !json.Valid(msg.Body) {
			payload, _ = json.Marshal(string(msg.Body))
		}
		mu.Lock()
		defer mu.Unlock()
		if err := out.Encode(received{Topic: e.Topic(), Header: msg.Header, Body: payload}); err != nil {
			return err
		}
		seen++
		if opts.count > 0 && seen == opts.count {
			close(done)
		}
		return nil
	}
	var subOpts []broker.SubscribeOption
	if opts.queue != "" {
		subOpts = append(subOpts, broker.Queue(opts.queue))
	}
	sub, err := b.Subscribe(topic, handler, subOpts...)
	if err != nil {
		return err
	}
	fmt.Println("ready " + b.Address())

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-signals:
	case <-done:
	}
	// Unsubscribe deregisters this subscriber's node from the registry.
	return sub.Unsubscribe()
}

// failWith prints a go-micro error as its JSON (exit 2), anything else as text (exit 1).
func failWith(err error) {
	if merr := asMicroError(err); merr != nil {
		text, _ := json.Marshal(merr)
		fmt.Fprintln(os.Stderr, string(text))
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, "client:", err)
	os.Exit(1)
}

// asMicroError finds the go-micro error in err: the client returns *errors.Error for calls,
// and the error text (JSON) for errors a server sends inside a stream.
func asMicroError(err error) *errors.Error {
	var merr *errors.Error
	if e, ok := err.(*errors.Error); ok {
		merr = e
	} else if parsed := errors.Parse(err.Error()); parsed != nil && parsed.Code != 0 {
		merr = parsed
	}
	return merr
}
