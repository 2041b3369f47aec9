// Command load is the go-micro side of the RPC benchmark's load generator: c concurrent
// go-micro client callers call <service>'s Helloworld.Call for d, or until n calls in all,
// whichever comes first, then print one JSON line:
//
//	{"requests":N,"errors":E,"seconds":S,"rps":R,"p50_us":P50,"p99_us":P99}
//
// requests counts successful calls and errors failed ones; seconds is the measured wall time;
// rps is requests/seconds; p50_us and p99_us are latencies of successful calls in microseconds.
// Each caller first makes one call that is not counted (connection and registry warm-up).
// libmicro's Rust load generator prints the same line, so a script can compare the two.
//
//	load [-service helloworld] [-c 64] [-d 5s] [-n 0] [-address host:port] [-timeout 5s]
//
// Run it only inside a network namespace holding just loopback (see ../README.md).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go-micro.dev/v5/client"

	"libmicro/tests/interop/netns"
)

// maxDuration and maxCalls bound a run whatever the flags say.
const (
	maxDuration = 10 * time.Minute
	maxCalls    = 100_000_000
)

// Request is the body of Helloworld.Call.
type Request struct {
	Name string `json:"name"`
}

// Response is what Helloworld.Call answers.
type Response struct {
	Msg string `json:"msg"`
}

// Result is the line load prints.
type Result struct {
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50us    int64   `json:"p50_us"`
	P99us    int64   `json:"p99_us"`
}

type config struct {
	service  string
	endpoint string
	callers  int
	duration time.Duration
	calls    int64
	address  string
	timeout  time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.service, "service", "helloworld", "service to call")
	flag.StringVar(&cfg.endpoint, "endpoint", "Helloworld.Call", "endpoint to call")
	flag.IntVar(&cfg.callers, "c", 64, "concurrent callers")
	flag.DurationVar(&cfg.duration, "d", 5*time.Second, "how long to call (at most 10m)")
	flag.Int64Var(&cfg.calls, "n", 0, "stop after this many calls in all (0: only the duration bounds)")
	flag.StringVar(&cfg.address, "address", "", "call this host:port directly instead of asking the registry")
	flag.DurationVar(&cfg.timeout, "timeout", 5*time.Second, "timeout of each call")
	flag.Parse()

	if err := netns.Check(); err != nil {
		fail(err)
	}
	if cfg.callers < 1 || cfg.duration <= 0 || cfg.duration > maxDuration || cfg.calls < 0 || cfg.calls > maxCalls {
		fail(fmt.Errorf("want -c >= 1, 0 < -d <= %v and 0 <= -n <= %d", maxDuration, maxCalls))
	}
	if cfg.calls == 0 {
		cfg.calls = maxCalls
	}
	result, err := run(cfg)
	if err != nil {
		fail(err)
	}
	line, _ := json.Marshal(result)
	fmt.Println(string(line))
}

func run(cfg config) (Result, error) {
	// One client, as a go-micro service has; its pool must hold a connection per caller.
	c := client.NewClient(client.PoolSize(cfg.callers))
	var opts []client.CallOption
	if cfg.address != "" {
		opts = append(opts, client.WithAddress(cfg.address))
	}
	req := c.NewRequest(cfg.service, cfg.endpoint, &Request{Name: "bench"})
	call := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
		defer cancel()
		var rsp Response
		return c.Call(ctx, req, &rsp, opts...)
	}

	// Warm up: every caller's first call opens its connection and fills the registry cache.
	var warm sync.WaitGroup
	warmErrs := make(chan error, cfg.callers)
	for i := 0; i < cfg.callers; i++ {
		warm.Add(1)
		go func() {
			defer warm.Done()
			if err := call(); err != nil {
				warmErrs <- err
			}
		}()
	}
	warm.Wait()
	close(warmErrs)
	if err, failed := <-warmErrs; failed {
		return Result{}, fmt.Errorf("warm-up call failed: %w", err)
	}

	var (
		firstErr sync.Once
		started  int64
		failures int64
		wg       sync.WaitGroup
		lat      = make([][]int64, cfg.callers)
		begin    = time.Now()
		deadline = begin.Add(cfg.duration)
	)
	for i := 0; i < cfg.callers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for time.Now().Before(deadline) && atomic.AddInt64(&started, 1) <= cfg.calls {
				t := time.Now()
				if err := call(); err != nil {
					atomic.AddInt64(&failures, 1)
					firstErr.Do(func() {
						fmt.Fprintf(os.Stderr, "load: first error after %v: %v\n", time.Since(t), err)
					})
					continue
				}
				lat[i] = append(lat[i], time.Since(t).Microseconds())
			}
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(begin).Seconds()

	var all []int64
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	return Result{
		Requests: int64(len(all)),
		Errors:   failures,
		Seconds:  round(elapsed, 3),
		RPS:      round(float64(len(all))/elapsed, 1),
		P50us:    percentile(all, 0.50),
		P99us:    percentile(all, 0.99),
	}, nil
}

// percentile is the nearest-rank percentile of sorted values (0 when there are none).
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

func round(v float64, places int) float64 {
	scale := math.Pow(10, float64(places))
	return math.Round(v*scale) / scale
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "load:", err)
	os.Exit(1)
}
