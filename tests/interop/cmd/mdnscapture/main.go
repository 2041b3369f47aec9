// Command mdnscapture drives go-micro v5's own mDNS registry, so libmicro's mDNS registry can be
// checked against the real thing. It is meant to run only inside a network namespace whose
// loopback carries multicast (see core/tests/registry_mdns.rs); it never picks an interface
// itself, so on a normal host it would use the default multicast route.
//
//	mdnscapture serve <name> <host:port>   register a node, print "ready", deregister when stdin closes
//	mdnscapture get <name>                 print GetService's answer as JSON
//	mdnscapture list                       print ListServices' answer as JSON
//	mdnscapture watch <name>               print watch events as JSON lines until a delete
//	mdnscapture capture <dir>              register a node and write the raw DNS packets it sends
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/miekg/dns"
	"go-micro.dev/v5/registry"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: mdnscapture serve|get|list|watch|capture ...")
	}
	var err error
	switch os.Args[1] {
	case "serve":
		need(4)
		err = serve(os.Args[2], os.Args[3])
	case "get":
		need(3)
		err = get(os.Args[2])
	case "list":
		err = list()
	case "watch":
		need(3)
		err = watch(os.Args[2])
	case "capture":
		need(3)
		err = capture(os.Args[2])
	default:
		fail("unknown command " + os.Args[1])
	}
	if err != nil {
		fail(err.Error())
	}
}

func need(n int) {
	if len(os.Args) < n {
		fail("missing arguments; see the comment at the top of main.go")
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "mdnscapture:", msg)
	os.Exit(1)
}

// newRegistry is go-micro's mDNS registry with a query window long enough for a busy test host.
func newRegistry() registry.Registry {
	return registry.NewMDNSRegistry(registry.Timeout(time.Second))
}

// sample is the service every command registers: node metadata, and an endpoint with metadata
// and request/response type trees, so the TXT payload spans several 255-byte strings.
func sample(name, addr string) *registry.Service {
	return &registry.Service{
		Name:    name,
		Version: "1.0.0",
		Endpoints: []*registry.Endpoint{{
			Name: "Greeter.Hello",
			Request: &registry.Value{Name: "Request", Type: "Request", Values: []*registry.Value{
				{Name: "name", Type: "string"},
			}},
			Response: &registry.Value{Name: "Response", Type: "Response", Values: []*registry.Value{
				{Name: "msg", Type: "string"},
			}},
			Metadata: map[string]string{"description": "Greets a person by name", "example": `{"name":"Alice"}`},
		}},
		Nodes: []*registry.Node{{
			Id:       name + "-go-1",
			Address:  addr,
			Metadata: map[string]string{"protocol": "mucp", "transport": "http", "server": "mucp", "registry": "mdns", "broker": "http"},
		}},
	}
}

func serve(name, addr string) error {
	reg := newRegistry()
	svc := sample(name, addr)
	if err := reg.Register(svc); err != nil {
		return err
	}
	fmt.Println("ready")
	// Wait for the parent to close stdin, then leave as a service would on shutdown.
	_, _ = bufio.NewReader(os.Stdin).ReadString(0)
	if err := reg.Deregister(svc); err != nil {
		return err
	}
	fmt.Println("deregistered")
	return nil
}

func get(name string) error {
	services, err := newRegistry().GetService(name)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(services)
}

func list() error {
	services, err := newRegistry().ListServices()
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(services)
}

func watch(name string) error {
	w, err := newRegistry().Watch(registry.WatchService(name))
	if err != nil {
		return err
	}
	fmt.Println("ready")
	out := json.NewEncoder(os.Stdout)
	for {
		res, err := w.Next()
		if err != nil {
			return err
		}
		if err := out.Encode(res); err != nil {
			return err
		}
		if res.Action == "delete" {
			return nil
		}
	}
}

// capture registers the sample service "greeter" and writes, into dir:
// announce.bin (its first unsolicited announcement), get.bin (its answer to a PTR query for
// greeter.micro.), list.bin (the answer to a PTR query for _services.micro.) and goodbye.bin
// (the announcement it multicasts on deregister).
func capture(dir string) error {
	group := &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}
	listener, err := net.ListenMulticastUDP("udp4", nil, group)
	if err != nil {
		return err
	}
	defer listener.Close()

	reg := newRegistry()
	svc := sample("greeter", "127.0.0.1:9091")
	if err := reg.Register(svc); err != nil {
		return err
	}
	announce, err := nextResponse(listener, 5*time.Second)
	if err != nil {
		return fmt.Errorf("waiting for the announcement: %w", err)
	}
	if err := write(dir, "announce.bin", announce); err != nil {
		return err
	}
	for file, question := range map[string]string{"get.bin": "greeter.micro.", "list.bin": "_services.micro."} {
		answer, err := ask(group, question)
		if err != nil {
			return fmt.Errorf("asking %s: %w", question, err)
		}
		if err := write(dir, file, answer); err != nil {
			return err
		}
	}
	// Let the repeated announcements (at about 1 s and 3 s) pass, so the next response is the goodbye.
	time.Sleep(4 * time.Second)
	drain(listener)
	if err := reg.Deregister(svc); err != nil {
		return err
	}
	goodbye, err := nextResponse(listener, 5*time.Second)
	if err != nil {
		return fmt.Errorf("waiting for the goodbye: %w", err)
	}
	return write(dir, "goodbye.bin", goodbye)
}

// nextResponse reads packets until one is a DNS response with answers.
func nextResponse(conn *net.UDPConn, wait time.Duration) ([]byte, error) {
	deadline := time.Now().Add(wait)
	buf := make([]byte, 65536)
	for {
		if err := conn.SetReadDeadline(deadline); err != nil {
			return nil, err
		}
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			return nil, err
		}
		msg := new(dns.Msg)
		if msg.Unpack(buf[:n]) == nil && msg.Response && len(msg.Answer) > 0 {
			return append([]byte(nil), buf[:n]...), nil
		}
	}
}

func drain(conn *net.UDPConn) {
	buf := make([]byte, 65536)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, _, err := conn.ReadFromUDP(buf); err != nil {
			return
		}
	}
}

// ask sends one PTR query from an ephemeral port, as go-micro's querier does, and returns the
// first response.
func ask(group *net.UDPAddr, name string) ([]byte, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypePTR)
	q.RecursionDesired = false
	packet, err := q.Pack()
	if err != nil {
		return nil, err
	}
	if _, err := conn.WriteToUDP(packet, group); err != nil {
		return nil, err
	}
	return nextResponse(conn, 3*time.Second)
}

func write(dir, name string, packet []byte) error {
	path := filepath.Join(dir, name)
	fmt.Println("wrote", path, len(packet), "bytes")
	return os.WriteFile(path, packet, 0o644)
}
