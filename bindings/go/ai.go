package micro

/*
#include <stdlib.h>
#include "micro.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Settings chooses a model: the provider (anthropic, openai, gemini, groq, mistral, together,
// atlascloud, ollama, minimax), the model, the API key and the API's address. Empty fields
// come from MICRO_AI_PROVIDER, MICRO_AI_MODEL, MICRO_AI_API_KEY (or the provider's own
// variable, such as OPENAI_API_KEY) and MICRO_AI_BASE_URL; then openai and the provider's
// default model.
type Settings struct {
	// Provider is the provider's name.
	Provider string `json:"provider,omitempty"`
	// Model is the model's name.
	Model string `json:"model,omitempty"`
	// APIKey is the provider's key; it is never logged nor put in an error.
	APIKey string `json:"api_key,omitempty"`
	// BaseURL is the API's address, with or without its version path
	// (http://127.0.0.1:8080/v1).
	BaseURL string `json:"base_url,omitempty"`
}

// Role is who said a [Message].
type Role string

// The roles of a conversation.
const (
	RoleSystem    Role = "system"    // instructions for the model
	RoleUser      Role = "user"      // the person or program asking
	RoleAssistant Role = "assistant" // the model
	RoleTool      Role = "tool"      // a tool's result, answering the call named by ToolCallID
)

// Message is one message of a conversation.
type Message struct {
	// Role is who said it.
	Role Role `json:"role"`
	// Content is what was said: text, or for a tool message the tool's result (JSON text).
	Content string `json:"content"`
	// ToolCalls are the tools an assistant message asked for.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID is the call a tool message answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
}

// ToolSpec is a tool as a model sees it.
type ToolSpec struct {
	// Name is the tool's name, ^[a-zA-Z0-9_-]{1,64}$ for every provider to take it.
	Name string `json:"name"`
	// Description says what it does, for the model to choose it.
	Description string `json:"description,omitempty"`
	// Parameters is the JSON Schema of its arguments, an object (nil: any object).
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

// ToolCall is a tool the model asked for and, once it ran, its result or error.
type ToolCall struct {
	// ID is the provider's id for the call, which its result answers.
	ID string `json:"id"`
	// Name is the tool's name.
	Name string `json:"name"`
	// Arguments are the arguments the model gave, a JSON object.
	Arguments json.RawMessage `json:"arguments,omitempty"`
	// Result is the tool's answer, once it ran and succeeded.
	Result json.RawMessage `json:"result,omitempty"`
	// Error says why it failed or did not run.
	Error string `json:"error,omitempty"`
}

// Request is what to ask a model.
type Request struct {
	// Prompt is the user's message; empty when Messages already ends with it.
	Prompt string `json:"prompt,omitempty"`
	// System is the instructions for the model.
	System string `json:"system,omitempty"`
	// Messages is the conversation so far, oldest first.
	Messages []Message `json:"messages,omitempty"`
	// Tools are the tools a [Model] may ask for (it does not run them); an [Agent] offers its
	// own instead.
	Tools []ToolSpec `json:"tools,omitempty"`
}

// Usage is the tokens a model read and wrote, as the provider counted them.
type Usage struct {
	// InputTokens is the tokens read: prompt, conversation and tools.
	InputTokens uint64 `json:"input_tokens"`
	// OutputTokens is the tokens written.
	OutputTokens uint64 `json:"output_tokens"`
}

// Response is a model's answer.
type Response struct {
	// Text is the answer's text.
	Text string `json:"text"`
	// ToolCalls are the tools asked for: from a [Model] not yet run, from an [Agent] every
	// call it made with its result or error.
	ToolCalls []ToolCall `json:"tool_calls"`
	// Usage is the tokens used, over every step.
	Usage Usage `json:"usage"`
	// Messages are the messages the exchange added to the conversation (the prompt, the tool
	// calls and results, the answer): append them to keep a history.
	Messages []Message `json:"messages"`
}

// EventType is what an [Event] reports.
type EventType string

// The events of a stream, in the order they come.
const (
	EventText       EventType = "text"        // a piece of the answer's text, in Text
	EventToolCall   EventType = "tool_call"   // the model asked for a tool, in Call
	EventToolResult EventType = "tool_result" // a tool ran or was refused, in Call
	EventDone       EventType = "done"        // the end: the whole answer, in Response
)

// Event is one step of a streamed answer.
type Event struct {
	// Type says which of the other fields is set.
	Type EventType `json:"type"`
	// Text is a piece of the answer (EventText).
	Text string `json:"text,omitempty"`
	// Call is the tool call (EventToolCall), with its result or error (EventToolResult).
	Call *ToolCall `json:"call,omitempty"`
	// Response is the whole answer (EventDone).
	Response *Response `json:"response,omitempty"`
}

// Model is a model of one provider. Share it between goroutines; [Model.Close] it when done
// (agents and streams made from it go on working).
type Model struct {
	mu  sync.RWMutex
	ptr *C.micro_model
}

// NewModel makes a model from settings; nothing is sent until it is asked. A 400 [*Error]
// for an unknown provider or a missing key says what to set.
func NewModel(settings Settings) (*Model, error) {
	csettings, err := cJSON(settings)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(csettings))
	m := &Model{}
	var cerr *C.micro_error
	if err := check(C.micro_model_new(csettings, &m.ptr, &cerr), cerr); err != nil {
		return nil, err
	}
	return m, nil
}

// Generate asks the model and returns its whole answer; tool calls come back unrun. The
// answer is received as a stream, so ctx ends the exchange. A refusal is an [*Error] with
// the provider's status (401 for a refused key, 429 when rate limited, ...), 503 when the
// provider cannot be reached.
func (m *Model) Generate(ctx context.Context, req Request) (*Response, error) {
	stream, err := m.Stream(ctx, req)
	if err != nil {
		return nil, err
	}
	return stream.response()
}

// Stream asks the model and streams its answer: [EventText] pieces, an [EventToolCall] for each
// tool asked for (unrun), then [EventDone]. Cancelling ctx ends the stream. Close the stream
// when done with it.
func (m *Model) Stream(ctx context.Context, req Request) (*EventStream, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.ptr == nil {
		return nil, stateError("the model is closed; make a new one")
	}
	return openStream(ctx, req, nil, func(creq *C.char, out **C.micro_ai_stream, cerr **C.micro_error) C.int32_t {
		return C.micro_model_stream(m.ptr, creq, out, cerr)
	})
}

// Close frees the model; agents and streams made from it go on working.
func (m *Model) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ptr != nil {
		C.micro_model_free(m.ptr)
		m.ptr = nil
	}
}

// ToolFunc runs one tool call: its result, encoded as JSON for the model, or an error whose
// text the model is told. ctx is the call's own, not the stream's.
type ToolFunc func(ctx context.Context, call ToolCall) (any, error)

// Tool is a tool an [Agent] offers and the function that runs it.
type Tool struct {
	ToolSpec
	// Handle runs the tool's calls.
	Handle ToolFunc
}

// AgentOption chooses an agent's tools and limits: a [Tool], [RegistryTools] or [MaxSteps].
type AgentOption interface {
	apply(*agentConfig)
}

type agentConfig struct {
	specs    []ToolSpec
	funcs    map[string]ToolFunc
	registry bool
	// handle runs the registry's tools instead of the client (RegistryTools).
	handle   ToolFunc
	maxSteps int
}

func (t Tool) apply(c *agentConfig) {
	c.specs = append(c.specs, t.ToolSpec)
	c.funcs[t.Name] = t.Handle
}

type agentOption func(*agentConfig)

func (o agentOption) apply(c *agentConfig) { o(c) }

// RegistryTools offers every endpoint in the registry as a tool (named service_Handler_Method,
// with its request's JSON Schema), called through the client; with handle non-nil, handle
// runs the calls instead, to log, guard or route them.
func RegistryTools(handle ToolFunc) AgentOption {
	return agentOption(func(c *agentConfig) {
		c.registry = true
		c.handle = handle
	})
}

// MaxSteps lets the model ask for tools up to steps times before it must answer (default 10).
func MaxSteps(steps int) AgentOption {
	return agentOption(func(c *agentConfig) { c.maxSteps = steps })
}

// run is the Go handler behind the agent's C tool handler: it runs each call with the
// function for its tool.
func (c *agentConfig) run(ctx context.Context, body []byte) ([]byte, error) {
	var call ToolCall
	if err := json.Unmarshal(body, &call); err != nil {
		return nil, err
	}
	handle := c.handle
	if !c.registry {
		handle = c.funcs[call.Name]
	}
	result, err := handle(ctx, call)
	if err != nil {
		return nil, err
	}
	return json.Marshal(result)
}

// Agent is a model with tools, running the tool loop: it makes the tool calls the model asks
// for (in parallel when it asks for several), gives it the results or errors, and goes on
// until the model answers or has asked for tools MaxSteps times. Share it between goroutines;
// [Agent.Close] it when done.
type Agent struct {
	mu  sync.RWMutex
	ptr *C.micro_agent
	// tools is the handle of the Go tool handler, nil when the client runs the tools.
	tools *sharedHandle
}

// NewAgent makes an agent of model (which may be closed afterwards) with the tools opts give:
// [Tool] values, each run by its Handle, or [RegistryTools].
func NewAgent(model *Model, opts ...AgentOption) (*Agent, error) {
	config := &agentConfig{funcs: map[string]ToolFunc{}}
	for _, opt := range opts {
		opt.apply(config)
	}
	for _, spec := range config.specs {
		if config.funcs[spec.Name] == nil {
			return nil, invalidArgument(fmt.Sprintf("tool %q has no Handle to run it", spec.Name))
		}
	}
	if config.registry == (len(config.specs) > 0) {
		return nil, invalidArgument("give an agent Tool values or RegistryTools, one of the two")
	}
	var ctools *C.char
	if !config.registry {
		text, err := json.Marshal(config.specs)
		if err != nil {
			return nil, err
		}
		ctools = C.CString(string(text))
		defer C.free(unsafe.Pointer(ctools))
	}
	coptions, err := cJSON(struct {
		MaxSteps int `json:"max_steps,omitempty"`
	}{config.maxSteps})
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(coptions))
	var tools *sharedHandle
	if !config.registry || config.handle != nil {
		tools = newSharedHandle(handler{service: "micro.ai", fn: config.run})
	}
	model.mu.RLock()
	defer model.mu.RUnlock()
	if model.ptr == nil {
		tools.release()
		return nil, stateError("the model is closed; make a new one")
	}
	var (
		ptr  *C.micro_agent
		cerr *C.micro_error
	)
	if err := check(agentNew(model.ptr, ctools, tools.value(), coptions, &ptr, &cerr), cerr); err != nil {
		tools.release()
		return nil, err
	}
	return &Agent{ptr: ptr, tools: tools}, nil
}

// Generate runs the tool loop to the end and returns the answer, with every tool call made.
// ctx ends it (a tool call under way still finishes). Errors as [Model.Generate], and a 400
// when the model asked for tools MaxSteps times without answering.
func (a *Agent) Generate(ctx context.Context, req Request) (*Response, error) {
	stream, err := a.Stream(ctx, req)
	if err != nil {
		return nil, err
	}
	return stream.response()
}

// Stream runs the tool loop, reporting as it goes: [EventText] pieces, an [EventToolCall] as
// the model asks for a tool, an [EventToolResult] once it ran, then [EventDone]. Cancelling
// ctx, or closing the stream, stops the loop. Close the stream when done with it.
func (a *Agent) Stream(ctx context.Context, req Request) (*EventStream, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.ptr == nil {
		return nil, stateError("the agent is closed; make a new one")
	}
	return openStream(ctx, req, a.tools, func(creq *C.char, out **C.micro_ai_stream, cerr **C.micro_error) C.int32_t {
		return C.micro_agent_stream(a.ptr, creq, out, cerr)
	})
}

// Close frees the agent; its streams go on working until closed.
func (a *Agent) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ptr != nil {
		C.micro_agent_free(a.ptr)
		a.ptr = nil
		a.tools.release()
	}
}

// sharedHandle is a cgo.Handle the C side may use until every holder released it: an agent
// and each of its streams hold one reference.
type sharedHandle struct {
	handle cgo.Handle
	refs   atomic.Int32
}

func newSharedHandle(value any) *sharedHandle {
	h := &sharedHandle{handle: cgo.NewHandle(value)}
	h.refs.Store(1)
	return h
}

// value is the handle, 0 for none.
func (h *sharedHandle) value() cgo.Handle {
	if h == nil {
		return 0
	}
	return h.handle
}

// hold takes another reference; nil holds nothing.
func (h *sharedHandle) hold() *sharedHandle {
	if h != nil {
		h.refs.Add(1)
	}
	return h
}

// release gives up a reference, deleting the handle with the last.
func (h *sharedHandle) release() {
	if h != nil && h.refs.Add(-1) == 0 {
		h.handle.Delete()
	}
}

// EventStream is a streamed answer: [EventStream.Recv] its events, then [EventStream.Close] it.
type EventStream struct {
	ctx context.Context
	// mu keeps the cancellation ctx starts from running into Close.
	mu     sync.Mutex
	ptr    *C.micro_ai_stream
	stop   func() bool
	tools  *sharedHandle
	closed sync.Once
}

// openStream opens a stream of req with open, cancelled when ctx is done, holding tools (the
// agent's tool handler) until closed.
func openStream(ctx context.Context, req Request, tools *sharedHandle,
	open func(*C.char, **C.micro_ai_stream, **C.micro_error) C.int32_t) (*EventStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(err)
	}
	creq, err := cJSON(req)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(creq))
	var (
		ptr  *C.micro_ai_stream
		cerr *C.micro_error
	)
	if err := check(open(creq, &ptr, &cerr), cerr); err != nil {
		return nil, err
	}
	s := &EventStream{ctx: ctx, ptr: ptr, tools: tools.hold()}
	s.stop = context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.ptr != nil {
			C.micro_ai_stream_cancel(s.ptr, nil)
		}
	})
	return s, nil
}

// Recv waits for the next event; io.EOF after [EventDone]. A failure (the provider's refusal,
// the step limit, ...) is returned once and ends the stream; once ctx is done, its error (a
// deadline as a 408 [*Error] that also matches context.DeadlineExceeded). One goroutine at a
// time.
func (s *EventStream) Recv() (Event, error) {
	var (
		event Event
		text  *C.char
		cerr  *C.micro_error
	)
	if s.ptr == nil {
		return event, stateError("the stream is closed")
	}
	status := C.micro_ai_stream_next(s.ptr, &text, &cerr)
	if status == C.MICRO_EOF {
		return event, io.EOF
	}
	if err := check(status, cerr); err != nil {
		if ctxErr := s.ctx.Err(); ctxErr != nil {
			return event, contextError(ctxErr)
		}
		return event, err
	}
	defer C.micro_string_free(text)
	err := json.Unmarshal([]byte(C.GoString(text)), &event)
	return event, err
}

// response reads the stream to its end and closes it: the answer of its [EventDone].
func (s *EventStream) response() (*Response, error) {
	defer s.Close()
	for {
		event, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil, stateError("the stream ended without an answer")
		}
		if err != nil {
			return nil, err
		}
		if event.Type == EventDone {
			return event.Response, nil
		}
	}
}

// Close ends the stream (an agent's loop stops) and frees it; call it once no Recv is under
// way. Closing again does nothing.
func (s *EventStream) Close() {
	s.closed.Do(func() {
		s.stop()
		s.mu.Lock()
		defer s.mu.Unlock()
		C.micro_ai_stream_free(s.ptr)
		s.ptr = nil
		s.tools.release()
	})
}
