package micro_test

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	micro "github.com/libmicro/libmicro/bindings/go"
)

// inside marks the test process that runs inside the network namespace.
const inside = "MICRO_GO_TEST_IN_NETNS"

// TestMain re-runs the test binary under `unshare -n` in a fresh network namespace holding
// only loopback, with multicast on and a 224.0.0.0/4 route: every test uses the default mDNS
// registry, which must never reach a real interface. It needs root (or CAP_SYS_ADMIN),
// unshare and ip.
func TestMain(m *testing.M) {
	if os.Getenv(inside) != "" {
		// The default file store would write under the home directory; the tests keep theirs
		// in memory. The registry and broker stay go-micro's defaults (mDNS, HTTP).
		if err := micro.Init(micro.Config{Store: "memory"}); err != nil {
			fmt.Fprintln(os.Stderr, "micro.Init:", err)
			os.Exit(1)
		}
		code := m.Run()
		if err := micro.Shutdown(); err != nil {
			fmt.Fprintln(os.Stderr, "micro.Shutdown:", err)
			code = 1
		}
		os.Exit(code)
	}
	script := "ip link set lo up && ip link set lo multicast on && " +
		"ip route add 224.0.0.0/4 dev lo && exec \"$0\" \"$@\""
	args := append([]string{"-n", "sh", "-c", script}, os.Args...)
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), inside+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			os.Exit(exit.ExitCode())
		}
		fmt.Fprintf(os.Stderr, "could not start the tests in a network namespace (%v): "+
			"they need root (or CAP_SYS_ADMIN), unshare and ip\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}
