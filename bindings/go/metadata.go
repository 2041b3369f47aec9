package micro

import (
	"context"
	"net/http"
	"strings"
)

// Metadata is call metadata: headers sent with a call (go-micro sends them as transport
// headers) and seen by the handler, which also sees the transport's own (Micro-Endpoint,
// Timeout, ...).
type Metadata map[string]string

type metadataKey struct{}

// NewContext returns ctx carrying md: calls made with it send md, as go-micro's
// metadata.NewContext does.
func NewContext(ctx context.Context, md Metadata) context.Context {
	return context.WithValue(ctx, metadataKey{}, md)
}

// FromContext returns the metadata ctx carries: in a handler, the caller's; after
// [NewContext], what calls made with ctx send.
func FromContext(ctx context.Context) (Metadata, bool) {
	md, ok := ctx.Value(metadataKey{}).(Metadata)
	return md, ok
}

// outgoing is the metadata a call made with ctx sends: the context's, without the headers the
// transport sets itself, so a handler's context passes its caller's metadata on (as go-micro
// does) but not the caller's endpoint, timeout or content type.
func outgoing(ctx context.Context) Metadata {
	md, _ := FromContext(ctx)
	out := make(Metadata, len(md))
	for key, value := range md {
		if !transportHeader(key) {
			out[key] = value
		}
	}
	return out
}

// transportHeader reports whether key is a header the transport sets on every call.
func transportHeader(key string) bool {
	key = http.CanonicalHeaderKey(key)
	if strings.HasPrefix(key, "Micro-") || strings.HasPrefix(key, "X-Micro-") {
		return true
	}
	switch key {
	case "Timeout", "Content-Type", "Content-Length", "Accept", "Host", "User-Agent",
		"Local", "Remote", "Transfer-Encoding", "Connection":
		return true
	}
	return false
}
