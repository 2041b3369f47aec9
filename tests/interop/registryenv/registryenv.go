// Package registryenv picks the registry the way go-micro's own command line does, from
// MICRO_REGISTRY and MICRO_REGISTRY_ADDRESS, for the interop programs, which parse flags of
// their own and so do not run go-micro's command line.
package registryenv

import (
	"os"
	"strings"

	"go-micro.dev/v5/registry"
	"go-micro.dev/v5/registry/etcd"
)

// FromEnv is etcd at MICRO_REGISTRY_ADDRESS when MICRO_REGISTRY=etcd, else nil: keep go-micro's
// default (mDNS).
func FromEnv() registry.Registry {
	if os.Getenv("MICRO_REGISTRY") != "etcd" {
		return nil
	}
	var addrs []string
	if a := os.Getenv("MICRO_REGISTRY_ADDRESS"); a != "" {
		addrs = strings.Split(a, ",")
	}
	return etcd.NewEtcdRegistry(registry.Addrs(addrs...))
}
