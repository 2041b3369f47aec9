package micro_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	micro "github.com/libmicro/libmicro/bindings/go"
	"github.com/libmicro/libmicro/bindings/go/internal/testkit"
)

type (
	helloRequest  = testkit.HelloRequest
	helloResponse = testkit.HelloResponse
)

var (
	serve     = testkit.Serve
	newClient = testkit.Client
	timeout   = testkit.Timeout
)

func TestRawHandlerAnswersARawCall(t *testing.T) {
	serve(t, "go.raw", func(s *micro.Service) error {
		return s.Handle("Echo.Upper", func(ctx context.Context, req []byte) ([]byte, error) {
			return []byte(strings.ToUpper(string(req))), nil
		})
	})
	rsp, err := newClient(t).Call(timeout(t), "go.raw", "Echo.Upper", []byte(`"hello"`))
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if string(rsp) != `"HELLO"` {
		t.Fatalf("got %q, want %q", rsp, `"HELLO"`)
	}
}

func TestTypedHandlerAnswersATypedCall(t *testing.T) {
	serve(t, "go.typed", func(s *micro.Service) error {
		return micro.Handle(s, "Greeter.Hello", func(ctx context.Context, req helloRequest) (helloResponse, error) {
			return helloResponse{Msg: "Hello " + req.Name}, nil
		})
	})
	rsp, err := micro.Call[helloRequest, helloResponse](timeout(t), newClient(t), "go.typed", "Greeter.Hello", helloRequest{Name: "Alice"})
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if rsp.Msg != "Hello Alice" {
		t.Fatalf("got %+v", rsp)
	}
}

func TestHandlerErrorReachesTheCallerWithItsCode(t *testing.T) {
	serve(t, "go.fail", func(s *micro.Service) error {
		return micro.Handle(s, "Greeter.Fail", func(ctx context.Context, req helloRequest) (helloResponse, error) {
			return helloResponse{}, micro.BadRequest("go.fail", "bad %s", req.Name)
		})
	})
	_, err := micro.Call[helloRequest, helloResponse](timeout(t), newClient(t), "go.fail", "Greeter.Fail", helloRequest{Name: "Alice"})
	var merr *micro.Error
	if !errors.As(err, &merr) {
		t.Fatalf("want a *micro.Error, got %T %v", err, err)
	}
	if merr.Code != 400 || merr.Id != "go.fail" || merr.Detail != "bad Alice" || merr.Status != "Bad Request" {
		t.Fatalf("got %+v", merr)
	}
}

func TestPlainErrorAndPanicAnswer500(t *testing.T) {
	serve(t, "go.broken", func(s *micro.Service) error {
		if err := s.Handle("Broken.Plain", func(ctx context.Context, req []byte) ([]byte, error) {
			return nil, fmt.Errorf("disk on fire")
		}); err != nil {
			return err
		}
		return s.Handle("Broken.Panic", func(ctx context.Context, req []byte) ([]byte, error) {
			panic("boom")
		})
	})
	client := newClient(t)
	_, err := client.Call(timeout(t), "go.broken", "Broken.Plain", []byte(`{}`))
	if micro.Code(err) != 500 || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("plain error: got %v", err)
	}
	_, err = client.Call(timeout(t), "go.broken", "Broken.Panic", []byte(`{}`))
	if micro.Code(err) != 500 || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("panic: got %v", err)
	}
	// The service still serves after a panic.
	_, err = client.Call(timeout(t), "go.broken", "Broken.Plain", []byte(`{}`))
	if micro.Code(err) != 500 {
		t.Fatalf("after the panic: got %v", err)
	}
}

func TestTypedHandlerRefusesJSONThatDoesNotFitWith400(t *testing.T) {
	serve(t, "go.strict", func(s *micro.Service) error {
		return micro.Handle(s, "Greeter.Hello", func(ctx context.Context, req helloRequest) (helloResponse, error) {
			return helloResponse{Msg: "Hello " + req.Name}, nil
		})
	})
	_, err := newClient(t).Call(timeout(t), "go.strict", "Greeter.Hello", []byte(`{"name":42}`))
	if micro.Code(err) != 400 || !strings.Contains(err.Error(), "Greeter.Hello") {
		t.Fatalf("got %v", err)
	}
}

