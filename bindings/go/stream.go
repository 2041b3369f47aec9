package micro

/*
#include "micro.h"
*/
import "C"

import (
	"io"
	"unsafe"
)

// Stream is one stream: a client's, from [Client.Stream], or the one a [StreamHandler] is
// given. Send and Recv block; on a client's stream one goroutine may send while another
// receives.
type Stream struct {
	ptr *C.micro_stream
	// lent marks a handler's stream, which the library owns and frees.
	lent bool
}

// Send sends one payload.
func (s *Stream) Send(payload []byte) error {
	var cerr *C.micro_error
	return check(C.micro_stream_send(s.ptr, (*C.uint8_t)(unsafe.SliceData(payload)),
		C.size_t(len(payload)), &cerr), cerr)
}

// Recv waits for the next payload; io.EOF once the other side has ended the stream.
func (s *Stream) Recv() ([]byte, error) {
	var (
		buf  C.micro_buf
		cerr *C.micro_error
	)
	status := C.micro_stream_recv(s.ptr, &buf, &cerr)
	if status == C.MICRO_EOF {
		return nil, io.EOF
	}
	if err := check(status, cerr); err != nil {
		return nil, err
	}
	defer C.micro_buf_free(&buf)
	return C.GoBytes(unsafe.Pointer(buf.ptr), C.int(buf.len)), nil
}

// CloseSend ends the client's sending side: the service's handler sees the end of the
// stream, and replies can still be received. A handler ends its stream by returning.
func (s *Stream) CloseSend() error {
	var cerr *C.micro_error
	return check(C.micro_stream_close_send(s.ptr, &cerr), cerr)
}

// Close closes and frees a client's stream; call it once, when no Send or Recv is under way.
// On a handler's stream it does nothing.
func (s *Stream) Close() {
	if s.lent || s.ptr == nil {
		return
	}
	C.micro_stream_free(s.ptr)
	s.ptr = nil
}
