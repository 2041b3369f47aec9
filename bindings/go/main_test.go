package micro_test

import (
	"testing"

	micro "github.com/libmicro/libmicro/bindings/go"
	"github.com/libmicro/libmicro/bindings/go/internal/testkit"
)

// TestMain runs the in-process tests on the memory registry, broker and store, which every
// service and client of the process share (the interop package covers mDNS and HTTP).
func TestMain(m *testing.M) {
	testkit.Main(m, micro.Config{Registry: "memory", Broker: "memory", Store: "memory"})
}
