package micro

/*
#include <stdlib.h>
#include "micro.h"
*/
import "C"

import (
	"encoding/json"
	"time"
	"unsafe"
)

// StoreOption picks a store call's database and table, or a write's time to live.
type StoreOption func(*storeOptions)

type storeOptions struct {
	Database string `json:"database,omitempty"`
	Table    string `json:"table,omitempty"`
	TTLMs    int64  `json:"ttl_ms,omitempty"`
}

// InDatabase uses database instead of the store's default.
func InDatabase(database string) StoreOption {
	return func(o *storeOptions) { o.Database = database }
}

// InTable uses table instead of the store's default.
func InTable(table string) StoreOption {
	return func(o *storeOptions) { o.Table = table }
}

// WithTTL makes a written record expire after ttl.
func WithTTL(ttl time.Duration) StoreOption {
	return func(o *storeOptions) { o.TTLMs = max(1, ttl.Milliseconds()) }
}

// ListOptions narrows [StoreList]: keys with this prefix and suffix, at most Limit of them
// (0: all) after skipping Offset, in Database and Table (empty: the defaults).
type ListOptions struct {
	Database string `json:"database,omitempty"`
	Table    string `json:"table,omitempty"`
	Prefix   string `json:"prefix,omitempty"`
	Suffix   string `json:"suffix,omitempty"`
	Limit    int    `json:"limit,omitempty"`
	Offset   int    `json:"offset,omitempty"`
}

// scope is opts as C JSON, to free with C.free.
func scope(opts []StoreOption) (*C.char, error) {
	var options storeOptions
	for _, opt := range opts {
		opt(&options)
	}
	return cJSON(options)
}

// StoreRead returns the value of the record at key in the process's store (MICRO_STORE); a
// 404 [*Error] when there is none.
func StoreRead(key string, opts ...StoreOption) ([]byte, error) {
	coptions, err := scope(opts)
	if err != nil {
		return nil, err
	}
	ckey := C.CString(key)
	defer C.free(unsafe.Pointer(coptions))
	defer C.free(unsafe.Pointer(ckey))
	var (
		buf  C.micro_buf
		cerr *C.micro_error
	)
	if err := check(C.micro_store_read(ckey, coptions, &buf, &cerr), cerr); err != nil {
		return nil, err
	}
	defer C.micro_buf_free(&buf)
	return C.GoBytes(unsafe.Pointer(buf.ptr), C.int(buf.len)), nil
}

// StoreWrite writes value at key in the process's store.
func StoreWrite(key string, value []byte, opts ...StoreOption) error {
	coptions, err := scope(opts)
	if err != nil {
		return err
	}
	ckey := C.CString(key)
	defer C.free(unsafe.Pointer(coptions))
	defer C.free(unsafe.Pointer(ckey))
	var cerr *C.micro_error
	return check(C.micro_store_write(ckey, (*C.uint8_t)(unsafe.SliceData(value)), C.size_t(len(value)),
		coptions, &cerr), cerr)
}

// StoreDelete deletes the record at key in the process's store.
func StoreDelete(key string, opts ...StoreOption) error {
	coptions, err := scope(opts)
	if err != nil {
		return err
	}
	ckey := C.CString(key)
	defer C.free(unsafe.Pointer(coptions))
	defer C.free(unsafe.Pointer(ckey))
	var cerr *C.micro_error
	return check(C.micro_store_delete(ckey, coptions, &cerr), cerr)
}

// StoreList returns the keys that match options, in key order.
func StoreList(options ListOptions) ([]string, error) {
	coptions, err := cJSON(options)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(coptions))
	var (
		out  *C.char
		cerr *C.micro_error
	)
	if err := check(C.micro_store_list(coptions, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	defer C.micro_string_free(out)
	var keys []string
	if err := json.Unmarshal([]byte(C.GoString(out)), &keys); err != nil {
		return nil, err
	}
	return keys, nil
}