func TestMetadataFromTheCallersContextReachesTheHandler(t *testing.T) {
	serve(t, "go.meta", func(s *micro.Service) error {
		return s.Handle("Meta.Get", func(ctx context.Context, req []byte) ([]byte, error) {
			md, _ := micro.FromContext(ctx)
			return []byte(`"` + md["X-Trace"] + `"`), nil
		})
	})
	ctx := micro.NewContext(timeout(t), micro.Metadata{"X-Trace": "abc123"})
	rsp, err := newClient(t).Call(ctx, "go.meta", "Meta.Get", []byte(`{}`))
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if string(rsp) != `"abc123"` {
		t.Fatalf("handler saw %s", rsp)
	}
}

func TestContextDeadlineEndsTheCallWithATimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	serve(t, "go.slow", func(s *micro.Service) error {
		return s.Handle("Slow.Wait", func(ctx context.Context, req []byte) ([]byte, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return []byte(`{}`), nil
		})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := newClient(t).Call(ctx, "go.slow", "Slow.Wait", []byte(`{}`))
	if !micro.IsTimeout(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a 408 matching context.DeadlineExceeded, got %v", err)
	}
}

func TestCancelledContextEndsTheCall(t *testing.T) {
	client := newClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := client.Call(ctx, "go.nobody", "X.Y", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestCancellingTheContextMidCallEndsTheCall(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	serve(t, "go.held", func(s *micro.Service) error {
		return s.Handle("Held.Wait", func(ctx context.Context, req []byte) ([]byte, error) {
			started <- struct{}{}
			<-release
			return []byte(`{}`), nil
		})
	})
	// Registered after serve's, so it runs first: the service's stop waits for the handler.
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	if _, err := newClient(t).Call(ctx, "go.held", "Held.Wait", []byte(`{}`)); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestUnknownServiceIsNotFound(t *testing.T) {
	_, err := newClient(t).Call(timeout(t), "go.nosuch", "X.Y", []byte(`{}`))
	if !micro.IsNotFound(err) || !micro.IsNoService(err) || micro.KindOf(err) != micro.KindNoService {
		t.Fatalf("got %v (kind %q)", err, micro.KindOf(err))
	}
	// The service's own 404 has the same code and another kind.
	if micro.KindOf(micro.NotFound("go.x", "no such thing")) != micro.KindNotFound {
		t.Fatal("a 404 made in Go is not KindNotFound")
	}
}

func TestStreamHandlerEchoesUntilTheClientCloses(t *testing.T) {
	serve(t, "go.stream", func(s *micro.Service) error {
		return s.HandleStream("Echo.Stream", func(ctx context.Context, stream *micro.Stream) error {
			for {
				msg, err := micro.Recv[helloRequest](stream)
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return err
				}
				if err := micro.Send(stream, helloResponse{Msg: "Hello " + msg.Name}); err != nil {
					return err
				}
			}
		})
	})
	stream, err := newClient(t).Stream(timeout(t), "go.stream", "Echo.Stream")
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer stream.Close()
	for _, name := range []string{"Alice", "Bob"} {
		if err := micro.Send(stream, helloRequest{Name: name}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		rsp, err := micro.Recv[helloResponse](stream)
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if rsp.Msg != "Hello "+name {
			t.Fatalf("got %+v", rsp)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("after CloseSend: want io.EOF, got %v", err)
	}
}

func TestSubscriberGetsWhatTheClientPublishes(t *testing.T) {
	got := make(chan string, 1)
	serve(t, "go.events", func(s *micro.Service) error {
		return s.Subscribe("go.events.hello", "", func(ctx context.Context, topic string, body []byte, header micro.Metadata) error {
			got <- topic + " " + string(body) + " " + header["Content-Type"]
			return nil
		})
	})
	if err := micro.Publish(timeout(t), newClient(t), "go.events.hello", helloRequest{Name: "Alice"}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	select {
	case msg := <-got:
		if want := `go.events.hello {"name":"Alice"} application/json`; msg != want {
			t.Fatalf("got %q, want %q", msg, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the subscriber got nothing")
	}
}

func TestServiceIsListedInTheRegistryWithItsDocs(t *testing.T) {
	svc := serve(t, "go.listed", func(s *micro.Service) error {
		if err := micro.Handle(s, "Greeter.Hello", func(ctx context.Context, req helloRequest) (helloResponse, error) {
			return helloResponse{}, nil
		}); err != nil {
			return err
		}
		if err := s.Describe("Greeter.Hello", "Greets a person", `{"name":"Alice"}`); err != nil {
			return err
		}
		return s.Scopes("Greeter.Hello", "greeter:read", "admin")
	})
	address, err := svc.Address()
	if err != nil {
		t.Fatalf("Address: %v", err)
	}
	services, err := micro.GetService("go.listed")
	if err != nil {
		t.Fatalf("GetService: %v", err)
	}
	if len(services) == 0 || len(services[0].Nodes) == 0 || services[0].Nodes[0].Address != address {
		t.Fatalf("the registry holds %+v, want a node at %s", services, address)
	}
	var found bool
	for _, ep := range services[0].Endpoints {
		if ep.Name == "Greeter.Hello" {
			found = ep.Metadata["description"] == "Greets a person" && ep.Metadata["example"] == `{"name":"Alice"}` &&
				ep.Metadata["scopes"] == "greeter:read,admin"
		}
	}
	if !found {
		t.Fatalf("Greeter.Hello is not published with its docs: %+v", services[0].Endpoints)
	}
}

func TestMisuseIsAnErrorNotACrash(t *testing.T) {
	svc := serve(t, "go.misuse", func(s *micro.Service) error {
		return s.Handle("A.B", func(ctx context.Context, req []byte) ([]byte, error) { return req, nil })
	})
	noop := func(ctx context.Context, req []byte) ([]byte, error) { return nil, nil }
	if err := svc.Handle("A.C", noop); !errors.Is(err, micro.ErrState) {
		t.Fatalf("Handle after Start: got %v", err)
	}
	if err := svc.Start(); !errors.Is(err, micro.ErrState) {
		t.Fatalf("second Start: got %v", err)
	}
	if err := svc.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := svc.Stop(); !errors.Is(err, micro.ErrAlreadyStopped) {
		t.Fatalf("second Stop: got %v", err)
	}
	svc.Close()
	if err := svc.Start(); !errors.Is(err, micro.ErrState) {
		t.Fatalf("Start after Close: got %v", err)
	}

	bad, err := micro.NewService("go.bad")
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if err := bad.Describe("No.Such", "nothing", `{}`); err != nil {
		t.Fatalf("Describe is checked at Start, got %v", err)
	}
	if err := bad.Start(); micro.Code(err) != 404 && micro.Code(err) != 400 {
		t.Fatalf("Start with a doc for an unknown endpoint: got %v", err)
	}
}

func TestManyConcurrentCallsAllAnswered(t *testing.T) {
	var served atomic.Int64
	serve(t, "go.busy", func(s *micro.Service) error {
		return micro.Handle(s, "Count.Add", func(ctx context.Context, req helloRequest) (helloResponse, error) {
			served.Add(1)
			return helloResponse{Msg: req.Name}, nil
		})
	})
	client := newClient(t)
	ctx := timeout(t)
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		go func(i int) {
			name := fmt.Sprint(i)
			rsp, err := micro.Call[helloRequest, helloResponse](ctx, client, "go.busy", "Count.Add", helloRequest{Name: name})
			if err == nil && rsp.Msg != name {
				err = fmt.Errorf("call %d answered %q", i, rsp.Msg)
			}
			errs <- err
		}(i)
	}
	for i := 0; i < 200; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if served.Load() != 200 {
		t.Fatalf("served %d calls, want 200", served.Load())
	}
}

func TestStoreWritesReadsListsAndDeletes(t *testing.T) {
	opts := []micro.StoreOption{micro.InDatabase("gotest"), micro.InTable("t1")}
	if err := micro.StoreWrite("user/1", []byte("alice"), opts...); err != nil {
		t.Fatalf("StoreWrite: %v", err)
	}
	value, err := micro.StoreRead("user/1", opts...)
	if err != nil || string(value) != "alice" {
		t.Fatalf("StoreRead: %q %v", value, err)
	}
	keys, err := micro.StoreList(micro.ListOptions{Database: "gotest", Table: "t1", Prefix: "user/"})
	if err != nil || len(keys) != 1 || keys[0] != "user/1" {
		t.Fatalf("StoreList: %v %v", keys, err)
	}
	if err := micro.StoreDelete("user/1", opts...); err != nil {
		t.Fatalf("StoreDelete: %v", err)
	}
	if _, err := micro.StoreRead("user/1", opts...); !micro.IsNotFound(err) {
		t.Fatalf("read after delete: %v", err)
	}
}

func TestVersionIsSet(t *testing.T) {
	if v := micro.Version(); !strings.Contains(v, ".") {
		t.Fatalf("Version() = %q", v)
	}
}

func TestHandlerGetsTheCallersDeadline(t *testing.T) {
	serve(t, "go.deadline", func(s *micro.Service) error {
		return s.Handle("Deadline.Left", func(ctx context.Context, req []byte) ([]byte, error) {
			deadline, ok := ctx.Deadline()
			if !ok {
				return nil, micro.BadRequest("go.deadline", "no deadline")
			}
			return []byte(fmt.Sprint(time.Until(deadline) > 0 && time.Until(deadline) <= time.Minute)), nil
		})
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rsp, err := newClient(t).Call(ctx, "go.deadline", "Deadline.Left", []byte(`{}`))
	if err != nil || string(rsp) != "true" {
		t.Fatalf("got %s %v", rsp, err)
	}
}

func TestBrokerSubscriptionGetsRawMessagesUntilUnsubscribed(t *testing.T) {
	got := make(chan string, 10)
	sub, err := micro.BrokerSubscribe("go.raw.topic", "", func(ctx context.Context, topic string, body []byte, header micro.Metadata) error {
		got <- string(body) + " " + header["X-Kind"]
		return nil
	})
	if err != nil {
		t.Fatalf("BrokerSubscribe: %v", err)
	}
	defer sub.Unsubscribe()
	if err := micro.BrokerPublish("go.raw.topic", []byte("ping"), micro.Metadata{"X-Kind": "raw"}); err != nil {
		t.Fatalf("BrokerPublish: %v", err)
	}
	select {
	case msg := <-got:
		if msg != "ping raw" {
			t.Fatalf("got %q", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the subscriber got nothing")
	}
	sub.Unsubscribe()
	sub.Unsubscribe()
}

func TestGatewayServesAGoServiceOverHTTP(t *testing.T) {
	serve(t, "go.gw", func(s *micro.Service) error {
		return micro.Handle(s, "Greeter.Hello", func(ctx context.Context, req helloRequest) (helloResponse, error) {
			return helloResponse{Msg: "Hello " + req.Name}, nil
		})
	})
	gw, err := micro.StartGateway(micro.GatewayOptions{Address: "127.0.0.1:0", MCP: true})
	if err != nil {
		t.Fatalf("StartGateway: %v", err)
	}
	defer gw.Close()
	rsp, err := http.Post("http://"+gw.Address()+"/api/go.gw/Greeter.Hello", "application/json", strings.NewReader(`{"name":"Alice"}`))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	body, _ := io.ReadAll(rsp.Body)
	rsp.Body.Close()
	if rsp.StatusCode != 200 || !strings.Contains(string(body), `"msg":"Hello Alice"`) {
		t.Fatalf("gateway answered %d %s", rsp.StatusCode, body)
	}
	tools, err := http.Get("http://" + gw.Address() + "/mcp/tools")
	if err != nil {
		t.Fatalf("GET /mcp/tools: %v", err)
	}
	body, _ = io.ReadAll(tools.Body)
	tools.Body.Close()
	if tools.StatusCode != 200 || !strings.Contains(string(body), "go.gw") {
		t.Fatalf("/mcp/tools answered %d %s", tools.StatusCode, body)
	}
	if err := gw.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := gw.Stop(); !errors.Is(err, micro.ErrAlreadyStopped) {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestMCPServerListsAGoServiceAsATool(t *testing.T) {
	serve(t, "go.tools", func(s *micro.Service) error {
		if err := micro.Handle(s, "Greeter.Hello", func(ctx context.Context, req helloRequest) (helloResponse, error) {
			return helloResponse{Msg: "Hello " + req.Name}, nil
		}); err != nil {
			return err
		}
		return s.Describe("Greeter.Hello", "Greets a person by name", `{"name":"Alice"}`)
	})
	srv, err := micro.StartMCP(micro.MCPOptions{Address: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("StartMCP: %v", err)
	}
	defer srv.Close()
	rsp, err := http.Post("http://"+srv.Address()+"/mcp/call", "application/json",
		strings.NewReader(`{"tool":"go.tools.Greeter.Hello","input":{"name":"Bob"}}`))
	if err != nil {
		t.Fatalf("POST /mcp/call: %v", err)
	}
	body, _ := io.ReadAll(rsp.Body)
	rsp.Body.Close()
	if rsp.StatusCode != 200 || !strings.Contains(string(body), "Hello Bob") {
		t.Fatalf("/mcp/call answered %d %s", rsp.StatusCode, body)
	}
}

func TestCallWithNodesSkipsTheRegistry(t *testing.T) {
	svc := serve(t, "go.direct", func(s *micro.Service) error {
		return s.Handle("Echo.Upper", func(ctx context.Context, req []byte) ([]byte, error) {
			return []byte(strings.ToUpper(string(req))), nil
		})
	})
	address, err := svc.Address()
	if err != nil {
		t.Fatal(err)
	}
	// The registry does not know go.unlisted: only the node given is called.
	rsp, err := newClient(t).Call(timeout(t), "go.unlisted", "Echo.Upper", []byte(`"direct"`), micro.WithNodes(address))
	if err != nil || string(rsp) != `"DIRECT"` {
		t.Fatalf("got %s %v", rsp, err)
	}
}

func TestStreamHandlerErrorEndsTheStreamWithItsCodeIdAndDetail(t *testing.T) {
	serve(t, "go.stream.fail", func(s *micro.Service) error {
		return s.HandleStream("Fail.Stream", func(ctx context.Context, stream *micro.Stream) error {
			if _, err := stream.Recv(); err != nil {
				return err
			}
			return micro.NotFound("go.stream.fail", "no such thing")
		})
	})
	stream, err := newClient(t).Stream(timeout(t), "go.stream.fail", "Fail.Stream")
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer stream.Close()
	if err := stream.Send([]byte(`{}`)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	_, err = stream.Recv()
	var merr *micro.Error
	if !errors.As(err, &merr) || merr.Code != 404 || merr.Id != "go.stream.fail" || merr.Detail != "no such thing" {
		t.Fatalf("want the handler's 404 with its id and detail, got %#v", err)
	}
}

func TestLargePayloadsRoundTrip(t *testing.T) {
	serve(t, "go.large", func(s *micro.Service) error {
		return s.Handle("Echo.Same", func(ctx context.Context, req []byte) ([]byte, error) { return req, nil })
	})
	payload := []byte(`"` + strings.Repeat("x", 1<<20) + `"`)
	rsp, err := newClient(t).Call(timeout(t), "go.large", "Echo.Same", payload)
	if err != nil || string(rsp) != string(payload) {
		t.Fatalf("a 1 MiB payload came back as %d bytes, %v", len(rsp), err)
	}
}
