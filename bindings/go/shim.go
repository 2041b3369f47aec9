package micro

// The C side of the callbacks: each shim hands one of the Go functions exported in
// callback.go to the C ABI as a function pointer, with a cgo.Handle as its user_data. They
// live here because a file with //export may only declare C functions, not define them.

/*
#include <stdint.h>
#include <stdlib.h>
#include "micro.h"

extern void microGoHandle(void *, uint8_t *, size_t, micro_reply *);
extern int32_t microGoStream(void *, char *, micro_stream *);
extern int32_t microGoMessage(void *, char *, uint8_t *, size_t, char *);
extern void microGoCallDone(void *, int32_t, uint8_t *, size_t, micro_error *);

static int32_t go_service_handle(micro_service *svc, const char *endpoint, uintptr_t h,
		micro_error **err) {
	return micro_service_handle_inline(svc, endpoint, (micro_handler_fn)microGoHandle, (void *)h,
		err);
}

static int32_t go_service_stream(micro_service *svc, const char *endpoint, uintptr_t h,
		micro_error **err) {
	return micro_service_stream(svc, endpoint, (micro_stream_fn)microGoStream, (void *)h, err);
}

static int32_t go_service_subscribe(micro_service *svc, const char *topic, const char *queue,
		uintptr_t h, micro_error **err) {
	return micro_service_subscribe(svc, topic, queue, (micro_message_fn)microGoMessage,
		(void *)h, err);
}

static int32_t go_broker_subscribe(const char *topic, const char *queue, uintptr_t h,
		micro_subscription **out, micro_error **err) {
	return micro_broker_subscribe(topic, queue, (micro_message_fn)microGoMessage, (void *)h,
		out, err);
}

static int32_t go_client_call_async(micro_client *client, const char *service,
		const char *endpoint, const uint8_t *req, size_t req_len, const char *options,
		uintptr_t h, micro_call **call, micro_error **err) {
	return micro_client_call_async(client, service, endpoint, req, req_len, options,
		(micro_call_done_fn)microGoCallDone, (void *)h, call, err);
}

// An agent's tools run by Go (h not 0) or by the client (h 0).
static int32_t go_agent_new(const micro_model *model, const char *tools, uintptr_t h,
		const char *options, micro_agent **out, micro_error **err) {
	return micro_agent_new(model, tools, h ? (micro_handler_fn)microGoHandle : NULL, (void *)h,
		options, out, err);
}
*/
import "C"

import "runtime/cgo"

func serviceHandle(svc *C.micro_service, endpoint *C.char, h cgo.Handle, cerr **C.micro_error) C.int32_t {
	return C.go_service_handle(svc, endpoint, C.uintptr_t(h), cerr)
}

func serviceStream(svc *C.micro_service, endpoint *C.char, h cgo.Handle, cerr **C.micro_error) C.int32_t {
	return C.go_service_stream(svc, endpoint, C.uintptr_t(h), cerr)
}

func serviceSubscribe(svc *C.micro_service, topic, queue *C.char, h cgo.Handle, cerr **C.micro_error) C.int32_t {
	return C.go_service_subscribe(svc, topic, queue, C.uintptr_t(h), cerr)
}

func brokerSubscribe(topic, queue *C.char, h cgo.Handle, out **C.micro_subscription, cerr **C.micro_error) C.int32_t {
	return C.go_broker_subscribe(topic, queue, C.uintptr_t(h), out, cerr)
}

func clientCallAsync(client *C.micro_client, service, endpoint *C.char, req *C.uint8_t, reqLen C.size_t,
	options *C.char, h cgo.Handle, call **C.micro_call, cerr **C.micro_error) C.int32_t {
	return C.go_client_call_async(client, service, endpoint, req, reqLen, options, C.uintptr_t(h), call, cerr)
}

func agentNew(model *C.micro_model, tools *C.char, h cgo.Handle, options *C.char, out **C.micro_agent,
	cerr **C.micro_error) C.int32_t {
	return C.go_agent_new(model, tools, C.uintptr_t(h), options, out, cerr)
}
