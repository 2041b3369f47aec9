package micro

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Error is a go-micro error: who raised it (Id), an HTTP-like Code, a human Detail and the
// Status text for the code. Calls return it for every failure the engine or the remote
// service reports; a handler returns it to answer with that code. Find it with errors.As.
type Error struct {
	// Id names who raised the error, e.g. "go.micro.client" or the service name.
	Id string `json:"id,omitempty"`
	// Code is an HTTP status code: 400, 401, 403, 404, 408, 409, 500, ...
	Code int32 `json:"code,omitempty"`
	// Detail says what went wrong and what to do about it.
	Detail string `json:"detail,omitempty"`
	// Status is the HTTP status text for Code, e.g. "Not Found".
	Status string `json:"status,omitempty"`
	// Kind is what sort of failure the engine reported (not on the wire): it tells apart
	// what one code covers, e.g. a 404 from the service (KindNotFound) and a 404 because no
	// node of the service is known (KindNoService). Read it with [KindOf].
	Kind Kind `json:"-"`

	// cause is what the error wraps, e.g. context.DeadlineExceeded for a call whose context
	// ran out.
	cause error
}

// Unwrap returns the error this one wraps, if any.
func (e *Error) Unwrap() error { return e.cause }

// Error returns the error as go-micro's error JSON, as go-micro's own errors do.
func (e *Error) Error() string {
	text, _ := json.Marshal(e)
	return string(text)
}

// Kind is what sort of failure an error is, as the engine names it.
type Kind string

// The engine's kinds.
const (
	KindBadRequest   Kind = "bad_request"  // 400 and other 4xx codes without a kind of their own
	KindUnauthorized Kind = "unauthorized" // 401
	KindForbidden    Kind = "forbidden"    // 403
	KindNotFound     Kind = "not_found"    // 404
	KindNoService    Kind = "no_service"   // 404 from the client: no node of the service is known
	KindTimeout      Kind = "timeout"      // 408
	KindConflict     Kind = "conflict"     // 409
	KindLagged       Kind = "lagged"       // 409 from a registry watcher that missed events
	KindTooMany      Kind = "too_many"     // 429
	KindInternal     Kind = "internal"     // 500 and codes without a kind of their own
	KindUnavailable  Kind = "unavailable"  // 502, 503, 504
)

// KindOf returns the kind of the *Error in err's chain: the engine's, or for an error made
// in Go the kind of its code; KindInternal for any other non-nil error, and "" for nil or
// the library's own errors (negative codes).
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var merr *Error
	if !errors.As(err, &merr) {
		return KindInternal
	}
	if merr.Kind != "" {
		return merr.Kind
	}
	return kindOfCode(merr.Code)
}

// kindOfCode is the kind of a code read from the wire, as the engine reads it.
func kindOfCode(code int32) Kind {
	switch {
	case code <= 0:
		return ""
	case code == 401:
		return KindUnauthorized
	case code == 403:
		return KindForbidden
	case code == 404:
		return KindNotFound
	case code == 408:
		return KindTimeout
	case code == 409:
		return KindConflict
	case code == 429:
		return KindTooMany
	case code >= 502 && code <= 504:
		return KindUnavailable
	case code >= 400 && code < 500:
		return KindBadRequest
	default:
		return KindInternal
	}
}

// NewError returns an error with any code; Status and Kind are filled in from the code.
func NewError(id string, code int32, detail string) *Error {
	return &Error{Id: id, Code: code, Detail: detail, Status: http.StatusText(int(code)), Kind: kindOfCode(code)}
}

// BadRequest returns a 400 error: the caller sent something wrong.
func BadRequest(id, format string, args ...any) *Error {
	return NewError(id, http.StatusBadRequest, fmt.Sprintf(format, args...))
}

// Unauthorized returns a 401 error: the caller is not authenticated.
func Unauthorized(id, format string, args ...any) *Error {
	return NewError(id, http.StatusUnauthorized, fmt.Sprintf(format, args...))
}

// Forbidden returns a 403 error: the caller is not allowed.
func Forbidden(id, format string, args ...any) *Error {
	return NewError(id, http.StatusForbidden, fmt.Sprintf(format, args...))
}

// NotFound returns a 404 error: the thing asked for does not exist.
func NotFound(id, format string, args ...any) *Error {
	return NewError(id, http.StatusNotFound, fmt.Sprintf(format, args...))
}

// Timeout returns a 408 error: the operation ran out of time.
func Timeout(id, format string, args ...any) *Error {
	return NewError(id, http.StatusRequestTimeout, fmt.Sprintf(format, args...))
}

// Conflict returns a 409 error: the request conflicts with the current state.
func Conflict(id, format string, args ...any) *Error {
	return NewError(id, http.StatusConflict, fmt.Sprintf(format, args...))
}

// InternalServerError returns a 500 error: something failed on the serving side.
func InternalServerError(id, format string, args ...any) *Error {
	return NewError(id, http.StatusInternalServerError, fmt.Sprintf(format, args...))
}

// Code returns the code of the *Error in err's chain, 500 for any other non-nil error and 0
// for nil, so callers can branch on codes without errors.As.
func Code(err error) int32 {
	if err == nil {
		return 0
	}
	var merr *Error
	if errors.As(err, &merr) {
		return merr.Code
	}
	return http.StatusInternalServerError
}

// IsNotFound reports whether err carries code 404 (e.g. an unknown service).
func IsNotFound(err error) bool { return Code(err) == http.StatusNotFound }

// IsNoService reports whether err is the client's 404 for a service with no known node.
func IsNoService(err error) bool { return KindOf(err) == KindNoService }

// IsTimeout reports whether err carries code 408 (the call's deadline passed).
func IsTimeout(err error) bool { return Code(err) == http.StatusRequestTimeout }

// Errors the library raises itself for misuse carry negative codes; compare with errors.Is,
// which matches any *Error of the same negative code.
var (
	// ErrInvalidJSON: a JSON argument (options, metadata) did not parse.
	ErrInvalidJSON = &Error{Code: -3, Status: "MICRO_ERR_INVALID_JSON"}
	// ErrShutdown: the engine was shut down with [Shutdown]; nothing more can run.
	ErrShutdown = &Error{Code: -4, Status: "MICRO_ERR_SHUTDOWN"}
	// ErrAlreadyStopped: the service (or the engine) was already stopped.
	ErrAlreadyStopped = &Error{Code: -5, Status: "MICRO_ERR_ALREADY_STOPPED"}
	// ErrState: the call does not fit the object's state, e.g. adding a handler to a
	// service that already started.
	ErrState = &Error{Code: -7, Status: "MICRO_ERR_STATE"}
	// ErrInvalidArgument: an argument had a value out of range.
	ErrInvalidArgument = &Error{Code: -8, Status: "MICRO_ERR_INVALID_ARGUMENT"}
)

// stateError is an [ErrState] error raised by this package, e.g. for a closed service.
func stateError(detail string) *Error {
	return &Error{Id: "micro.go", Code: ErrState.Code, Status: ErrState.Status, Detail: detail}
}

// invalidArgument is an [ErrInvalidArgument] error raised by this package.
func invalidArgument(detail string) *Error {
	return &Error{Id: "micro.go", Code: ErrInvalidArgument.Code, Status: ErrInvalidArgument.Status, Detail: detail}
}

// Is matches the library's own errors (negative codes) by code, for errors.Is with the Err*
// values above.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code < 0 && t.Code == e.Code
}
