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
	// Name is the service name, e.g. helloworld.
	Name string `json:"name"`
	// Version is the version; versions of one name are listed apart.
	Version string `json:"version"`
	// Metadata is free-form service metadata.
	Metadata map[string]string `json:"metadata,omitempty"`
	// Endpoints are the endpoints the service serves.
	Endpoints []Endpoint `json:"endpoints,omitempty"`
	// Nodes are the running instances.
	Nodes []Node `json:"nodes,omitempty"`
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
	// Name is the field name.
	Name string `json:"name"`
	// Type is the field type.
	Type string `json:"type"`
	// Values are the fields of a struct type.
	Values []Value `json:"values,omitempty"`
}

// Node is one running instance of a service.
type Node struct {
	// Id is <service>-<uuid>.
	Id string `json:"id"`
	// Address is the host:port the node listens on.
	Address string `json:"address"`
	// Metadata holds transport, broker, server, registry, protocol, ...
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
