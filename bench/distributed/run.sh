#!/usr/bin/env bash
# Distributed backends, libmicro against go-micro v5.30.0 on the same servers in one run
# (scripts/servers.sh starts etcd, PostgreSQL, Redis, MariaDB and NATS on loopback): the etcd
# registry's cached lookup, a registration and the first lookup of it from another client on
# etcd and NATS, store writes then reads one after another (100-byte values) on PostgreSQL, Redis,
# MariaDB and NATS key-value buckets (go-micro ships no Redis store), and NATS broker messages
# from publish to handler (go-micro's NATS broker has no JetStream). libmicro's side is
# bench/distributed (distributed-bench), go-micro's tests/interop/cmd/distbench. The two take
# turns, three runs each, and each figure is the side's best (the run least slowed by whatever
# else the machine was doing). Writes bench/results/distributed.md.
#
#   bench/distributed/run.sh
#   MICRO_BENCH_ONLY="nats" bench/distributed/run.sh    # these servers' rows, printed only
#                                                       # (to merge into the results by hand)
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/libmicro/target}"
. "$root/bench/lib.sh"

all="etcd postgres redis mysql nats"
only="${MICRO_BENCH_ONLY:-$all}"
servers="$root/scripts/servers.sh"
for name in $only; do
    case "$name" in
        etcd | postgres | redis | mysql | nats) ;;
        *) echo "MICRO_BENCH_ONLY: unknown server $name (of $all)" >&2; exit 2 ;;
    esac
done
(cd "$root" && cargo build --release -q -p distributed-bench)
(cd "$root/tests/interop" && GOFLAGS=-mod=mod go build -o bin/ ./cmd/distbench)
# shellcheck disable=SC2086
"$servers" start $only
# Each side's arguments (name=address), the rows of the table and the servers' versions.
ours_args=() theirs_args=() rows=() versions=()
for name in $only; do
    url="$("$servers" url "$name")"
    ours_args+=("$name=$url")
    case "$name" in
        etcd)
            theirs_args+=("etcd=$url")
            rows+=(etcd_cached_lookup etcd_register_p50 etcd_first_lookup_p50)
            versions+=("etcd $(etcd --version | awk '/etcd Version/ {print $3}')")
            ;;
        postgres)
            # go-micro's Postgres store (lib/pq) asks for TLS unless told not to.
            theirs_args+=("postgres=$url?sslmode=disable")
            rows+=(postgres_write postgres_read)
            versions+=("PostgreSQL $(psql --version | awk '{print $3}')")
            ;;
        redis)
            rows+=(redis_write redis_read)
            versions+=("Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2)")
            ;;
        mysql)
            # go-micro's MySQL store takes the Go driver's DSN, user:password@tcp(host:port)/,
            # and needs parseTime to read its expiry column.
            theirs_args+=("mysql=$(sed -E 's|^mysql://([^@]*)@([^/]*).*|\1@tcp(\2)/?parseTime=true|' <<<"$url")")
            rows+=(mysql_write mysql_read)
            versions+=("MariaDB $(/usr/sbin/mariadbd --version | awk '{print $3}' | cut -d- -f1)")
            ;;
        nats)
            theirs_args+=("nats=$url")
            rows+=(nats_publish_to_handler nats_publish_to_handler_p99
                nats_jetstream_publish_to_handler nats_jetstream_publish_to_handler_p99
                nats_register_p50 nats_first_lookup_p50 nats_first_lookup_misses
                natskv_write natskv_read)
            # The server's monitoring port is its client port + 4000 (scripts/servers.sh).
            hostport="${url#nats://}"
            versions+=("nats-server $(curl -sf -m 2 "http://${hostport%:*}:$((${hostport##*:} + 4000))/varz" |
                sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p')")
            ;;
    esac
done

runs=3
load_before="$(loadavg)"
ours="" theirs=""
for _ in $(seq "$runs"); do
    ours+="$("$CARGO_TARGET_DIR/release/distributed-bench" "${ours_args[@]}")"$'\n'
    theirs+="$("$root/tests/interop/bin/distbench" "${theirs_args[@]}" 2>/dev/null)"$'\n'
done
load_after="$(loadavg)"

# Rates (their unit ends in /s) are better higher, the rest (times, misses) lower.
# The best value of metric $1 over the runs in the output $2, or "-".
value() {
    awk -v m="$1" '$1 == m && (!found || ($3 ~ /\/s$/ ? $2 > best : $2 < best)) {best = $2; found = 1}
        END {print found ? best : "-"}' <<<"$2"
}
unit() { awk -v m="$1" '$1 == m {print $3; exit}' <<<"$ours"; }
# libmicro over go-micro, the better way up; "-" when either side has no figure or a zero.
better() {
    local a b
    a="$(value "$1" "$ours")"
    b="$(value "$1" "$theirs")"
    if [ "$a" = "-" ] || [ "$b" = "-" ] || [ "$a" = 0 ] || [ "$b" = 0 ]; then
        echo "-"
        return
    fi
    case "$(unit "$1")" in
        */s) ratio "$a" "$b" ;;
        *) ratio "$b" "$a" ;;
    esac
}

