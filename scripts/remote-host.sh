#!/usr/bin/env bash
# A "remote host" for the deploy tests: a network namespace joined to ours by a veth pair, with
# real systemd as PID 1 of new PID, mount, cgroup, UTS and IPC namespaces, booting this machine's
# own Debian through an overlay (its changes live in memory and go with it), and Debian's
# openssh-server running under that systemd for a `deploy` user with a key made here:
#
#   scripts/remote-host.sh keygen DIR              an ed25519 key pair DIR/id_ed25519{,.pub}
#   scripts/remote-host.sh start NAME [KEY.pub]    start host NAME (running already: left as it is)
#   scripts/remote-host.sh address NAME            its address (10.77.0.2 for the first)
#   scripts/remote-host.sh known-hosts NAME        a known_hosts file with its fresh host key
#   scripts/remote-host.sh ssh-command NAME [KEY]  the ssh command line that reaches it
#   scripts/remote-host.sh exec NAME CMD...        run CMD inside it (all its namespaces, as root)
#   scripts/remote-host.sh stop NAME               tear it all down (processes, mounts, veth, netns)
#   scripts/remote-host.sh verify UNIT-FILE...     systemd-analyze verify, as the tests check units
#
# NAME: 1-12 of [a-z0-9-]. KEY.pub is authorized for `deploy` (default: the key `keygen` made in
# $MICRO_REMOTE_DIR/NAME/key, made when missing). `deploy` has sudo without a password; root
# does not log in over SSH. MICRO_REMOTE_DIR sets where the hosts' state goes (default
# /tmp/libmicro-remote). Must run as root (namespaces, mounts, veth).
#
# What was found on this machine (Debian 12, kernel 6.18, systemd 252.39, 2 cores, December 2026;
# hand-checked with the commands at the end of this comment):
#
# - Real systemd runs as PID 1 of `unshare --pid --fork --mount --cgroup --uts --ipc`, inside the
#   network namespace: `systemctl is-system-running` says "running", no unit failed;
#   `systemctl start`, `enable --now`, `systemd-run --wait --pipe`, `journalctl -u` and
#   `journalctl -f` all work, over ssh and through `exec`. No fallback service manager was needed.
# - Cgroups: this machine's are "hybrid" (v1 controllers each at /sys/fs/cgroup/<controller>, a
#   v1 name=systemd hierarchy at /sys/fs/cgroup/systemd, cgroup2 at /sys/fs/cgroup/unified) and no
#   systemd runs on the machine itself (its PID 1 is another program). Before the cgroup namespace
#   is made, the host enters a cgroup of its own, remote-host-NAME, under the caller's in every
#   hierarchy; inside, that is the root of each. systemd 252 boots in hybrid mode, mounts the v1
#   controllers itself and makes init.scope, system.slice, a cgroup per unit there; limits are
#   enforced (MemoryMax=64M became memory.limit_in_bytes 67108864). Without those cgroups of its
#   own it made its slices in the machine's root devices and pids cgroups: do not drop them.
#   A machine with cgroup v2 only (no /sys/fs/cgroup/unified) is refused with a clear error:
#   untried here.
# - Root: an overlay (upper layer on a tmpfs of at most 4 GiB) over this machine's own /, so the
#   host has the same Debian and packages (openssh-server, sudo, rsync, git, curl) with nothing
#   to download, while what is written inside (/etc, /opt, /home, users) stays inside and goes at
#   stop. The overlay drops the units this machine has enabled for its own test servers (mariadb,
#   postgresql, redis, rabbitmq, etcd, nats, avahi, apt timers...): of /etc's enabled units only
#   ssh.service stays, and console-getty and the debugfs/tracefs/configfs/fusectl/hugetlbfs/
#   binfmt_misc mounts are masked. /proc/sys and /sys are read-only inside (as systemd-nspawn
#   does), /run and /tmp tmpfs; `container=remote-host` in PID 1's environment makes systemd
#   behave as in a container (udev, sysctl and the like skip themselves). Changing this machine's
#   / (apt-get install) while a host runs is overlayfs's "undefined" case: stop hosts first.
# - /dev is a tmpfs with device nodes made there by mknod. Bind-mounting ours instead shares
#   their inodes: at the first ssh login, systemd's chown of /dev/console (then bound to
#   /dev/null) turned this machine's /dev/null into root:tty 0620 (since put back). The console
#   is a null device of its own; systemd's own messages go to the journal.
# - SSH: Debian's sshd under systemd (ssh.service) on port 22 of the host's address, keys only,
#   no root login, host keys made fresh at each start (`known-hosts` prints a file with them, so
#   no prompt). User `deploy` (uid 1001, in group systemd-journal: journalctl without sudo) has
#   `sudo` without a password. scp (sftp) works.
# - Addresses: the first free /30 of 10.77.0.0/24: 10.77.0.1 here and 10.77.0.2 there, then .5
#   and .6, ...; hosts started side by side get their own (checked with two at once).
# - Unit files: `systemd-analyze verify` (the `verify` command, on this machine) needs the unit's
#   ExecStart= binary to exist and a template an instance: micro@.service alone is verified as
#   micro@i.service and fails on /opt/micro/bin/i. Verify a template inside the host after the
#   binaries are in place: `exec NAME systemd-analyze verify /etc/systemd/system/micro@svc.service`
#   passed for a micro@.service with User=, EnvironmentFile=-/opt/micro/env/%i.env and
#   ExecStart=/opt/micro/bin/%i.
# - Timings (2 shared cores): start 1.3 s (2.3 s for two at once; + about 8 s when openssh-server
#   and sudo must be installed first), start again 0.03 s, `ssh ... true` 0.4 s, install and
#   `enable --now` a unit over ssh 0.55 s, stop 1.5-2 s (most of it the kernel tearing down
#   the PID namespace after SIGKILL to PID 1).
# - stop leaves nothing: no process, cgroup, namespace, veth or state (an ssh session open at the
#   time is cut: "Connection ... closed by remote host"). `ip netns` keeps its own /run/netns
#   bind mount, as it always does once used.
#
# The hand check:
#   scripts/remote-host.sh keygen /tmp/k2
#   scripts/remote-host.sh start demo /tmp/k2/id_ed25519.pub
#   C="$(scripts/remote-host.sh ssh-command demo /tmp/k2/id_ed25519)"
#     # ssh -i /tmp/k2/id_ed25519 -o UserKnownHostsFile=/tmp/libmicro-remote/demo/known_hosts
#     #     -o IdentitiesOnly=yes deploy@10.77.0.2
#   $C true
#   scripts/remote-host.sh exec demo systemctl is-system-running          # running
#   $C 'sudo tee /etc/systemd/system/hello.service >/dev/null && sudo systemctl daemon-reload &&
#       sudo systemctl enable --now hello.service' <hello.service
#   $C 'systemctl is-active hello; journalctl -u hello -n 3'               # active, its lines
#   $C 'sudo systemd-run --wait --pipe -p MemoryMax=10M cat /proc/self/cgroup'
#   scripts/remote-host.sh stop demo
set -euo pipefail

