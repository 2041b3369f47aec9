#!/usr/bin/env bash
# Distributed backends, libmicro against go-micro v5.30.0 on the same servers in one run
# (scripts/servers.sh starts etcd, PostgreSQL, Redis and MariaDB on loopback): the etcd
# registry's cached lookup, a registration and the first lookup of it from another client, and
# store writes then reads one after another (100-byte values) on PostgreSQL, Redis and MariaDB
# (go-micro ships no Redis store). libmicro's side is bench/distributed (distributed-bench), go-micro's
# tests/interop/cmd/distbench. The two take turns, three runs each, and each figure is the
# side's best (the run least slowed by whatever else the machine was doing). Writes
# bench/results/distributed.md.
#
#   bench/distributed/run.sh
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/libmicro/target}"
. "$root/bench/lib.sh"

(cd "$root" && cargo build --release -q -p distributed-bench)
(cd "$root/tests/interop" && GOFLAGS=-mod=mod go build -o bin/ ./cmd/distbench)
servers="$root/scripts/servers.sh"
"$servers" start etcd postgres redis mysql
etcd="$("$servers" url etcd)"
postgres="$("$servers" url postgres)"
redis="$("$servers" url redis)"
mysql="$("$servers" url mysql)"
# go-micro's MySQL store takes the Go driver's DSN, user:password@tcp(host:port)/, and needs
# parseTime to read its expiry column.
mysql_dsn="$(sed -E 's|^mysql://([^@]*)@([^/]*).*|\1@tcp(\2)/?parseTime=true|' <<<"$mysql")"

runs=3
load_before="$(loadavg)"
ours="" theirs=""
for _ in $(seq "$runs"); do
    ours+="$("$CARGO_TARGET_DIR/release/distributed-bench" "$etcd" "$postgres" "$redis" "$mysql")"$'\n'
    # go-micro's Postgres store (lib/pq) asks for TLS unless told not to.
    theirs+="$("$root/tests/interop/bin/distbench" "$etcd" "$postgres?sslmode=disable" "$mysql_dsn" 2>/dev/null)"$'\n'
done
load_after="$(loadavg)"

# The best value of metric $1 over the runs in the output $2 (highest rate, lowest time), or "-".
value() {
    awk -v m="$1" '$1 == m && (!found || ($3 == "ops/s" ? $2 > best : $2 < best)) {best = $2; found = 1}
        END {print found ? best : "-"}' <<<"$2"
}
unit() { awk -v m="$1" '$1 == m {print $3; exit}' <<<"$ours"; }
# libmicro over go-micro, the better way up: higher for rates, lower for times.
better() {
    local a b
    a="$(value "$1" "$ours")"
    b="$(value "$1" "$theirs")"
    [ "$b" != "-" ] || { echo "-"; return; }
    case "$(unit "$1")" in
        ops/s) ratio "$a" "$b" ;;
        *) ratio "$b" "$a" ;;
    esac
}

{
    echo "# Distributed backends: libmicro vs go-micro v5.30.0 on the same servers"
    echo
    echo "Date $(date -u +%Y-%m-%d), $(machine). Load average before the run $load_before, after"
    echo "$load_after. etcd $(etcd --version | awk '/etcd Version/ {print $3}'), PostgreSQL"
    echo "$(psql --version | awk '{print $3}'), Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2), MariaDB"
    echo "$(/usr/sbin/mariadbd --version | awk '{print $3}' | cut -d- -f1), on loopback"
    echo "(\`bench/distributed/run.sh\`). Each side runs alone, one operation at a time: the figures are"
    echo "latencies of the client libraries plus the server, not the servers' capacity. The sides take"
    echo "turns, $runs runs each; each figure is the side's best run."
    echo
    echo "| measure | unit | libmicro | go-micro | libmicro better by |"
    echo "| --- | --- | --- | --- | --- |"
    for m in etcd_cached_lookup etcd_register_p50 etcd_first_lookup_p50 postgres_write postgres_read redis_write redis_read mysql_write mysql_read; do
        echo "| $m | $(unit "$m") | $(value "$m" "$ours") | $(value "$m" "$theirs") | $(better "$m") |"
    done
    echo
    echo "etcd_cached_lookup: a lookup the registry cache answers (target: under 1 µs, as mDNS's);"
    echo "etcd_register_p50: the median of 200 registrations with a 30 s TTL (a lease, its"
    echo "keep-alive and the key); etcd_first_lookup_p50: the median first lookup of each from a"
    echo "second registry client; store rates: 5000 writes, then 5000 reads of the same keys, in"
    echo "go-micro's table layout on PostgreSQL and MariaDB (on MariaDB each side with its own column"
    echo "types, and go-micro's records expire after an hour: it reads one without expiry as expired)."
} >"$root/bench/results/distributed.md"
cat "$root/bench/results/distributed.md"
