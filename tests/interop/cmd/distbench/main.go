// Command distbench is go-micro's side of libmicro's bench/distributed/run.sh: the same steps
// as libmicro's distributed-bench, with go-micro v5.30.0's etcd and NATS registries, its
// registry cache, its MySQL, Postgres and NATS key-value stores and its NATS broker, each
// printed as "name value unit". It runs the steps of each server given.
//
//	distbench [etcd=host:port] [postgres=URL] [mysql=DSN] [nats=URL]
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"go-micro.dev/v5/broker"
	natsbroker "go-micro.dev/v5/broker/nats"
	"go-micro.dev/v5/registry"
	"go-micro.dev/v5/registry/cache"
	"go-micro.dev/v5/registry/etcd"
	natsregistry "go-micro.dev/v5/registry/nats"
	// go-micro's MySQL store opens "mysql" through database/sql; this driver is that name.
	_ "github.com/go-sql-driver/mysql"
	"go-micro.dev/v5/store"
	"go-micro.dev/v5/store/mysql"
	natsjskv "go-micro.dev/v5/store/nats-js-kv"
	"go-micro.dev/v5/store/postgres"
)

const (
	lookups = 200000
	// registrations timed, each followed by a first lookup.
	registrations = 200
	// natsRegistrations timed on NATS, where each lookup waits out the registry's 100 ms.
	natsRegistrations = 30
	records           = 5000
	// messages published back to back, for the throughput.
	messages = 20000
	// pings published one at a time, each once the previous one was handled, for the latency.
	pings = 2000
	// lost is how long a published message may take to reach its handler before the bench fails.
	lost = 10 * time.Second
)

func service(name string) *registry.Service {
	return &registry.Service{
		Name:    name,
		Version: "latest",
		Nodes:   []*registry.Node{{Id: name + "-1", Address: "127.0.0.1:9000"}},
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "distbench:", err)
		os.Exit(1)
	}
}

func median(times []time.Duration) int64 {
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[len(times)/2].Microseconds()
}

func main() {
	servers := map[string]string{}
	for _, arg := range os.Args[1:] {
		name, address, _ := strings.Cut(arg, "=")
		switch name {
		case "etcd", "postgres", "mysql", "nats":
			servers[name] = address
		default:
			fmt.Fprintln(os.Stderr, "usage: distbench [etcd=host:port] [postgres=URL] [mysql=DSN] [nats=URL]")
			os.Exit(2)
		}
	}
	if address, ok := servers["etcd"]; ok {
		etcdSteps(address)
	}
	options := []store.Option{store.Database("benchgo"), store.Table("bench")}
	if address, ok := servers["postgres"]; ok {
		storeRates("postgres", postgres.NewStore(append(options, store.Nodes(address))...), 0)
	}
	if address, ok := servers["mysql"]; ok {
		// go-micro's MySQL store reads a record without expiry as expired: these get an hour.
		storeRates("mysql", mysql.NewMysqlStore(append(options, store.Nodes(address))...), time.Hour)
	}
	if address, ok := servers["nats"]; ok {
		natsSteps(address, options)
	}
}

func etcdSteps(address string) {
	reg := etcd.NewEtcdRegistry(registry.Addrs(address))
	ttl := registry.RegisterTTL(30 * time.Second)

	cached := service("bench-cached-go")
	must(reg.Register(cached, ttl))
	c := cache.New(reg)
	_, err := c.GetService(cached.Name)
	must(err)
	start := time.Now()
	for i := 0; i < lookups; i++ {
		_, err := c.GetService(cached.Name)
		must(err)
	}
	fmt.Printf("etcd_cached_lookup %d ns\n", time.Since(start).Nanoseconds()/lookups)
	c.Stop()
	must(reg.Deregister(cached))

	looker := etcd.NewEtcdRegistry(registry.Addrs(address))
	registrationTimes("etcd", reg, looker, registrations, ttl)
}