dir="${MICRO_REMOTE_DIR:-/tmp/libmicro-remote}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"

# install: Debian's packages without starting their services.
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

die() {
    echo "remote-host: $*" >&2
    exit 1
}

check_name() {
    [[ "${1:-}" =~ ^[a-z0-9-]{1,12}$ ]] || die "host name '${1:-}': 1 to 12 of a-z, 0-9 and -"
}

# The host-side PID of host $1's PID 1 (systemd), or nothing when it is not running.
pid1() {
    local unshare
    unshare="$(cat "$dir/$1/unshare.pid" 2>/dev/null)" || return 0
    kill -0 "$unshare" 2>/dev/null || return 0
    pgrep -P "$unshare" | head -1
}

# Makes an ed25519 key pair DIR/id_ed25519 and DIR/id_ed25519.pub unless there.
keygen() {
    local keydir=$1
    command -v ssh-keygen >/dev/null || install openssh-client
    mkdir -p "$keydir"
    [ -f "$keydir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "libmicro-remote-host" -f "$keydir/id_ed25519"
    chmod 0700 "$keydir"
    echo "$keydir/id_ed25519"
}

# The first free /30 in 10.77.0.0/24: prints "here there" (10.77.0.1 10.77.0.2, then .5 .6, ...),
# skipping those the other hosts' veths hold.
free_pair() {
    local used k
    used="$(ip -4 -o addr show | awk '{print $4}')"
    for k in $(seq 0 63); do
        if ! grep -qx "10.77.0.$((4 * k + 1))/30" <<<"$used"; then
            echo "10.77.0.$((4 * k + 1)) 10.77.0.$((4 * k + 2))"
            return 0
        fi
    done
    die "no free /30 left in 10.77.0.0/24"
}

start() {
    local name=$1 pubkey=${2:-} state="$dir/$1"
    [ "$(id -u)" = 0 ] || die "start must run as root (namespaces, mounts, veth)"
    mkdir -p "$dir"
    # One start or stop at a time.
    exec 9>"$dir/.lock"
    flock 9
    if [ -n "$(pid1 "$name")" ]; then
        return 0
    fi
    # What a half-made or dead one left.
    teardown "$name"
    [ -x /lib/systemd/systemd ] || install systemd
    [ -x /usr/sbin/sshd ] || install openssh-server
    command -v sudo >/dev/null || install sudo
    [ -z "$pubkey" ] || [ -f "$pubkey" ] || die "no public key at $pubkey"
    mkdir -p "$state"
    [ -n "$pubkey" ] || pubkey="$(keygen "$state/key").pub"
    cp "$pubkey" "$state/authorized_keys"

    # The network: namespace NAME, veth rh-NAME here and eth0 there, on a /30 of their own.
    local pair ours theirs
    pair="$(free_pair)"
    ours=${pair% *}
    theirs=${pair#* }
    ip netns add "$name"
    ip link add "rh-$name" type veth peer name eth0 netns "$name"
    ip addr add "$ours/30" dev "rh-$name"
    ip link set "rh-$name" up
    ip -n "$name" addr add "$theirs/30" dev eth0
    ip -n "$name" link set eth0 up
    ip -n "$name" link set lo up
    echo "$theirs" >"$state/address"

    # Its cgroups: one of its own, remote-host-NAME, under ours in every hierarchy (the machine's
    # are hybrid: v1 controllers, v1 name=systemd and cgroup2), which become the roots of its
    # cgroup namespace. systemd inside mounts them all and makes its slices there; without these,
    # it would make them in the machine's own root cgroups.
    local id controllers path mountpoint cg
    : >"$state/cgroups"
    while IFS=: read -r id controllers path; do
        case "$controllers" in
            "") mountpoint=/sys/fs/cgroup/unified ;;
            name=*) mountpoint="/sys/fs/cgroup/${controllers#name=}" ;;
            *) mountpoint="/sys/fs/cgroup/$controllers" ;;
        esac
        [ -d "$mountpoint" ] || die "cgroup hierarchy $id ($controllers) is not at $mountpoint: this script knows hybrid cgroups as /sys/fs/cgroup/<controller> only"
        cg="$mountpoint${path%/}/remote-host-$name"
        mkdir -p "$cg"
        # A new cpuset has no CPUs or memory nodes until given its parent's.
        if [ -f "$cg/cpuset.cpus" ]; then
            cat "$(dirname "$cg")/cpuset.cpus" >"$cg/cpuset.cpus"
            cat "$(dirname "$cg")/cpuset.mems" >"$cg/cpuset.mems"
        fi
        echo "$cg" >>"$state/cgroups"
    done </proc/self/cgroup

    # PID 1: this script's `boot`, in the namespace's network and new PID, mount, cgroup, UTS and
    # IPC namespaces; it prepares the root and execs systemd. The shell first moves itself into
    # the cgroups (unshare's child inherits them). Its output goes to boot.log.
    # shellcheck disable=SC2016 # the inner shell expands them
    nohup setsid nsenter --net="/run/netns/$name" bash -c '
        while read -r cg; do echo $$ >"$cg/cgroup.procs"; done <"$3"
        exec unshare --pid --fork --mount --propagation private --cgroup --uts --ipc "$2" boot "$1"
    ' _ "$name" "$here" "$state/cgroups" </dev/null >"$state/boot.log" 2>&1 9>&- &
    echo $! >"$state/unshare.pid"

    # Ready when sshd answers and systemd says it has finished booting.
    local ok=""
    for _ in $(seq 300); do
        if [ -n "$(pid1 "$name")" ] && [ -f "$state/known_hosts" ] &&
            in_host "$name" systemctl is-active --quiet ssh.service 2>/dev/null &&
            timeout 1 bash -c "exec 3<>/dev/tcp/$theirs/22" 2>/dev/null; then
            ok=1
            break
        fi
        if [ -z "$(pid1 "$name")" ] && ! kill -0 "$(cat "$state/unshare.pid")" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    if [ -z "$ok" ]; then
        echo "remote-host: host $name did not come up; the end of its boot log:" >&2
        tail -20 "$state/boot.log" >&2
        if [ -n "$(pid1 "$name")" ]; then
            echo "and systemd says:" >&2
            in_host "$name" systemctl --no-pager status ssh.service >&2 || true
        fi
        # Nothing stays of it.
        teardown "$name"
        return 1
    fi
}

