package micro

// The Go functions the C ABI calls back: endpoint handlers, stream handlers, message handlers
// and call completions. Each gets its Go value from the cgo.Handle passed as user_data.

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
	"runtime/cgo"
	"strconv"
	"time"
	"unsafe"
)

// handler is what a unary endpoint's handle holds.
type handler struct {
	service string
	fn      Handler
}

// streamHandler is a stream endpoint's handler and the name of the service serving it.
type streamHandler struct {
	service string
	fn      StreamHandler
}

// callResult is the outcome of an asynchronous call.
type callResult struct {
	body []byte
	err  error
}

// microGoHandle runs for each request on the runtime worker that received it (the handler is
// registered inline), and for each tool call of an agent whose tools Go runs: it copies the
// request and returns at once, leaving the rest to a goroutine, which reads the call metadata
// from the reply and answers it.
//
//export microGoHandle
func microGoHandle(userData unsafe.Pointer, req *C.uint8_t, reqLen C.size_t, reply *C.micro_reply) {
	h := cgo.Handle(uintptr(userData)).Value().(handler)
	body := C.GoBytes(unsafe.Pointer(req), C.int(reqLen))
	go func() {
		ctx, cancel := handlerContext(parseMetadata(C.micro_reply_metadata(reply)))
		defer cancel()
		rsp, err := runHandler(h, ctx, body)
		if err != nil {
			raiseError(err, h.service, func(code C.int32_t, id, detail *C.char) {
				C.micro_reply_error(reply, code, id, detail, nil)
			})
			return
		}
		C.micro_reply_send(reply, (*C.uint8_t)(unsafe.SliceData(rsp)), C.size_t(len(rsp)), nil)
	}()
}

// runHandler runs the handler, turning a panic into a 500.
func runHandler(h handler, ctx context.Context, body []byte) (rsp []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = InternalServerError(h.service, "the handler panicked: %v", p)
		}
	}()
	return h.fn(ctx, body)
}

// raiseError hands err's code, id and detail to raise as C values, freed when it returns,
// and returns the code: an *Error keeps its own; any other error is a 500 raised by service,
// with its text.
func raiseError(err error, service string, raise func(code C.int32_t, id, detail *C.char)) C.int32_t {
	merr := asError(err, service)
	cid, cdetail := C.CString(merr.Id), C.CString(merr.Detail)
	defer C.free(unsafe.Pointer(cid))
	defer C.free(unsafe.Pointer(cdetail))
	raise(C.int32_t(merr.Code), cid, cdetail)
	return C.int32_t(merr.Code)
}

// microGoStream runs a stream handler on the library thread that lends it the stream; the
// stream ends with the handler's error, if any: an *Error keeps its code, id and detail.
//
//export microGoStream
func microGoStream(userData unsafe.Pointer, metadata *C.char, stream *C.micro_stream) (status C.int32_t) {
	h := cgo.Handle(uintptr(userData)).Value().(streamHandler)
	ctx, cancel := handlerContext(parseMetadata(metadata))
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			status = 500
		}
	}()
	err := h.fn(ctx, &Stream{ptr: stream, lent: true})
	if err == nil {
		return 0
	}
	return raiseError(err, h.service, func(code C.int32_t, id, detail *C.char) {
		C.micro_stream_error(stream, code, id, detail, nil)
	})
}

// microGoMessage runs a message handler on a library thread and returns 0 or the error code
// reported to the broker.
//
//export microGoMessage
func microGoMessage(userData unsafe.Pointer, topic *C.char, body *C.uint8_t, length C.size_t, header *C.char) (status C.int32_t) {
	fn := cgo.Handle(uintptr(userData)).Value().(MessageHandler)
	defer func() {
		if p := recover(); p != nil {
			status = 500
		}
	}()
	payload := C.GoBytes(unsafe.Pointer(body), C.int(length))
	if err := fn(context.Background(), C.GoString(topic), payload, parseMetadata(header)); err != nil {
		return C.int32_t(asError(err, "").Code)
	}
	return 0
}

// microGoCallDone delivers an asynchronous call's outcome to the waiting Call, then frees the
// call's handle.
//
//export microGoCallDone
func microGoCallDone(userData unsafe.Pointer, status C.int32_t, rsp *C.uint8_t, rspLen C.size_t, cerr *C.micro_error) {
	h := cgo.Handle(uintptr(userData))
	done := h.Value().(chan callResult)
	h.Delete()
	if status != C.MICRO_OK {
		done <- callResult{err: fromC(status, cerr)}
		return
	}
	done <- callResult{body: C.GoBytes(unsafe.Pointer(rsp), C.int(rspLen))}
}

// parseMetadata reads a JSON object of strings from C; anything else reads as empty.
func parseMetadata(text *C.char) Metadata {
	md := Metadata{}
	if text != nil {
		_ = json.Unmarshal([]byte(C.GoString(text)), &md)
	}
	return md
}

// handlerContext is a handler's context: the caller's metadata, and the caller's deadline
// from its Timeout header (nanoseconds, as go-micro sends it).
func handlerContext(md Metadata) (context.Context, context.CancelFunc) {
	ctx := NewContext(context.Background(), md)
	if ns, err := strconv.ParseInt(md["Timeout"], 10, 64); err == nil && ns > 0 {
		return context.WithTimeout(ctx, time.Duration(ns))
	}
	return context.WithCancel(ctx)
}

// asError is err as an *Error: the one in its chain, or a 500 raised by id.
func asError(err error, id string) *Error {
	var merr *Error
	if errors.As(err, &merr) {
		return merr
	}
	return NewError(id, 500, fmt.Sprint(err))
}
