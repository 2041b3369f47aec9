// Pattern 5, a model run by events: the flow service subscribes to "orders" and, for each
// message, asks an agent to act on it with the registry's endpoints as its tools. The model
// comes from MICRO_AI_* as in ai-service.
//
//	go run ./ai-flow &
//	micro broker publish orders '{"id": 7, "item": "tea", "email": "alice@example.com"}'
package main

import (
	"context"
	"log"

	micro "github.com/libmicro/libmicro/bindings/go"
)

func main() {
	model, err := micro.NewModel(micro.Settings{})
	if err != nil {
		log.Fatal(err)
	}
	defer model.Close()
	svc, err := micro.NewService("flow")
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close()
	err = svc.Subscribe("orders", "", func(ctx context.Context, topic string, body []byte, header micro.Metadata) error {
		// A new agent each time offers the endpoints registered now.
		agent, err := micro.NewAgent(model, micro.RegistryTools(nil))
		if err != nil {
			return err
		}
		defer agent.Close()
		rsp, err := agent.Generate(ctx, micro.Request{
			System: "You process events. Use the tools to act on the event, then say what you did.",
			Prompt: "An event arrived on " + topic + ": " + string(body),
		})
		if err != nil {
			return err
		}
		log.Printf("%s: %s (%d tool calls)", topic, rsp.Text, len(rsp.ToolCalls))
		return nil
	})
	if err == nil {
		err = svc.Run(context.Background())
	}
	if err != nil {
		log.Fatal(err)
	}
}
