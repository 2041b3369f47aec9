package servers_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	micro "github.com/libmicro/libmicro/bindings/go"
)

// A real model streams an answer through the openai provider: text in pieces that make up the
// answer of the last event. (A model this small cannot be trusted to call tools: the tool loop
// is proven against the scripted provider.)
func TestARealModelStreamsAnAnswer(t *testing.T) {
	url, err := servers("url", "llm")
	if err != nil {
		t.Fatalf("llm url: %v", err)
	}
	model, err := micro.NewModel(micro.Settings{Provider: "openai", Model: "SmolLM2-135M-Instruct", APIKey: "sk-local", BaseURL: url})
	if err != nil {
		t.Fatalf("NewModel: %v", err)
	}
	defer model.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stream, err := model.Stream(ctx, micro.Request{Prompt: "Say hello in one short sentence.", System: "You are brief."})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer stream.Close()
	var pieces []string
	var done *micro.Response
	for {
		event, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		switch event.Type {
		case micro.EventText:
			pieces = append(pieces, event.Text)
		case micro.EventDone:
			done = event.Response
		}
	}
	if done == nil || strings.TrimSpace(done.Text) == "" || len(pieces) < 2 {
		t.Fatalf("pieces %q, answer %+v", pieces, done)
	}
	if strings.Join(pieces, "") != done.Text {
		t.Fatalf("pieces %q do not make the answer %+v", pieces, done)
	}
	t.Logf("the model said: %s", done.Text)
}