report() {
    local joined
    joined="$(printf '%s, ' "${versions[@]}")"
    echo "# Distributed backends: libmicro vs go-micro v5.30.0 on the same servers"
    echo
    echo "Date $(date -u +%Y-%m-%d), $(machine). Load average before the run $load_before, after"
    echo "$load_after. ${joined%, }, on loopback"
    echo "(\`bench/distributed/run.sh\`). Each side runs alone, one operation at a time: the figures are"
    echo "latencies of the client libraries plus the server, not the servers' capacity. The sides take"
    echo "turns, $runs runs each; each figure is the side's best run."
    echo
    echo "| measure | unit | libmicro | go-micro | libmicro better by |"
    echo "| --- | --- | --- | --- | --- |"
    for m in "${rows[@]}"; do
        echo "| $m | $(unit "$m") | $(value "$m" "$ours") | $(value "$m" "$theirs") | $(better "$m") |"
    done
    echo
    echo "etcd_cached_lookup: a lookup the registry cache answers (target: under 1 µs, as mDNS's);"
    echo "etcd_register_p50: the median of 200 registrations with a 30 s TTL (a lease, its"
    echo "keep-alive and the key); etcd_first_lookup_p50: the median first lookup of each from a"
    echo "second registry client; store rates: 5000 writes, then 5000 reads of the same keys, in"
    echo "go-micro's table layout on PostgreSQL and MariaDB (on MariaDB each side with its own column"
    echo "types, and go-micro's records expire after an hour: it reads one without expiry as expired)."
    echo
    echo "nats_publish_to_handler: 20000 go-micro JSON broker messages (100-byte body) published"
    echo "back to back on core NATS by one broker client, timed from the first publish until a"
    echo "subscriber's handler on a second client in the same process has the last. On both sides"
    echo "a publish returns once the message is queued on the connection, written with those queued"
    echo "behind it (libmicro flushes what is left when the broker is dropped)."
    echo "_p99: then 2000 messages published one at a time, each once the handler had the previous"
    echo "one, the 99th percentile from publish to handler. nats_jetstream_*: the same through"
    echo "libmicro's JetStream mode (\`?jetstream=true\`: each publish waits until the stream stored"
    echo "the message; the handler's acknowledgement follows). nats_register_p50 and"
    echo "nats_first_lookup_p50: as etcd's, 30 registrations without TTL; a lookup gathers the answers"
    echo "for the registry's 100 ms on both sides (go-micro's scatter-gather, by design), so it takes"
    echo "100 ms whatever the client: libmicro's ends at its timeout (its timer set a millisecond"
    echo "early, as tokio's fire on the millisecond tick after their deadline), go-micro's just after."
    echo "nats_first_lookup_misses: how many of the 30 first lookups found nothing (go-micro's"
    echo "registration subscribes to queries without waiting for the server, so a lookup right after"
    echo "may come first). natskv_*: as the other stores, on JetStream key-value buckets (file"
    echo "storage), each side in its own bucket and key layout (go-micro \`<table>_<key>\`, libmicro"
    echo "\`<table>.<key>\`)."
}

if [ "$only" = "$all" ]; then
    report >"$root/bench/results/distributed.md"
    cat "$root/bench/results/distributed.md"
else
    report
fi
