package micro

/*
#include <stdlib.h>
#include "micro.h"
*/
import "C"

import (
	"encoding/json"
	"unsafe"
)

// RegistryService is a service as the registry holds it, in go-micro's shape.
type RegistryService struct {
	Name      string            `json:"name"`
	Version   string            `json:"version"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	Endpoints []Endpoint        `json:"endpoints,omitempty"`
	Nodes     []Node            `json:"nodes,omitempty"`
}

// Endpoint is one endpoint of a registered service.
type Endpoint struct {
	// Name is "Handler.Method".
	Name string `json:"name"`
	// Request is the request type tree, if published.
	Request *Value `json:"request,omitempty"`
	// Response is the response type tree, if published.
	Response *Value `json:"response,omitempty"`
	// Metadata holds description, example, stream, scopes, ...
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Value is a type tree: a field's name, its type, and the fields of a struct type.
type Value struct {
	Name   string  `json:"name"`
	Type   string  `json:"type"`
	Values []Value `json:"values,omitempty"`
}

// Node is one running instance of a service.
type Node struct {
	Id       string            `json:"id"`
	Address  string            `json:"address"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// ListServices returns every service the process's registry knows.
func ListServices() ([]RegistryService, error) {
	return registryJSON(func(out **C.char, cerr **C.micro_error) C.int32_t {
		return C.micro_registry_list(out, cerr)
	})
}

// GetService returns every version of the service name, with its nodes and endpoints; a 404
// [*Error] when the registry does not know it.
func GetService(name string) ([]RegistryService, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return registryJSON(func(out **C.char, cerr **C.micro_error) C.int32_t {
		return C.micro_registry_get(cname, out, cerr)
	})
}

// registryJSON runs a registry call that answers JSON and decodes it.
func registryJSON(f func(**C.char, **C.micro_error) C.int32_t) ([]RegistryService, error) {
	var (
		out  *C.char
		cerr *C.micro_error
	)
	if err := check(f(&out, &cerr), cerr); err != nil {
		return nil, err
	}
	defer C.micro_string_free(out)
	var services []RegistryService
	if err := json.Unmarshal([]byte(C.GoString(out)), &services); err != nil {
		return nil, err
	}
	return services, nil
}
