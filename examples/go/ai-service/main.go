// Pattern 3, a service that uses a model itself: Assistant.Ask answers a question in one
// sentence. The model comes from MICRO_AI_PROVIDER, MICRO_AI_API_KEY (or the provider's own
// variable), MICRO_AI_MODEL and MICRO_AI_BASE_URL.
//
//	go run ./ai-service &
//	micro call assistant Assistant.Ask '{"question": "Why is the sky blue?"}'
package main

import (
	"context"
	"log"

	micro "github.com/libmicro/libmicro/bindings/go"
)

// AskRequest is a question.
type AskRequest struct {
	Question string `json:"question"`
}

// AskResponse is the model's answer.
type AskResponse struct {
	Answer string `json:"answer"`
}

func main() {
	model, err := micro.NewModel(micro.Settings{})
	if err != nil {
		log.Fatal(err)
	}
	defer model.Close()
	svc, err := micro.NewService("assistant")
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close()
	err = micro.Handle(svc, "Assistant.Ask", func(ctx context.Context, req AskRequest) (AskResponse, error) {
		rsp, err := model.Generate(ctx, micro.Request{System: "Answer in one sentence.", Prompt: req.Question})
		if err != nil {
			return AskResponse{}, err
		}
		return AskResponse{Answer: rsp.Text}, nil
	})
	if err == nil {
		err = svc.Describe("Assistant.Ask", "Answers a question in one sentence", `{"question":"Why is the sky blue?"}`)
	}
	if err == nil {
		err = svc.Run(context.Background())
	}
	if err != nil {
		log.Fatal(err)
	}
}
