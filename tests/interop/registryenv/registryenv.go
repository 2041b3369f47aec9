// Package registryenv picks the registry the way go-micro's own command line does, from
// MICRO_REGISTRY and MICRO_REGISTRY_ADDRESS, for the interop programs, which parse flags of their
// own and so do not run go-micro's command line.
package registryenv

import (
	"os"
	"strings"

	"go-micro.dev/v5/registry"
	"go-micro.dev/v5/registry/etcd"
	natsregistry "go-micro.dev/v5/registry/nats"
)

// FromEnv is etcd or NATS at MICRO_REGISTRY_ADDRESS when MICRO_REGISTRY names one, else nil:
// keep go-micro's default (mDNS).
func FromEnv() registry.Registry {
	var addrs []string
	if a := os.Getenv("MICRO_REGISTRY_ADDRESS"); a != "" {
		addrs = strings.Split(a, ",")
	}
	switch os.Getenv("MICRO_REGISTRY") {
	case "etcd":
		return etcd.NewEtcdRegistry(registry.Addrs(addrs...))
	case "nats":
		return natsregistry.NewNatsRegistry(registry.Addrs(addrs...))
	}
	return nil
}
