// Command server is the go-micro side of the RPC benchmark: go-micro v5's helloworld service
// (Helloworld.Call only) on a fixed address, registered in go-micro's default mDNS registry.
// Run it only inside a network namespace holding just loopback (see ../README.md).
//
//	server [-name helloworld] [-address 127.0.0.1:8081]
//
// Prints "ready <host:port>" once registered; SIGTERM/SIGINT deregisters and prints "stopped".
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"go-micro.dev/v5"

	"libmicro/tests/interop/netns"
)

// Request is the body of Helloworld.Call.
type Request struct {
	Name string `json:"name"`
}

// Response is what Helloworld.Call answers.
type Response struct {
	Msg string `json:"msg"`
}

// Helloworld is the benchmark handler.
type Helloworld struct{}

// Call greets: {name} -> {msg: "Hello <name>"}.
func (h *Helloworld) Call(ctx context.Context, req *Request, rsp *Response) error {
	rsp.Msg = "Hello " + req.Name
	return nil
}

func main() {
	name := flag.String("name", "helloworld", "service name to register")
	address := flag.String("address", "127.0.0.1:8081", "host:port to serve on")
	flag.Parse()

	if err := netns.Check(); err != nil {
		fail(err)
	}
	var svc micro.Service
	svc = micro.New(*name,
		micro.Address(*address),
		micro.AfterStart(func() error {
			fmt.Println("ready " + svc.Server().Options().Address)
			return nil
		}),
	)
	if err := micro.RegisterHandler(svc.Server(), &Helloworld{}); err != nil {
		fail(err)
	}
	if err := svc.Run(); err != nil {
		fail(err)
	}
	fmt.Println("stopped")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "server:", err)
	os.Exit(1)
}
