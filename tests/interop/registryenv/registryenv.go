// Package registryenv picks the registry and broker the way go-micro's own command line does,
// from MICRO_REGISTRY, MICRO_REGISTRY_ADDRESS, MICRO_BROKER and MICRO_BROKER_ADDRESS, for the
// interop programs, which parse flags of their own and so do not run go-micro's command line.
package registryenv

import (
	"os"
	"strings"

	"go-micro.dev/v5/broker"
	natsbroker "go-micro.dev/v5/broker/nats"
	"go-micro.dev/v5/registry"
	"go-micro.dev/v5/registry/etcd"
	natsregistry "go-micro.dev/v5/registry/nats"
)

// FromEnv is etcd or NATS at MICRO_REGISTRY_ADDRESS when MICRO_REGISTRY names one, else nil:
// keep go-micro's default (mDNS).
func FromEnv() registry.Registry {
	addrs := addresses("MICRO_REGISTRY_ADDRESS")
	switch os.Getenv("MICRO_REGISTRY") {
	case "etcd":
		return etcd.NewEtcdRegistry(registry.Addrs(addrs...))
	case "nats":
		return natsregistry.NewNatsRegistry(registry.Addrs(addrs...))
	}
	return nil
}

// Broker is NATS at MICRO_BROKER_ADDRESS when MICRO_BROKER=nats; else go-micro's default (HTTP)
// broker, which finds subscribers through the registry FromEnv names.
func Broker() broker.Broker {
	if os.Getenv("MICRO_BROKER") == "nats" {
		return natsbroker.NewNatsBroker(broker.Addrs(addresses("MICRO_BROKER_ADDRESS")...))
	}
	b := broker.DefaultBroker
	if r := FromEnv(); r != nil {
		b.Init(broker.Registry(r))
	}
	return b
}

func addresses(variable string) []string {
	if a := os.Getenv(variable); a != "" {
		return strings.Split(a, ",")
	}
	return nil
}
