// The greeter service in Go on libmicro: Greeter.Hello answers a greeting, Greeter.Count
// streams count greetings, and a subscriber prints the greeter.events it hears. go-micro v5
// clients, libmicro's `micro call` and the Go client beside this one call it.
//
//	go run ./service
package main

import (
	"context"
	"fmt"
	"io"
	"log"

	micro "github.com/libmicro/libmicro/bindings/go"
)

// HelloRequest says whom to greet.
type HelloRequest struct {
	Name string `json:"name"`
}

// HelloResponse is the greeting.
type HelloResponse struct {
	Msg string `json:"msg"`
}

// CountRequest says whom to greet and how many times.
type CountRequest struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func hello(ctx context.Context, req HelloRequest) (HelloResponse, error) {
	if req.Name == "" {
		return HelloResponse{}, micro.BadRequest("greeter", "name is empty; send {\"name\":\"Alice\"}")
	}
	return HelloResponse{Msg: "Hello " + req.Name}, nil
}

func count(ctx context.Context, stream *micro.Stream) error {
	req, err := micro.Recv[CountRequest](stream)
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	for i := 1; i <= min(req.Count, 1000); i++ {
		if err := micro.Send(stream, HelloResponse{Msg: fmt.Sprintf("Hello %s %d", req.Name, i)}); err != nil {
			return err
		}
	}
	return nil
}

func event(ctx context.Context, topic string, body []byte, header micro.Metadata) error {
	log.Printf("%s: %s", topic, body)
	return nil
}

func main() {
	svc, err := micro.NewService("greeter")
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close()
	must(micro.Handle(svc, "Greeter.Hello", hello))
	must(svc.Describe("Greeter.Hello", "Greets a person by name", `{"name":"Alice"}`))
	must(svc.HandleStream("Greeter.Count", count))
	must(svc.Describe("Greeter.Count", "Greets a person count times, one message each", `{"name":"Alice","count":3}`))
	must(svc.Subscribe("greeter.events", "", event))
	if err := svc.Start(); err != nil {
		log.Fatal(err)
	}
	address, err := svc.Address()
	must(err)
	fmt.Println("ready", address)
	must(svc.Run(context.Background()))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
