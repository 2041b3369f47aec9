// Package brokerenv picks the broker the way go-micro's own command line does, from
// MICRO_BROKER and MICRO_BROKER_ADDRESS, for the interop programs, which parse flags of their
// own and so do not run go-micro's command line.
package brokerenv

import (
	"os"

	"go-micro.dev/v5/broker"
	"go-micro.dev/v5/broker/rabbitmq"
)

// FromEnv is go-micro's RabbitMQ broker at MICRO_BROKER_ADDRESS (go-micro's default address
// when unset) when MICRO_BROKER=rabbitmq, else nil: keep go-micro's default (HTTP).
func FromEnv() broker.Broker {
	if os.Getenv("MICRO_BROKER") != "rabbitmq" {
		return nil
	}
	var addrs []string
	if a := os.Getenv("MICRO_BROKER_ADDRESS"); a != "" {
		addrs = append(addrs, a)
	}
	return rabbitmq.NewBroker(broker.Addrs(addrs...))
}
