package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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

// goMicroProgram is a go-micro v5.30.0 program from tests/interop/bin (make go-tools).
func goMicroProgram(t *testing.T, name string) string {
	return program(t, filepath.Join("..", "..", "..", "tests", "interop", "bin", name), "make go-tools")
}

// rustProgram is a libmicro binary from $MICRO_BIN_DIR (make go-test sets it to the cargo
// target's debug directory).
func rustProgram(t *testing.T, name string) string {
	dir := os.Getenv("MICRO_BIN_DIR")
	if dir == "" {
		dir = filepath.Join(os.Getenv("HOME"), ".cache", "libmicro", "target", "debug")
	}
	return program(t, filepath.Join(dir, name), "cargo build -p micro-cli -p helloworld, and set MICRO_BIN_DIR")
}

// program is the absolute path of an executable the interop tests start. A missing one skips
// the test, or fails it when MICRO_INTEROP_REQUIRED is set (as make test sets it).
func program(t *testing.T, path, build string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err == nil {
		if _, err = os.Stat(abs); err == nil {
			return abs
		}
	}
	if os.Getenv("MICRO_INTEROP_REQUIRED") != "" {
		t.Fatalf("MICRO_INTEROP_REQUIRED is set but %s is missing (%s)", path, build)
	}
	t.Skipf("%s is missing (%s)", path, build)
	return ""
}

// run runs a program to its end and returns its stdout, stderr and exit code.
func run(t *testing.T, path string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", path, err)
	}
	return strings.TrimSpace(stdout.String()), strings.TrimSpace(stderr.String()), code
}

// start starts a long-running program, stopped with SIGTERM when the test ends; its stdout
// lines arrive on the returned channel.
func start(t *testing.T, path string, args ...string) <-chan string {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	lines := make(chan string, 100)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			lines <- scanner.Text()
		}
		close(lines)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return lines
}

// line waits for the next stdout line of a started program.
func line(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("the program ended")
		}
		return l
	case <-time.After(20 * time.Second):
		t.Fatal("the program printed nothing for 20 s")
	}
	return ""
}

