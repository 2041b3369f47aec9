package micro_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	micro "github.com/libmicro/libmicro/bindings/go"
)

type (
	sumRequest struct {
		A int `json:"a"`
		B int `json:"b"`
	}
	sumResponse struct {
		Sum int `json:"sum"`
	}
)

// adder is a tool adding a and b, counting its calls.
func adder(calls *atomic.Int32) micro.Tool {
	return micro.Tool{
		ToolSpec: micro.ToolSpec{Name: "add", Description: "Adds a and b.",
			Parameters: json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}}}`)},
		Handle: func(ctx context.Context, call micro.ToolCall) (any, error) {
			calls.Add(1)
			var req sumRequest
			if err := json.Unmarshal(call.Arguments, &req); err != nil {
				return nil, err
			}
			return sumResponse{Sum: req.A + req.B}, nil
		},
	}
}

// events reads a stream to its end.
func events(t *testing.T, stream *micro.EventStream) []micro.Event {
	t.Helper()
	defer stream.Close()
	var all []micro.Event
	for {
		event, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return all
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		all = append(all, event)
	}
}

// toolMessage is the content of the tool message of a request to the provider.
func toolMessage(t *testing.T, request map[string]any) (id, content string) {
	t.Helper()
	for _, m := range request["messages"].([]any) {
		if message := m.(map[string]any); message["role"] == "tool" {
			return message["tool_call_id"].(string), message["content"].(string)
		}
	}
	t.Fatalf("no tool message in %v", request)
	return "", ""
}

func TestModelAnswersWholeAndStreamed(t *testing.T) {
	p := startProvider(t)
	model := p.model(t, providerKey)
	p.script(reply{text: "Hello from Go."})
	rsp, err := model.Generate(timeout(t), micro.Request{Prompt: "Say hello", System: "Be brief."})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if rsp.Text != "Hello from Go." || rsp.Usage != (micro.Usage{InputTokens: 11, OutputTokens: 7}) {
		t.Fatalf("got %+v", rsp)
	}
	if len(rsp.Messages) != 2 || rsp.Messages[0].Role != micro.RoleUser || rsp.Messages[1].Content != "Hello from Go." {
		t.Fatalf("messages: %+v", rsp.Messages)
	}
	seen := p.requests()[0]
	if seen.path != "/v1/chat/completions" || seen.authorization != "Bearer "+providerKey || seen.body["model"] != "test-model" {
		t.Fatalf("request: %s %s %v", seen.path, seen.authorization, seen.body)
	}
	if !strings.Contains(seen.raw, "Be brief.") || !strings.Contains(seen.raw, "Say hello") {
		t.Fatalf("request: %s", seen.raw)
	}

	p.script(reply{text: "One two three."})
	stream, err := model.Stream(timeout(t), micro.Request{Prompt: "Count"})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	var pieces []string
	all := events(t, stream)
	for _, event := range all[:len(all)-1] {
		if event.Type != micro.EventText {
			t.Fatalf("unexpected %+v", event)
		}
		pieces = append(pieces, event.Text)
	}
	if strings.Join(pieces, "|") != "One |two |three." {
		t.Fatalf("pieces: %q", pieces)
	}
	if done := all[len(all)-1]; done.Type != micro.EventDone || done.Response.Text != "One two three." {
		t.Fatalf("last: %+v", done)
	}
}

func TestAgentRoundTripsATool(t *testing.T) {
	p := startProvider(t)
	var calls atomic.Int32
	agent, err := micro.NewAgent(p.model(t, providerKey), adder(&calls), micro.MaxSteps(4))
	if err != nil {
		t.Fatalf("NewAgent: %v", err)
	}
	defer agent.Close()
	p.script(reply{tool: "add", arguments: `{"a":2,"b":3}`}, reply{text: "The sum is 5."})
	rsp, err := agent.Generate(timeout(t), micro.Request{Prompt: "What is 2+3?"})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if rsp.Text != "The sum is 5." || len(rsp.ToolCalls) != 1 || string(rsp.ToolCalls[0].Result) != `{"sum":5}` {
		t.Fatalf("got %+v", rsp)
	}
	if calls.Load() != 1 || rsp.Usage.OutputTokens != 14 || len(rsp.Messages) != 4 {
		t.Fatalf("calls %d, %+v", calls.Load(), rsp)
	}
	seen := p.requests()
	tools := seen[0].body["tools"].([]any)
	if len(tools) != 1 || tools[0].(map[string]any)["function"].(map[string]any)["name"] != "add" {
		t.Fatalf("offered: %v", tools)
	}
	if id, content := toolMessage(t, seen[1].body); id != "call_0" || content != `{"sum":5}` {
		t.Fatalf("the model was told %s: %s", id, content)
	}
}

func TestAgentStreamsAToolRoundTrip(t *testing.T) {
	p := startProvider(t)
	var calls atomic.Int32
	agent, err := micro.NewAgent(p.model(t, providerKey), adder(&calls))
	if err != nil {
		t.Fatalf("NewAgent: %v", err)
	}
	p.script(reply{tool: "add", arguments: `{"a":4,"b":5}`}, reply{text: "It is 9."})
	stream, err := agent.Stream(timeout(t), micro.Request{Prompt: "What is 4+5?"})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	agent.Close() // the stream keeps the tools
	var got []string
	for _, event := range events(t, stream) {
		switch event.Type {
		case micro.EventToolCall:
			got = append(got, "call "+event.Call.Name+" "+string(event.Call.Arguments))
		case micro.EventToolResult:
			got = append(got, "result "+string(event.Call.Result))
		case micro.EventText:
			got = append(got, "text "+event.Text)
		case micro.EventDone:
			got = append(got, "done "+event.Response.Text)
		}
	}
	want := `call add {"a":4,"b":5}|result {"sum":9}|text It |text is |text 9.|done It is 9.`
	if strings.Join(got, "|") != want {
		t.Fatalf("events:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
}

func TestAToolErrorIsToldToTheModel(t *testing.T) {
	p := startProvider(t)
	broken := micro.Tool{ToolSpec: micro.ToolSpec{Name: "add"}, Handle: func(ctx context.Context, call micro.ToolCall) (any, error) {
		return nil, errors.New("the calculator is broken")
	}}
	agent, err := micro.NewAgent(p.model(t, providerKey), broken)
	if err != nil {
		t.Fatalf("NewAgent: %v", err)
	}
	defer agent.Close()
	p.script(reply{tool: "add", arguments: `{"a":1,"b":1}`}, reply{text: "It is broken."})
	rsp, err := agent.Generate(timeout(t), micro.Request{Prompt: "1+1?"})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if rsp.ToolCalls[0].Error != "the calculator is broken" || rsp.ToolCalls[0].Result != nil {
		t.Fatalf("got %+v", rsp.ToolCalls)
	}
	if _, content := toolMessage(t, p.requests()[1].body); content != `{"error":"the calculator is broken"}` {
		t.Fatalf("the model was told %s", content)
	}
}

func TestARefusedKeyIsAClearError(t *testing.T) {
	p := startProvider(t)
	model := p.model(t, "sk-wrong")
	p.script(reply{status: 401}, reply{status: 401})
	_, whole := model.Generate(timeout(t), micro.Request{Prompt: "Hi"})
	stream, err := model.Stream(timeout(t), micro.Request{Prompt: "Hi"})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer stream.Close()
	_, streamed := stream.Recv()
	for _, err := range []error{whole, streamed} {
		var merr *micro.Error
		if !errors.As(err, &merr) || merr.Code != 401 || micro.KindOf(err) != micro.KindUnauthorized {
			t.Fatalf("want a 401 *micro.Error, got %v", err)
		}
		for _, says := range []string{"openai refused the key", "invalid api key", "OPENAI_API_KEY"} {
			if !strings.Contains(merr.Detail, says) {
				t.Fatalf("%q does not say %q", merr.Detail, says)
			}
		}
		if strings.Contains(err.Error(), "sk-wrong") {
			t.Fatalf("the key leaked: %v", err)
		}
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the error: %v", err)
	}
}

func TestTheContextStopsTheStream(t *testing.T) {
	p := startProvider(t)
	model := p.model(t, providerKey)
	p.script(reply{text: "Too late.", pause: 10 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := model.Stream(ctx, micro.Request{Prompt: "Slowly"})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer stream.Close()
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if _, err := stream.Recv(); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("Recv returned %v after the cancel", waited)
	}

	// A deadline ends Generate with a timeout that is also context.DeadlineExceeded.
	p.script(reply{text: "Too late.", pause: 10 * time.Second})
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := model.Generate(ctx, micro.Request{Prompt: "Slowly"}); !errors.Is(err, context.DeadlineExceeded) || !micro.IsTimeout(err) {
		t.Fatalf("want a deadline, got %v", err)
	}
}

func TestRegistryToolsCallAService(t *testing.T) {
	serve(t, "go.calc", func(s *micro.Service) error {
		if err := micro.Handle(s, "Calc.Add", func(ctx context.Context, req sumRequest) (sumResponse, error) {
			return sumResponse{Sum: req.A + req.B}, nil
		}); err != nil {
			return err
		}
		return s.Describe("Calc.Add", "Adds a and b", `{"a": 1, "b": 2}`)
	})
	p := startProvider(t)
	model := p.model(t, providerKey)
	agent, err := micro.NewAgent(model, micro.RegistryTools(nil))
	if err != nil {
		t.Fatalf("NewAgent: %v", err)
	}
	defer agent.Close()
	p.script(reply{tool: "go_calc_Calc_Add", arguments: `{"a":20,"b":22}`}, reply{text: "42."})
	rsp, err := agent.Generate(timeout(t), micro.Request{Prompt: "20+22?"})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if string(rsp.ToolCalls[0].Result) != `{"sum":42}` {
		t.Fatalf("got %+v", rsp.ToolCalls)
	}
	if !strings.Contains(p.requests()[0].raw, `"go_calc_Calc_Add"`) {
		t.Fatalf("not offered: %s", p.requests()[0].raw)
	}

	// The same tools, run by Go instead of the client.
	var routed atomic.Value
	guarded, err := micro.NewAgent(model, micro.RegistryTools(func(ctx context.Context, call micro.ToolCall) (any, error) {
		routed.Store(call.Name + " " + string(call.Arguments))
		return map[string]string{"refused": "not today"}, nil
	}))
	if err != nil {
		t.Fatalf("NewAgent: %v", err)
	}
	defer guarded.Close()
	p.script(reply{tool: "go_calc_Calc_Add", arguments: `{"a":1,"b":2}`}, reply{text: "Refused."})
	rsp, err = guarded.Generate(timeout(t), micro.Request{Prompt: "1+2?"})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if routed.Load() != `go_calc_Calc_Add {"a":1,"b":2}` || string(rsp.ToolCalls[0].Result) != `{"refused":"not today"}` {
		t.Fatalf("routed %v, got %+v", routed.Load(), rsp.ToolCalls)
	}
}

func TestAnAgentNeedsTools(t *testing.T) {
	p := startProvider(t)
	model := p.model(t, providerKey)
	var calls atomic.Int32
	for _, opts := range [][]micro.AgentOption{
		nil,
		{micro.Tool{ToolSpec: micro.ToolSpec{Name: "add"}}},
		{adder(&calls), micro.RegistryTools(nil)},
	} {
		if _, err := micro.NewAgent(model, opts...); !errors.Is(err, micro.ErrInvalidArgument) {
			t.Fatalf("%d options: want ErrInvalidArgument, got %v", len(opts), err)
		}
	}
	if _, err := micro.NewModel(micro.Settings{Provider: "nope"}); micro.Code(err) != 400 || !strings.Contains(err.Error(), "anthropic, openai") {
		t.Fatalf("an unknown provider: %v", err)
	}
	model.Close()
	if _, err := micro.NewAgent(model, adder(&calls)); !errors.Is(err, micro.ErrState) {
		t.Fatalf("a closed model: %v", err)
	}
}
