package micro_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	micro "github.com/libmicro/libmicro/bindings/go"
)

// providerKey is the key the scripted provider's models send.
const providerKey = "sk-test-5ecret-key"

// reply is one scripted answer: an HTTP error status, or text and at most one tool call.
type reply struct {
	status    int
	text      string
	tool      string
	arguments string
	pause     time.Duration
}

// seenRequest is a request the provider got.
type seenRequest struct {
	path, authorization string
	body                map[string]any
	raw                 string
}

// provider is a model provider on loopback speaking OpenAI's chat completions: it answers
// with the replies a test scripts, whole or as server-sent events as the request asks, and
// keeps every request.
type provider struct {
	server  *httptest.Server
	mu      sync.Mutex
	replies []reply
	seen    []seenRequest
}

func startProvider(t *testing.T) *provider {
	p := &provider{}
	p.server = httptest.NewServer(http.HandlerFunc(p.answer))
	t.Cleanup(p.server.Close)
	return p
}

// script queues replies, answered in order.
func (p *provider) script(replies ...reply) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.replies = append(p.replies, replies...)
}

// requests are the requests received so far.
func (p *provider) requests() []seenRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seenRequest(nil), p.seen...)
}

// model is a model of this provider sending key, closed when the test ends.
func (p *provider) model(t *testing.T, key string) *micro.Model {
	model, err := micro.NewModel(micro.Settings{Provider: "openai", Model: "test-model", APIKey: key, BaseURL: p.server.URL})
	if err != nil {
		t.Fatalf("NewModel: %v", err)
	}
	t.Cleanup(model.Close)
	return model
}

func (p *provider) answer(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	p.mu.Lock()
	p.seen = append(p.seen, seenRequest{path: r.URL.Path, authorization: r.Header.Get("Authorization"), body: body, raw: string(raw)})
	next := reply{text: "nothing scripted"}
	if len(p.replies) > 0 {
		next, p.replies = p.replies[0], p.replies[1:]
	}
	p.mu.Unlock()
	select {
	case <-time.After(next.pause):
	case <-r.Context().Done():
		return
	}
	if next.status >= 400 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(next.status)
		fmt.Fprint(w, `{"error":{"message":"invalid api key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)
		return
	}
	var calls []any
	finish := "stop"
	if next.tool != "" {
		finish = "tool_calls"
		calls = []any{map[string]any{"id": "call_0", "type": "function",
			"function": map[string]any{"name": next.tool, "arguments": next.arguments}}}
	}
	usage := map[string]any{"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
	if body["stream"] != true {
		message := map[string]any{"role": "assistant", "content": next.text}
		if calls != nil {
			message["tool_calls"] = calls
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "chatcmpl-1", "object": "chat.completion", "created": 1,
			"model": "m", "choices": []any{map[string]any{"index": 0, "message": message, "finish_reason": finish}}, "usage": usage})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	send := func(delta map[string]any, finish any) {
		chunk, _ := json.Marshal(map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
			"model": "m", "choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
		fmt.Fprintf(w, "data: %s\n\n", chunk)
	}
	send(map[string]any{"role": "assistant", "content": ""}, nil)
	for _, word := range strings.SplitAfter(next.text, " ") {
		if word != "" {
			send(map[string]any{"content": word}, nil)
		}
	}
	if calls != nil {
		call := calls[0].(map[string]any)
		call["index"] = 0
		send(map[string]any{"tool_calls": []any{call}}, nil)
	}
	send(map[string]any{}, finish)
	last, _ := json.Marshal(map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
		"model": "m", "choices": []any{}, "usage": usage})
	fmt.Fprintf(w, "data: %s\n\ndata: [DONE]\n\n", last)
}