// callUntilFound calls until the service is registered (a freshly started process takes a
// moment), then returns the first answer that is not a 404/500 "not found".
func callUntilFound(t *testing.T, client *micro.Client, service, endpoint string, req []byte) ([]byte, error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		rsp, err := client.Call(ctx, service, endpoint, req)
		cancel()
		if !micro.IsNotFound(err) || time.Now().After(deadline) {
			return rsp, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serveHello starts the Go helloworld of these tests: Helloworld.Call, Helloworld.Fail,
// Helloworld.Stream and a subscriber on "<name>.events" that forwards what it gets.
func serveHello(t *testing.T, name string) <-chan string {
	events := make(chan string, 10)
	serve(t, name, func(s *micro.Service) error {
		if err := micro.Handle(s, "Helloworld.Call", func(ctx context.Context, req helloRequest) (helloResponse, error) {
			return helloResponse{Msg: "Hello " + req.Name}, nil
		}); err != nil {
			return err
		}
		if err := micro.Handle(s, "Helloworld.Fail", func(ctx context.Context, req helloRequest) (helloResponse, error) {
			return helloResponse{}, micro.BadRequest(name, "bad %s", req.Name)
		}); err != nil {
			return err
		}
		if err := s.HandleStream("Helloworld.Stream", func(ctx context.Context, stream *micro.Stream) error {
			req, err := micro.Recv[struct {
				Name  string `json:"name"`
				Count int    `json:"count"`
			}](stream)
			if err != nil {
				return err
			}
			for i := 1; i <= req.Count; i++ {
				if err := micro.Send(stream, helloResponse{Msg: "Hello " + req.Name + " " + string(rune('0'+i))}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		return s.Subscribe(name+".events", "", func(ctx context.Context, topic string, body []byte, header micro.Metadata) error {
			events <- string(body)
			return nil
		})
	})
	return events
}

func TestGoServiceIsCalledByTheRustCLI(t *testing.T) {
	cli := rustProgram(t, "micro")
	serveHello(t, "go.hello.rust")

	stdout, stderr, code := run(t, cli, "call", "go.hello.rust", "Helloworld.Call", `{"name":"Alice"}`)
	if code != 0 || stdout != `{"msg":"Hello Alice"}` {
		t.Fatalf("micro call: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	_, stderr, code = run(t, cli, "call", "go.hello.rust", "Helloworld.Fail", `{"name":"Alice"}`)
	var merr micro.Error
	lines := strings.Split(stderr, "\n")
	if code != 1 || json.Unmarshal([]byte(lines[len(lines)-1]), &merr) != nil ||
		merr.Code != 400 || merr.Id != "go.hello.rust" || merr.Detail != "bad Alice" {
		t.Fatalf("micro call of a failing endpoint: exit %d, stderr %q", code, stderr)
	}

	stdout, stderr, code = run(t, cli, "services")
	if code != 0 || !strings.Contains(stdout+"\n", "go.hello.rust\n") {
		t.Fatalf("micro services: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestGoServiceIsCalledByAGoMicroClient(t *testing.T) {
	client := goMicroProgram(t, "client")
	events := serveHello(t, "go.hello.gomicro")

	stdout, stderr, code := run(t, client, "call", "go.hello.gomicro", "Helloworld.Call", `{"name":"Alice"}`)
	if code != 0 || stdout != `{"msg":"Hello Alice"}` {
		t.Fatalf("go-micro call: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	_, stderr, code = run(t, client, "call", "go.hello.gomicro", "Helloworld.Fail", `{"name":"Alice"}`)
	lines := strings.Split(stderr, "\n")
	var merr micro.Error
	if code != 2 || json.Unmarshal([]byte(lines[len(lines)-1]), &merr) != nil ||
		merr.Code != 400 || merr.Id != "go.hello.gomicro" || merr.Detail != "bad Alice" {
		t.Fatalf("go-micro call of a failing endpoint: exit %d, stderr %q", code, stderr)
	}

	stdout, stderr, code = run(t, client, "stream", "go.hello.gomicro", "Helloworld.Stream", `{"name":"Bob","count":3}`)
	want := `{"msg":"Hello Bob 1"}` + "\n" + `{"msg":"Hello Bob 2"}` + "\n" + `{"msg":"Hello Bob 3"}`
	if code != 0 || stdout != want {
		t.Fatalf("go-micro stream: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	stdout, stderr, code = run(t, client, "publish", "go.hello.gomicro.events", `{"hello":"world"}`)
	if code != 0 {
		t.Fatalf("go-micro publish: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	select {
	case body := <-events:
		if strings.TrimSpace(body) != `{"hello":"world"}` {
			t.Fatalf("the subscriber got %q", body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the Go subscriber got nothing from go-micro's publish")
	}
}

func TestGoServiceIsCalledByGoMicrosCLI(t *testing.T) {
	cli := goMicroProgram(t, "micro")
	serveHello(t, "go.hello.gocli")
	stdout, stderr, code := run(t, cli, "call", "go.hello.gocli", "Helloworld.Call", `{"name":"Carol"}`)
	if code != 0 || stdout != `{"msg":"Hello Carol"}` {
		t.Fatalf("go-micro's micro call: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestGoClientCallsTheRustHelloworld(t *testing.T) {
	start(t, rustProgram(t, "helloworld"))
	client := newClient(t)

	rsp, err := callUntilFound(t, client, "helloworld", "Helloworld.Call", []byte(`{"name":"Alice"}`))
	if err != nil || string(rsp) != `{"msg":"Hello Alice"}` {
		t.Fatalf("Call: %s %v", rsp, err)
	}
	typed, err := micro.Call[helloRequest, helloResponse](timeout(t), client, "helloworld", "Helloworld.Call", helloRequest{Name: "Bob"})
	if err != nil || typed.Msg != "Hello Bob" {
		t.Fatalf("typed Call: %+v %v", typed, err)
	}

	stream, err := client.Stream(timeout(t), "helloworld", "Helloworld.Stream")
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer stream.Close()
	if err := stream.Send([]byte(`{"name":"Carol","count":2}`)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var got []string
	for {
		msg, err := micro.Recv[helloResponse](stream)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		got = append(got, msg.Msg)
	}
	if strings.Join(got, ",") != "Hello Carol 1,Hello Carol 2" {
		t.Fatalf("stream answered %q", got)
	}
}

func TestGoClientCallsAGoMicroService(t *testing.T) {
	lines := start(t, goMicroProgram(t, "helloworld"), "-name", "gohello.forgo")
	if ready := line(t, lines); !strings.HasPrefix(ready, "ready ") {
		t.Fatalf("go-micro helloworld printed %q", ready)
	}
	client := newClient(t)
	rsp, err := micro.Call[helloRequest, helloResponse](timeout(t), client, "gohello.forgo", "Helloworld.Call", helloRequest{Name: "Dave"})
	if err != nil || rsp.Msg != "Hello Dave" {
		t.Fatalf("Call: %+v %v", rsp, err)
	}
	_, err = client.Call(timeout(t), "gohello.forgo", "Helloworld.Fail", []byte(`{"name":"Dave"}`))
	var merr *micro.Error
	if !errors.As(err, &merr) || merr.Code != 400 || merr.Detail != "bad Dave" || merr.Id != "gohello.forgo" {
		t.Fatalf("Fail: %v", err)
	}
}

func TestGoPublishReachesAGoMicroSubscriber(t *testing.T) {
	lines := start(t, goMicroProgram(t, "client"), "-n", "1", "subscribe", "go.to.gomicro")
	if ready := line(t, lines); !strings.HasPrefix(ready, "ready ") {
		t.Fatalf("go-micro subscriber printed %q", ready)
	}
	ctx := micro.NewContext(timeout(t), micro.Metadata{"X-From": "go"})
	if err := micro.Publish(ctx, newClient(t), "go.to.gomicro", helloRequest{Name: "Erin"}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	var got struct {
		Topic  string            `json:"topic"`
		Header map[string]string `json:"header"`
		Body   helloRequest      `json:"body"`
	}
	text := line(t, lines)
	if err := json.Unmarshal([]byte(text), &got); err != nil {
		t.Fatalf("go-micro subscriber printed %q: %v", text, err)
	}
	if got.Topic != "go.to.gomicro" || got.Body.Name != "Erin" || got.Header["Content-Type"] != "application/json" ||
		got.Header["Micro-Topic"] != "go.to.gomicro" || got.Header["X-From"] != "go" {
		t.Fatalf("go-micro subscriber got %s", text)
	}
}
