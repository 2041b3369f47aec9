// Package netns keeps the interop and benchmark programs off real networks. go-micro's mDNS registry
// multicasts on every interface that can carry it, so the programs refuse to start while any
// interface other than loopback is up and multicast-capable: they are meant to run inside a
// network namespace that holds only loopback (see tests/interop/README.md).
package netns

import (
	"fmt"
	"net"
	"os"
)

// AllowVar, set to 1, lets a program start on a host with real interfaces anyway.
const AllowVar = "MICRO_INTEROP_ALLOW_NETWORK"

// Check returns an error naming the first real multicast interface that is up, if any.
func Check() error {
	if os.Getenv(AllowVar) == "1" {
		return nil
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("listing network interfaces: %w", err)
	}
	for _, iface := range ifaces {
		up := iface.Flags&net.FlagUp != 0
		multicast := iface.Flags&net.FlagMulticast != 0
		loopback := iface.Flags&net.FlagLoopback != 0
		if up && multicast && !loopback {
			return fmt.Errorf("interface %s is up and multicast-capable; mDNS would leave this "+
				"machine. Run inside a network namespace holding only loopback (unshare -n, see "+
				"tests/interop/README.md), or set %s=1 if you mean it", iface.Name, AllowVar)
		}
	}
	return nil
}
