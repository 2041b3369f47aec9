// Package servers_test runs the binding with the engine on real servers: the registry, broker
// and store on NATS (nats-server started by scripts/servers.sh). A Go service is found and
// called through the NATS registry, gets what is published through the NATS broker, and the
// store keeps records in JetStream; a registry that cannot be reached is KindUnavailable, apart
// from a service that is not there, and the engine recovers once NATS is back. A real model
// (SmolLM2 behind llama-cpp-python's OpenAI-compatible server) streams an answer.
package servers_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	micro "github.com/libmicro/libmicro/bindings/go"
	"github.com/libmicro/libmicro/bindings/go/internal/testkit"
)

// servers runs scripts/servers.sh with args and gives what it printed.
func servers(args ...string) (string, error) {
	_, here, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(here), "..", "..", "..", "scripts", "servers.sh")
	out, err := exec.Command(script, args...).Output()
	return strings.TrimSpace(string(out)), err
}

func TestMain(m *testing.M) {
	for _, name := range []string{"nats", "llm"} {
		if _, err := servers("start", name); err != nil {
			fmt.Fprintf(os.Stderr, "starting %s: %v\n", name, err)
			os.Exit(1)
		}
	}
	url, err := servers("url", "nats")
	if err != nil {
		fmt.Fprintln(os.Stderr, "nats url:", err)
		os.Exit(1)
	}
	testkit.Main(m, micro.Config{
		Registry: "nats", RegistryAddress: url,
		Broker: "nats", BrokerAddress: url,
		Store: "nats", StoreAddress: url, StoreDatabase: fmt.Sprintf("go_%d", os.Getpid()),
	})
}

func TestAServiceOnNATSIsFoundCalledAndGetsWhatIsPublished(t *testing.T) {
	got := make(chan string, 1)
	testkit.Serve(t, "go.natsgreeter", func(s *micro.Service) error {
		if err := micro.Handle(s, "Greeter.Hello", func(ctx context.Context, req testkit.HelloRequest) (testkit.HelloResponse, error) {
			return testkit.HelloResponse{Msg: "Hello " + req.Name}, nil
		}); err != nil {
			return err
		}
		return s.Subscribe("go.nats.events", "", func(ctx context.Context, topic string, body []byte, header micro.Metadata) error {
			got <- topic + " " + string(body)
			return nil
		})
	})
	client := testkit.Client(t)
	rsp, err := micro.Call[testkit.HelloRequest, testkit.HelloResponse](testkit.Timeout(t), client, "go.natsgreeter", "Greeter.Hello", testkit.HelloRequest{Name: "Nat"})
	if err != nil || rsp.Msg != "Hello Nat" {
		t.Fatalf("Call: %+v %v", rsp, err)
	}
	if err := micro.Publish(testkit.Timeout(t), client, "go.nats.events", testkit.HelloRequest{Name: "Ev"}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	select {
	case msg := <-got:
		if want := `go.nats.events {"name":"Ev"}`; msg != want {
			t.Fatalf("got %q, want %q", msg, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the subscriber got nothing")
	}
}

func TestTheStoreKeepsRecordsInJetStream(t *testing.T) {
	if err := micro.StoreWrite("user/1", []byte("alice")); err != nil {
		t.Fatalf("StoreWrite: %v", err)
	}
	value, err := micro.StoreRead("user/1")
	if err != nil || string(value) != "alice" {
		t.Fatalf("StoreRead: %q %v", value, err)
	}
	if err := micro.StoreDelete("user/1"); err != nil {
		t.Fatalf("StoreDelete: %v", err)
	}
	if _, err := micro.StoreRead("user/1"); !micro.IsNotFound(err) {
		t.Fatalf("read after delete: %v", err)
	}
}

// Takes NATS down for a moment: the last test of the package.
func TestRegistryUnavailableIsNotServiceNotFoundAndPassesWhenNATSIsBack(t *testing.T) {
	client := testkit.Client(t)
	_, err := client.Call(testkit.Timeout(t), "go.nosuch", "X.Y", []byte(`{}`))
	if micro.KindOf(err) != micro.KindNoService {
		t.Fatalf("an unknown service: got %v (kind %q)", err, micro.KindOf(err))
	}
	if _, err := servers("kill", "nats"); err != nil {
		t.Fatalf("killing nats: %v", err)
	}
	defer servers("start", "nats")
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = client.Call(testkit.Timeout(t), "go.nosuch", "X.Y", []byte(`{}`))
		if micro.KindOf(err) == micro.KindUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with NATS down: got %v (kind %q), want unavailable", err, micro.KindOf(err))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(err.Error(), "registry unavailable") {
		t.Fatalf("the error does not say the registry is unavailable: %v", err)
	}
	if _, err := servers("start", "nats"); err != nil {
		t.Fatalf("starting nats again: %v", err)
	}
	for {
		_, err = client.Call(testkit.Timeout(t), "go.nosuch", "X.Y", []byte(`{}`))
		if micro.KindOf(err) == micro.KindNoService {
			return
		}
		if time.Now().After(deadline.Add(20 * time.Second)) {
			t.Fatalf("NATS is back, yet: %v (kind %q)", err, micro.KindOf(err))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
