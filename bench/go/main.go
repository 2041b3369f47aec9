// go-call: the same unary call made by go-micro v5.30.0 and by bindings/go (libmicro), from
// Go, in one process each: a service whose handler echoes its request, and a client calling
// it over loopback (found through mDNS). First n calls one after another (latency: mean, p50,
// p99), then n calls from c goroutines (throughput); each with the process's CPU time per
// call (service and client together). Run it inside a network namespace, as
// bench/go/run.sh does: both sides' mDNS registries multicast.
//
//	go-call -impl gomicro|libmicro [-n 20000] [-c 8]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"

	"go-micro.dev/v5"
	"go-micro.dev/v5/client"

	lm "github.com/libmicro/libmicro/bindings/go"
)

// Bench is go-micro's handler: Bench.Echo answers its request.
type Bench struct{}

// Echo answers the request unchanged.
func (*Bench) Echo(ctx context.Context, req *json.RawMessage, rsp *json.RawMessage) error {
	*rsp = *req
	return nil
}

var request = json.RawMessage(`{"name":"Alice"}`)

// gomicro serves Bench.Echo with go-micro and returns a call through go-micro's client.
func gomicro() (func() error, func()) {
	svc := micro.NewService(micro.Name("bench.gomicro"), micro.Address("127.0.0.1:0"))
	must(svc.Server().Handle(svc.Server().NewHandler(&Bench{})))
	must(svc.Server().Start())
	cl := svc.Client()
	call := func() error {
		var rsp json.RawMessage
		return cl.Call(context.Background(), cl.NewRequest("bench.gomicro", "Bench.Echo", request), &rsp,
			client.WithRequestTimeout(10*time.Second))
	}
	return call, func() { _ = svc.Server().Stop() }
}

// libmicro serves Bench.Echo with bindings/go and returns a call through its client.
func libmicro() (func() error, func()) {
	svc, err := lm.NewService("bench.libmicro")
	must(err)
	must(svc.Handle("Bench.Echo", func(ctx context.Context, req []byte) ([]byte, error) { return req, nil }))
	must(svc.Start())
	cl, err := lm.NewClient()
	must(err)
	call := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := cl.Call(ctx, "bench.libmicro", "Bench.Echo", request)
		return err
	}
	return call, func() { cl.Close(); svc.Close() }
}

func main() {
	impl := flag.String("impl", "", "gomicro or libmicro")
	n := flag.Int("n", 20000, "calls per run")
	c := flag.Int("c", 8, "goroutines in the parallel run")
	flag.Parse()
	var call func() error
	var stop func()
	switch *impl {
	case "gomicro":
		call, stop = gomicro()
	case "libmicro":
		call, stop = libmicro()
	default:
		fmt.Fprintln(os.Stderr, "usage: go-call -impl gomicro|libmicro [-n 20000] [-c 8]")
		os.Exit(1)
	}
	defer stop()

	deadline := time.Now().Add(10 * time.Second)
	for call() != nil {
		if time.Now().After(deadline) {
			log.Fatal("the service never answered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := 0; i < 1000; i++ { // warm up connections and caches
		must(call())
	}

	latencies := make([]time.Duration, *n)
	cpu := cpuTime()
	start := time.Now()
	for i := range latencies {
		t := time.Now()
		must(call())
		latencies[i] = time.Since(t)
	}
	total := time.Since(start)
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	fmt.Printf("%s sequential: %d calls, mean %.1f us, p50 %.1f us, p99 %.1f us, CPU %.1f us/call\n",
		*impl, *n, us(total/time.Duration(*n)), us(latencies[*n/2]), us(latencies[*n*99/100]),
		us((cpuTime()-cpu)/time.Duration(*n)))

	per := *n / *c
	var wg sync.WaitGroup
	cpu = cpuTime()
	start = time.Now()
	for g := 0; g < *c; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				must(call())
			}
		}()
	}
	wg.Wait()
	fmt.Printf("%s parallel (%d goroutines): %d calls, %.0f calls/s, CPU %.1f us/call\n", *impl, *c,
		per**c, float64(per**c)/time.Since(start).Seconds(), us((cpuTime()-cpu)/time.Duration(per**c)))
}

// cpuTime is the CPU time (user and system) the process has used: service and client share
// the process, so per call it is what both sides cost.
func cpuTime() time.Duration {
	var usage syscall.Rusage
	must(syscall.Getrusage(syscall.RUSAGE_SELF, &usage))
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