func natsSteps(address string, options []store.Option) {
	subscriber := natsbroker.NewNatsBroker(broker.Addrs(address))
	publisher := natsbroker.NewNatsBroker(broker.Addrs(address))
	must(subscriber.Connect())
	must(publisher.Connect())
	publishToHandler("nats", subscriber, publisher, "bench.go.nats")

	reg := natsregistry.NewNatsRegistry(registry.Addrs(address))
	looker := natsregistry.NewNatsRegistry(registry.Addrs(address))
	registrationTimes("nats", reg, looker, natsRegistrations)

	storeRates("natskv", natsjskv.NewStore(append(options, store.Nodes(address))...), 0)
}

// registrationTimes prints the medians of count registrations, and of the first lookup of
// each from another registry client, as a caller in another process would make it, and how
// many of those lookups found nothing.
func registrationTimes(name string, reg, looker registry.Registry, count int, opts ...registry.RegisterOption) {
	var registering, finding []time.Duration
	misses := 0
	for i := 0; i < count; i++ {
		s := service(fmt.Sprintf("bench-reg-go-%d", i))
		start := time.Now()
		must(reg.Register(s, opts...))
		registering = append(registering, time.Since(start))
		start = time.Now()
		found, err := looker.GetService(s.Name)
		must(err)
		finding = append(finding, time.Since(start))
		if len(found) == 0 {
			misses++
		}
		must(reg.Deregister(s))
	}
	fmt.Printf("%s_register_p50 %d us\n", name, median(registering))
	fmt.Printf("%s_first_lookup_p50 %d us\n", name, median(finding))
	fmt.Printf("%s_first_lookup_misses %d lookups\n", name, misses)
}

// publishToHandler sends messages of 100 bytes from publisher to a handler subscriber runs on
// topic: messages published back to back, timed from the first publish until the handler has
// the last; then pings published one at a time, each timed from its publish until the handler
// has it, of which the 99th percentile.
func publishToHandler(name string, subscriber, publisher broker.Broker, topic string) {
	arrivals := make(chan time.Time, messages)
	sub, err := subscriber.Subscribe(topic, func(broker.Event) error {
		arrivals <- time.Now()
		return nil
	})
	must(err)
	defer sub.Unsubscribe()
	message := &broker.Message{
		Header: map[string]string{"Micro-Topic": topic},
		Body:   []byte(strings.Repeat("x", 100)),
	}
	arrival := func() time.Time {
		select {
		case at := <-arrivals:
			return at
		case <-time.After(lost):
			must(fmt.Errorf("a message on %s did not reach its handler", topic))
			return time.Time{}
		}
	}
	// go-micro's subscription reaches the server in the background: publish until one arrives,
	// then let any late copy come and go.
	for warm := false; !warm; {
		must(publisher.Publish(topic, message))
		select {
		case <-arrivals:
			warm = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	time.Sleep(100 * time.Millisecond)
	for len(arrivals) > 0 {
		<-arrivals
	}

	start := time.Now()
	for i := 0; i < messages; i++ {
		must(publisher.Publish(topic, message))
	}
	last := start
	for i := 0; i < messages; i++ {
		last = arrival()
	}
	fmt.Printf("%s_publish_to_handler %.0f msgs/s\n", name, messages/last.Sub(start).Seconds())

	var latencies []time.Duration
	for i := 0; i < pings; i++ {
		start := time.Now()
		must(publisher.Publish(topic, message))
		latencies = append(latencies, arrival().Sub(start))
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	fmt.Printf("%s_publish_to_handler_p99 %d us\n", name, latencies[len(latencies)*99/100].Microseconds())
}

// storeRates writes then reads records of 100 bytes one after another, expiring after expiry
// (0: never), and prints the operations a second.
func storeRates(name string, st store.Store, expiry time.Duration) {
	value := []byte(strings.Repeat("x", 100))
	must(st.Write(&store.Record{Key: "warm", Value: value, Expiry: expiry}))
	start := time.Now()
	for i := 0; i < records; i++ {
		must(st.Write(&store.Record{Key: fmt.Sprintf("key-%d", i), Value: value, Expiry: expiry}))
	}
	fmt.Printf("%s_write %.0f ops/s\n", name, records/time.Since(start).Seconds())
	start = time.Now()
	for i := 0; i < records; i++ {
		_, err := st.Read(fmt.Sprintf("key-%d", i))
		must(err)
	}
	fmt.Printf("%s_read %.0f ops/s\n", name, records/time.Since(start).Seconds())
}