# PID 1 of the host, run by start through unshare: makes the root (an overlay over this
# machine's / with its upper layer on a tmpfs), mounts /proc, /sys, its cgroups, /dev, /run and
# /tmp in it, prepares sshd and the deploy user, and execs systemd there.
boot() {
    local name=$1 state="$dir/$1"
    local top=/run/remote-host-root
    # A tmpfs holds the overlay's upper layer and its mount point. (It must be another file
    # system than /: overlayfs refuses an upper layer inside its lower one.)
    mkdir -p "$top"
    mount -t tmpfs -o mode=0755,size=4g remote-host "$top"
    mkdir -p "$top/upper" "$top/work" "$top/root"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$top/upper,workdir=$top/work" "$top/root"
    local root="$top/root"

    # /proc of the new PID namespace, with /proc/sys read-only; /sys read-only, with its own
    # cgroup mounts (the namespace's roots) writable.
    mount -t proc proc "$root/proc"
    mount --bind "$root/proc/sys" "$root/proc/sys"
    mount -o remount,bind,ro "$root/proc/sys"
    mount -t sysfs -o ro sysfs "$root/sys"
    mount -t tmpfs -o mode=0755 cgroup "$root/sys/fs/cgroup"
    mkdir -p "$root/sys/fs/cgroup/systemd" "$root/sys/fs/cgroup/unified"
    mount -t cgroup -o none,name=systemd,xattr cgroup "$root/sys/fs/cgroup/systemd"
    mount -t cgroup2 cgroup2 "$root/sys/fs/cgroup/unified"

    # /dev: a tmpfs with the usual nodes, made afresh (nodes bound from ours would share our
    # inodes: what systemd and logins do to their owners and modes inside would happen to ours),
    # its own devpts, /dev/shm. The console is one more null device: systemd logs to its stderr,
    # boot.log, in a container, and chowns the console to group tty.
    mount -t tmpfs -o mode=0755,nosuid dev "$root/dev"
    mknod -m 0666 "$root/dev/null" c 1 3
    mknod -m 0666 "$root/dev/zero" c 1 5
    mknod -m 0666 "$root/dev/full" c 1 7
    mknod -m 0666 "$root/dev/random" c 1 8
    mknod -m 0666 "$root/dev/urandom" c 1 9
    mknod -m 0666 "$root/dev/tty" c 5 0
    mknod -m 0600 "$root/dev/console" c 1 3
    mkdir -p "$root/dev/pts" "$root/dev/shm"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$root/dev/pts"
    ln -s pts/ptmx "$root/dev/ptmx"
    mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
    ln -s /proc/self/fd "$root/dev/fd"
    ln -s /proc/self/fd/0 "$root/dev/stdin"
    ln -s /proc/self/fd/1 "$root/dev/stdout"
    ln -s /proc/self/fd/2 "$root/dev/stderr"
    mount -t tmpfs -o mode=0755,nosuid,nodev run "$root/run"
    mount -t tmpfs -o mode=1777,nosuid,nodev tmp "$root/tmp"

    # Only ssh.service of this machine's enabled units (the overlay hides the others' links:
    # its test servers, timers, avahi...).
    find "$root/etc/systemd/system" -mindepth 2 -maxdepth 2 -path '*.wants/*' ! -name ssh.service -delete
    # Nor what a container has no use for, or would reach the machine's kernel through: a getty
    # on the console (/dev/null here), debugfs, tracefs, configfs, fusectl, hugetlbfs and
    # binfmt_misc mounts.
    local unit
    for unit in console-getty.service sys-kernel-debug.mount sys-kernel-tracing.mount \
        sys-kernel-config.mount sys-fs-fuse-connections.mount dev-hugepages.mount \
        proc-sys-fs-binfmt_misc.automount; do
        ln -sf /dev/null "$root/etc/systemd/system/$unit"
    done
    # Its own identity: a machine id and host name (which /etc/hosts resolves, for sudo); fresh SSH host keys, with a known_hosts file
    # for them on the outside.
    tr -d '-' </proc/sys/kernel/random/uuid >"$root/etc/machine-id"
    echo "$name" >"$root/etc/hostname"
    printf '127.0.1.1\t%s\n' "$name" >>"$root/etc/hosts"
    hostname "$name"
    rm -f "$root"/etc/ssh/ssh_host_*
    chroot "$root" ssh-keygen -q -A
    # sshd: keys only, no root.
    cat >"$root/etc/ssh/sshd_config.d/remote-host.conf" <<EOF
PasswordAuthentication no
PermitRootLogin no
EOF
    # The deploy user, with the given key and sudo without a password.
    # (In group systemd-journal: journalctl shows it every unit's log without sudo.)
    chroot "$root" useradd -m -s /bin/bash -G systemd-journal deploy
    mkdir -p "$root/home/deploy/.ssh"
    cp "$state/authorized_keys" "$root/home/deploy/.ssh/authorized_keys"
    chroot "$root" chown -R deploy:deploy /home/deploy/.ssh
    chmod 0700 "$root/home/deploy/.ssh"
    chmod 0600 "$root/home/deploy/.ssh/authorized_keys"
    echo 'deploy ALL=(ALL) NOPASSWD: ALL' >"$root/etc/sudoers.d/deploy"
    chmod 0440 "$root/etc/sudoers.d/deploy"
    local address key
    address="$(cat "$state/address")"
    for key in "$root"/etc/ssh/ssh_host_*_key.pub; do
        echo "$address $(cut -d' ' -f1,2 "$key")"
    done >"$state/known_hosts.tmp"
    mv "$state/known_hosts.tmp" "$state/known_hosts"

    # Into the new root; the old one goes.
    cd "$root"
    mkdir -p .old-root
    pivot_root . .old-root
    cd /
    umount -l /.old-root
    rmdir /.old-root
    exec env -i container=remote-host TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /lib/systemd/systemd --system --show-status=no
}

