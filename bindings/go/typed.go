package micro

import (
	"context"
	"encoding/json"
)

// Handle serves the unary endpoint ("Handler.Method") of s with a typed handler: the request
// is decoded from JSON into Req (a 400 [*Error] when it does not decode) and the response
// encoded as JSON, as go-micro's JSON codec does. Only before Start.
//
//	micro.Handle(svc, "Greeter.Hello", func(ctx context.Context, req HelloRequest) (HelloResponse, error) {
//		return HelloResponse{Msg: "Hello " + req.Name}, nil
//	})
func Handle[Req, Rsp any](s *Service, endpoint string, fn func(ctx context.Context, req Req) (Rsp, error)) error {
	return s.Handle(endpoint, func(ctx context.Context, body []byte) ([]byte, error) {
		var req Req
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, BadRequest(s.name, "%s: the request is not the JSON expected: %v", endpoint, err)
		}
		rsp, err := fn(ctx, req)
		if err != nil {
			return nil, err
		}
		return json.Marshal(rsp)
	})
}

// Call calls endpoint of service with req encoded as JSON and decodes the JSON response into
// Rsp; errors as [Client.Call].
//
//	rsp, err := micro.Call[HelloRequest, HelloResponse](ctx, client, "greeter", "Greeter.Hello", HelloRequest{Name: "Alice"})
func Call[Req, Rsp any](ctx context.Context, c *Client, service, endpoint string, req Req, opts ...CallOption) (Rsp, error) {
	var rsp Rsp
	body, err := json.Marshal(req)
	if err != nil {
		return rsp, err
	}
	out, err := c.Call(ctx, service, endpoint, body, opts...)
	if err != nil {
		return rsp, err
	}
	if err := json.Unmarshal(out, &rsp); err != nil {
		return rsp, InternalServerError("go.micro.client", "%s.%s answered JSON that does not fit the response type: %v", service, endpoint, err)
	}
	return rsp, nil
}

// Publish publishes msg encoded as JSON on topic; as [Client.Publish].
func Publish[T any](ctx context.Context, c *Client, topic string, msg T) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	return c.Publish(ctx, topic, body)
}

// Send sends msg encoded as JSON on the stream.
func Send[T any](s *Stream, msg T) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	return s.Send(body)
}

// Recv receives the next message and decodes it from JSON into T; io.EOF at the end of the
// stream.
func Recv[T any](s *Stream) (T, error) {
	var msg T
	body, err := s.Recv()
	if err != nil {
		return msg, err
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return msg, BadRequest("micro.go", "a stream message is not the JSON expected: %v", err)
	}
	return msg, nil
}
