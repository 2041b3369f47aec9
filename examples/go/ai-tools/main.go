// Pattern 4, a model with a tool handler: the model may call get_weather, which this program
// answers itself, and the answer streams as it comes, with each tool call and its result. The
// model comes from MICRO_AI_* as in ai-service.
//
//	go run ./ai-tools "Should I take an umbrella in Paris today?"
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	micro "github.com/libmicro/libmicro/bindings/go"
)

var weather = micro.Tool{
	ToolSpec: micro.ToolSpec{
		Name:        "get_weather",
		Description: "Today's weather in a city",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`),
	},
	// Any city is rainy; an error would be told to the model instead.
	Handle: func(ctx context.Context, call micro.ToolCall) (any, error) {
		return map[string]any{"forecast": "rain", "celsius": 14}, nil
	},
}

func main() {
	prompt := "Do I need an umbrella in Paris?"
	if len(os.Args) > 1 {
		prompt = os.Args[1]
	}
	model, err := micro.NewModel(micro.Settings{})
	if err != nil {
		log.Fatal(err)
	}
	defer model.Close()
	agent, err := micro.NewAgent(model, weather)
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Close()
	stream, err := agent.Stream(context.Background(), micro.Request{Prompt: prompt})
	if err != nil {
		log.Fatal(err)
	}
	defer stream.Close()
	for {
		event, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			fmt.Println()
			return
		}
		if err != nil {
			log.Fatal(err)
		}
		switch event.Type {
		case micro.EventText:
			fmt.Print(event.Text)
		case micro.EventToolCall:
			fmt.Printf("[%s %s]\n", event.Call.Name, event.Call.Arguments)
		case micro.EventToolResult:
			fmt.Printf("[%s: %s%s]\n", event.Call.Name, event.Call.Result, event.Call.Error)
		}
	}
}
