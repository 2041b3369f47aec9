// A Go client on libmicro: calls the greeter (examples/go/service), or any go-micro service
// with the same endpoints, then streams from it and publishes an event.
//
//	go run ./client Alice
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

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

func main() {
	name := "Alice"
	if len(os.Args) > 1 {
		name = os.Args[1]
	}
	client, err := micro.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	rsp, err := micro.Call[HelloRequest, HelloResponse](ctx, client, "greeter", "Greeter.Hello", HelloRequest{Name: name})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rsp.Msg)

	stream, err := client.Stream(ctx, "greeter", "Greeter.Count")
	if err != nil {
		log.Fatal(err)
	}
	defer stream.Close()
	if err := micro.Send(stream, CountRequest{Name: name, Count: 3}); err != nil {
		log.Fatal(err)
	}
	for {
		msg, err := micro.Recv[HelloResponse](stream)
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(msg.Msg)
	}

	if err := micro.Publish(ctx, client, "greeter.events", map[string]string{"greeted": name}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("published greeter.events")
}
