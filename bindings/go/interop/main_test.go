// Package interop_test proves bindings/go talks to other peers over go-micro's protocols: a Go
// service on libmicro called by libmicro's Rust CLI and by real go-micro v5.30.0 programs, a
// Go client on libmicro calling a Rust service and a go-micro service, and messages both ways
// between go-micro and Go on libmicro. Every process finds the others through mDNS, inside the
// network namespace TestMain makes.
package interop_test

import (
	"testing"

	micro "github.com/libmicro/libmicro/bindings/go"
	"github.com/libmicro/libmicro/bindings/go/internal/testkit"
)

// TestMain runs the tests in a network namespace of their own, with go-micro's default
// registry and broker (mDNS, HTTP); the store is in memory.
func TestMain(m *testing.M) {
	testkit.MainInNetns(m, micro.Config{Store: "memory"})
}