# Runs "${@:2}" inside host $1: all its namespaces, its root, as root.
in_host() {
    local name=$1 pid
    shift
    pid="$(pid1 "$name")"
    [ -n "$pid" ] || die "host $name is not running"
    nsenter --target "$pid" --all env -i container=remote-host TERM="${TERM:-dumb}" HOME=/root \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# Kills host $1's processes and removes its cgroups, namespace, veth and state; nothing there is
# fine.
teardown() {
    local name=$1 state="$dir/$1" unshare cg
    unshare="$(cat "$state/unshare.pid" 2>/dev/null)" || true
    if [ -n "$unshare" ] && kill -0 "$unshare" 2>/dev/null; then
        # Killing PID 1 kills its PID namespace; unshare then exits.
        local pid
        pid="$(pgrep -P "$unshare" | head -1)" || true
        [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
        kill -KILL "$unshare" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$unshare" 2>/dev/null || break; sleep 0.05; done
    fi
    # Its cgroups (those start made, listed in cgroups), deepest first, once empty (killed
    # processes leave them in a moment).
    if [ -f "$state/cgroups" ]; then
        while read -r cg; do
            [ -d "$cg" ] || continue
            for _ in $(seq 100); do
                find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
                [ -d "$cg" ] || break
                sleep 0.05
            done
            [ ! -d "$cg" ] || die "cgroup $cg stays, holding: $(find "$cg" -name cgroup.procs -exec cat {} + | tr '\n' ' ')"
        done <"$state/cgroups"
    fi
    # The namespace (its end takes eth0, and so the veth pair, with it).
    if ip netns list | grep -qw "^$name"; then
        ip netns del "$name"
    fi
    ! ip link show "rh-$name" >/dev/null 2>&1 || ip link del "rh-$name"
    rm -rf "$state"
}

stop() {
    local name=$1
    mkdir -p "$dir"
    exec 9>"$dir/.lock"
    flock 9
    teardown "$name"
}

case "${1:-}" in
    keygen)
        [ -n "${2:-}" ] || die "usage: $0 keygen DIR"
        keygen "$2"
        ;;
    start)
        check_name "${2:-}"
        start "$2" "${3:-}"
        ;;
    boot) boot "$2" ;;
    address)
        check_name "${2:-}"
        cat "$dir/$2/address" 2>/dev/null || die "host $2 is not running"
        ;;
    known-hosts)
        check_name "${2:-}"
        [ -f "$dir/$2/known_hosts" ] || die "host $2 is not running"
        echo "$dir/$2/known_hosts"
        ;;
    ssh-command)
        check_name "${2:-}"
        key="${3:-$dir/$2/key/id_ed25519}"
        echo "ssh -i $key -o UserKnownHostsFile=$dir/$2/known_hosts -o IdentitiesOnly=yes deploy@$(cat "$dir/$2/address")"
        ;;
    exec)
        check_name "${2:-}"
        name=$2
        shift 2
        [ $# -gt 0 ] || die "usage: $0 exec NAME CMD..."
        in_host "$name" "$@"
        ;;
    stop)
        check_name "${2:-}"
        stop "$2"
        ;;
    verify)
        shift
        [ $# -gt 0 ] || die "usage: $0 verify UNIT-FILE..."
        systemd-analyze verify "$@"
        ;;
    *)
        echo "usage: $0 keygen DIR | start NAME [KEY.pub] | address NAME | known-hosts NAME | ssh-command NAME [KEY] | exec NAME CMD... | stop NAME | verify UNIT-FILE..." >&2
        exit 2
        ;;
esac
