// Package brokerenv picks the broker the way go-micro's own command line does, from
// MICRO_BROKER and MICRO_BROKER_ADDRESS, for the interop programs, which parse flags of their
// own and so do not run go-micro's command line.
package brokerenv

import (
	"os"

	"go-micro.dev/v5/broker"
	natsbroker "go-micro.dev/v5/broker/nats"
	"go-micro.dev/v5/broker/rabbitmq"

	"libmicro/tests/interop/registryenv"
)

// FromEnv is go-micro's RabbitMQ or NATS broker at MICRO_BROKER_ADDRESS (go-micro's default
// address when unset) when MICRO_BROKER names one, else go-micro's default (HTTP) broker, which
// finds subscribers through the registry registryenv names.
func FromEnv() broker.Broker {
	var addrs []string
	if a := os.Getenv("MICRO_BROKER_ADDRESS"); a != "" {
		addrs = append(addrs, a)
	}
	switch os.Getenv("MICRO_BROKER") {
	case "rabbitmq":
		return rabbitmq.NewBroker(broker.Addrs(addrs...))
	case "nats":
		return natsbroker.NewNatsBroker(broker.Addrs(addrs...))
	}
	b := broker.DefaultBroker
	if r := registryenv.FromEnv(); r != nil {
		b.Init(broker.Registry(r))
	}
	return b
}
