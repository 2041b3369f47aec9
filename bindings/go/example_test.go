package micro_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	micro "github.com/libmicro/libmicro/bindings/go"
)

type HelloRequest struct {
	Name string `json:"name"`
}

type HelloResponse struct {
	Msg string `json:"msg"`
}

// A service with a typed handler, run until SIGINT or SIGTERM.
func ExampleHandle() {
	svc, err := micro.NewService("greeter")
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close()
	err = micro.Handle(svc, "Greeter.Hello", func(ctx context.Context, req HelloRequest) (HelloResponse, error) {
		if req.Name == "" {
			return HelloResponse{}, micro.BadRequest("greeter", "name is empty")
		}
		return HelloResponse{Msg: "Hello " + req.Name}, nil
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

// A typed call whose context deadline is its timeout, and its error's code.
func ExampleCall() {
	client, err := micro.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rsp, err := micro.Call[HelloRequest, HelloResponse](ctx, client, "greeter", "Greeter.Hello", HelloRequest{Name: "Alice"})
	var merr *micro.Error
	switch {
	case errors.As(err, &merr):
		fmt.Println("failed:", merr.Code, merr.Detail)
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println(rsp.Msg)
	}
}
