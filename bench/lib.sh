# Helpers the HTTP load benches (bench/gateway/run.sh, bench/mcp/run.sh) share: wrk with CPU
# accounting per process, stopping what a row started, the two thread modes every comparison
# runs in, and markdown tables. Sourced, not run; the caller sets $c, $d and $script (the wrk
# Lua script).

shopt -s inherit_errexit

# Enters a fresh network namespace (re-running the calling script inside it) once wrk is
# installed and the caller's build command ($@) has run; inside, brings loopback up with
# multicast for mDNS.
enter_netns() {
    if [ -z "${MICRO_BENCH_IN_NETNS:-}" ]; then
        command -v wrk >/dev/null || apt-get install -y wrk >/dev/null ||
            { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
        "$@"
        exec unshare -n env MICRO_BENCH_IN_NETNS=1 CARGO_TARGET_DIR="$CARGO_TARGET_DIR" \
            bash "$0" "${bench_args[@]}"
    fi
    ip link set lo up
    ip link set lo multicast on
    ip route add 224.0.0.0/4 dev lo
}

# Runs "$@" (a function printing tables) in each thread mode: at the defaults users get (one
# scheduler thread per core for tokio and Go alike), then pinned to one scheduler thread per
# server process, which spares the cross-thread wake-ups when wrk, a gateway and a service
# share two cores. Sets $results (a section per mode) and the load average before and after
# ($load_before, $load_after).
in_both_modes() {
    load_before="$(loadavg)"
    results="$(both_modes "$@")"
    load_after="$(loadavg)"
}
both_modes() {
    echo "## At the defaults ($(nproc) scheduler threads per process)"
    echo
    (unset TOKIO_WORKER_THREADS GOMAXPROCS; "$@")
    echo
    echo "## Pinned (TOKIO_WORKER_THREADS=1, GOMAXPROCS=1)"
    echo
    (export TOKIO_WORKER_THREADS=1 GOMAXPROCS=1; "$@")
}

pids=()
# Stops what a row started: TERM, then KILL after 3 s (go-micro's mcp serve keeps serving on
# TERM).
stop_all() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}

# Starts "$@" in the background as part of the current row; its process id in $started.
start() {
    "$@" >/dev/null 2>&1 &
    pids+=($!)
    started=$!
}

# CPU time (user + system) a process has used, in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# CPU ticks spent over N requests, as microseconds per request.
per() { awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }'; }

# wrk's latency (e.g. 812.00us, 1.53ms, 2.01s) in microseconds.
us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000; else if (v ~ /s$/) m = 1000000; else m = 1
        printf "%d", n * m
    }'
}

# wrk against $1, warmed up for 2 s first, with the gateway process $2 and the service
# process $3 (or none); prints "req/s p50_us p99_us non2xx gateway_cpu_us/req service_cpu_us/req".
load() {
    wrk -t2 -c"$c" -d2s -s "$script" "$1" >/dev/null
    local out g0 s0=0 g1 s1=0
    g0="$(ticks "$2")"
    [ -n "${3:-}" ] && s0="$(ticks "$3")"
    out="$(wrk -t2 -c"$c" -d"${d}s" --latency -s "$script" "$1")"
    g1="$(ticks "$2")"
    [ -n "${3:-}" ] && s1="$(ticks "$3")"
    echo "$out" >&2
    local rps p50 p99 bad total
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    bad="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
    total="$(awk '/requests in/ {print $1}' <<<"$out")"
    echo "$rps $(us "$p50") $(us "$p99") ${bad:-0} $(per "$((g1 - g0))" "$total") $(if [ -n "${3:-}" ]; then per "$((s1 - s0))" "$total"; else echo -; fi)"
}

col() { awk -v i="$2" '{print $i}' <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# The header of a table of load() results, its first column named $1.
table_head() {
    echo "| $1 | requests/s | p50 µs | p99 µs | non-2xx | gateway CPU µs/req | service CPU µs/req |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
}
row() { echo "| $1 | $(col "$2" 1) | $(col "$2" 2) | $(col "$2" 3) | $(col "$2" 4) | $(col "$2" 5) | $(col "$2" 6) |"; }

# The header of the ratio table, after a blank line.
ratio_head() {
    echo
    echo "| ratio | requests/s | p99 |"
    echo "| --- | --- | --- |"
}

# A row of the ratio table: $1 named, load() results $2 over $3 in requests/s and p99.
ratio_row() { echo "| $1 | $(ratio "$(col "$2" 1)" "$(col "$3" 1)") | $(ratio "$(col "$2" 3)" "$(col "$3" 3)") |"; }

# Runs the row function $1 (arguments: a build directory and the variable to set) for this
# build and, with MICRO_BENCH_BEFORE, for the earlier one, alternately $rounds times, and sets
# the variables named $2 and $3 to each build's median run by requests/s, so that drift in the
# machine's load falls on both builds alike.
rounds="${MICRO_BENCH_ROUNDS:-3}"
compare() {
    local run=$1 one now=() earlier=()
    for _ in $(seq "$rounds"); do
        "$run" "$target/release" one
        now+=("$one")
        if [ -n "$before" ]; then
            "$run" "$before" one
            earlier+=("$one")
        fi
    done
    printf -v "$2" '%s' "$(median "${now[@]}")"
    [ -z "$before" ] || printf -v "$3" '%s' "$(median "${earlier[@]}")"
}
median() { printf '%s\n' "$@" | sort -g -k1,1 | sed -n "$((($# + 1) / 2))p"; }

# The machine and its load average, for a results file's first lines.
machine() {
    echo "$(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(free -g | awk '/Mem:/ {print $2}') GiB"
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Where the "before" binaries live when MICRO_BENCH_BEFORE names a directory holding an
# earlier build's release `micro` and `helloworld` (see bench/before.sh); empty otherwise.
before="${MICRO_BENCH_BEFORE:-}"
if [ -n "$before" ] && { [ ! -x "$before/micro" ] || [ ! -x "$before/helloworld" ]; }; then
    echo "MICRO_BENCH_BEFORE=$before holds no release micro and helloworld; build them with bench/before.sh <commit>" >&2
    exit 1
fi
before_rev="${MICRO_BENCH_BEFORE_REV:-$(cat "$before/REV" 2>/dev/null || echo earlier)}"
