// Package testkit holds what the binding's test packages share: the engine set up for a test
// binary, a service started for a test, a client, and a context with a deadline.
package testkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	micro "github.com/libmicro/libmicro/bindings/go"
)

// HelloRequest is the request of the test services' Hello endpoints.
type HelloRequest struct {
	Name string `json:"name"`
}

// HelloResponse is their response.
type HelloResponse struct {
	Msg string `json:"msg"`
}

// Main runs the tests of a package with the engine started from cfg, shuts it down after
// them and checks that the engine then refuses work with ErrShutdown.
func Main(m *testing.M, cfg micro.Config) {
	if err := micro.Init(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "micro.Init:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := micro.Shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "micro.Shutdown:", err)
		code = 1
	}
	// After Shutdown nothing runs, and saying so is an error, not a crash.
	if _, err := micro.NewClient(); !errors.Is(err, micro.ErrShutdown) {
		fmt.Fprintln(os.Stderr, "NewClient after Shutdown: want ErrShutdown, got", err)
		code = 1
	}
	if err := micro.Shutdown(); !errors.Is(err, micro.ErrAlreadyStopped) {
		fmt.Fprintln(os.Stderr, "a second Shutdown: want ErrAlreadyStopped, got", err)
		code = 1
	}
	os.Exit(code)
}

// inside marks the test process that runs inside the network namespace.
const inside = "MICRO_GO_TEST_IN_NETNS"

// MainInNetns re-runs the test binary under `unshare -n` in a fresh network namespace holding
// only loopback, with multicast on and a 224.0.0.0/4 route, and runs the tests there as Main
// does: tests using mDNS must never reach a real interface. It needs root (or
// CAP_SYS_ADMIN), unshare and ip.
func MainInNetns(m *testing.M, cfg micro.Config) {
	if os.Getenv(inside) != "" {
		Main(m, cfg)
	}
	script := "ip link set lo up && ip link set lo multicast on && " +
		"ip route add 224.0.0.0/4 dev lo && exec \"$0\" \"$@\""
	cmd := exec.Command("unshare", append([]string{"-n", "sh", "-c", script}, os.Args...)...)
	cmd.Env = append(os.Environ(), inside+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			os.Exit(exit.ExitCode())
		}
		fmt.Fprintf(os.Stderr, "could not start the tests in a network namespace (%v): "+
			"they need root (or CAP_SYS_ADMIN), unshare and ip\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Serve starts a service named name with the endpoints add gives it; it is closed when the
// test ends.
func Serve(t *testing.T, name string, add func(*micro.Service) error) *micro.Service {
	t.Helper()
	svc, err := micro.NewService(name)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	t.Cleanup(svc.Close)
	if err := add(svc); err != nil {
		t.Fatalf("adding endpoints: %v", err)
	}
	if err := svc.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return svc
}

// Client is a client closed when the test ends.
func Client(t *testing.T) *micro.Client {
	t.Helper()
	client, err := micro.NewClient()
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(client.Close)
	return client
}

// Timeout is a context whose deadline is 10 s away.
func Timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
