// Command distbench is go-micro's side of libmicro's bench/distributed/run.sh: the same steps
// as libmicro's distributed-bench, with go-micro v5.30.0's etcd registry, its registry cache
// and its MySQL and Postgres stores, each printed as "name value unit".
//
//	distbench <etcd host:port> <postgres URL> <mysql DSN>
package main

import (
	"fmt"
	"os"
	"sort"
	"time"

	"go-micro.dev/v5/registry"
	"go-micro.dev/v5/registry/cache"
	"go-micro.dev/v5/registry/etcd"
	// go-micro's MySQL store opens "mysql" through database/sql; this driver is that name.
	_ "github.com/go-sql-driver/mysql"
	"go-micro.dev/v5/store"
	"go-micro.dev/v5/store/mysql"
	"go-micro.dev/v5/store/postgres"
)

const (
	lookups       = 200000
	registrations = 200
	records       = 5000
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
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: distbench <etcd host:port> <postgres URL> <mysql DSN>")
		os.Exit(2)
	}
	reg := etcd.NewEtcdRegistry(registry.Addrs(os.Args[1]))
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

	looker := etcd.NewEtcdRegistry(registry.Addrs(os.Args[1]))
	var registering, finding []time.Duration
	for i := 0; i < registrations; i++ {
		s := service(fmt.Sprintf("bench-reg-go-%d", i))
		start := time.Now()
		must(reg.Register(s, ttl))
		registering = append(registering, time.Since(start))
		start = time.Now()
		_, err := looker.GetService(s.Name)
		must(err)
		finding = append(finding, time.Since(start))
		must(reg.Deregister(s))
	}
	fmt.Printf("etcd_register_p50 %d us\n", median(registering))
	fmt.Printf("etcd_first_lookup_p50 %d us\n", median(finding))

	options := []store.Option{store.Database("benchgo"), store.Table("bench")}
	storeRates("postgres", postgres.NewStore(append(options, store.Nodes(os.Args[2]))...), 0)
	// go-micro's MySQL store reads a record without expiry as expired: these get an hour.
	storeRates("mysql", mysql.NewMysqlStore(append(options, store.Nodes(os.Args[3]))...), time.Hour)
}

// storeRates writes then reads records of 100 bytes one after another, expiring after expiry
// (0: never), and prints the operations a second.
func storeRates(name string, st store.Store, expiry time.Duration) {
	value := make([]byte, 100)
	for i := range value {
		value[i] = 'x'
	}
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
