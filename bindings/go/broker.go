package micro

/*
#include <stdlib.h>
#include "micro.h"
*/
import "C"

import (
	"runtime/cgo"
	"sync"
	"unsafe"
)

// Subscription is a broker subscription made with [BrokerSubscribe]; end it with
// [Subscription.Unsubscribe].
type Subscription struct {
	once   sync.Once
	ptr    *C.micro_subscription
	handle cgo.Handle
}

// BrokerPublish publishes a raw message on topic through the process's broker
// (MICRO_BROKER): body and header exactly as given, nothing added. [Client.Publish] adds
// go-micro's headers.
func BrokerPublish(topic string, body []byte, header Metadata) error {
	cheader, err := cJSON(header)
	if err != nil {
		return err
	}
	ctopic := C.CString(topic)
	defer C.free(unsafe.Pointer(cheader))
	defer C.free(unsafe.Pointer(ctopic))
	var cerr *C.micro_error
	return check(C.micro_broker_publish(ctopic, (*C.uint8_t)(unsafe.SliceData(body)), C.size_t(len(body)),
		cheader, &cerr), cerr)
}

// BrokerSubscribe runs h for each message on topic until the subscription ends. With a
// non-empty queue, the subscribers of that queue share the messages.
func BrokerSubscribe(topic, queue string, h MessageHandler) (*Subscription, error) {
	ctopic, cqueue := C.CString(topic), optionalCString(queue)
	defer C.free(unsafe.Pointer(ctopic))
	defer C.free(unsafe.Pointer(cqueue))
	sub := &Subscription{handle: cgo.NewHandle(h)}
	var cerr *C.micro_error
	if err := check(brokerSubscribe(ctopic, cqueue, sub.handle, &sub.ptr, &cerr), cerr); err != nil {
		sub.handle.Delete()
		return nil, err
	}
	return sub, nil
}

// Unsubscribe ends the subscription; a handler call already under way may still finish.
// Calling it again does nothing.
func (s *Subscription) Unsubscribe() {
	s.once.Do(func() {
		C.micro_subscription_free(s.ptr)
		s.handle.Delete()
	})
}
