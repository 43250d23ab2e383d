#!/bin/bash
# ct.sh: boots a real systemd as PID 1 of a throw-away systemd-nspawn
# container whose root is an overlay of the host's own file system (writes go
# to a tmpfs and vanish), for the integration tests.  Made for hosts whose PID 1
# is not systemd and whose cgroups are the v1 hybrid.
#
#   ct.sh start NAME     boot; print the host PID of the container's systemd
#   ct.sh exec NAME CMD  run CMD in all of the container's namespaces
#   ct.sh stop NAME      power off, remove the container's cgroups and state
#   ct.sh setup          install what booting needs (apt-get), nothing else
#
# Environment:
#   BR_CT_BINDS="PATH ..."   bound read-write at the same path inside (the
#                            container has its own /tmp, so a build tree under
#                            /tmp must be listed here)
#   BR_CT_STATE=/run/br-ct   per-container state (pid files, console log)
#   BR_CT_SYSTEMD=/lib/systemd/systemd   the systemd binary to boot
#   BR_CT_BOOT_TIMEOUT=60    seconds
#   BR_TEST_NO_APT=1         never call apt-get
#
# Why each step (measured on these machines):
# - systemd-nspawn refuses --directory=/, and --volatile gives an empty /etc:
#   so an overlay with the host's / as its lower layer, in a private mount
#   namespace, so the host never sees the mounts.
# - nspawn mounts the v1 controllers read-only; systemd probes them once at
#   start, so PID 1 is a small shell that remounts them read-write first.
# - The launcher moves into its own child cgroup in every hierarchy (a new v1
#   cpuset group starts empty: copy cpus and mems), so the container's systemd
#   owns that subtree and nothing else; the groups are removed on stop.
set -euo pipefail

SELF=$(readlink -f "$0")
STATE_ROOT=${BR_CT_STATE:-/run/br-ct}
SYSTEMD_BIN=${BR_CT_SYSTEMD:-/lib/systemd/systemd}
BOOT_TIMEOUT=${BR_CT_BOOT_TIMEOUT:-60}

die() { echo "ct.sh: $*" >&2; exit 1; }

setup() {
    local missing=()
    command -v systemd-nspawn >/dev/null 2>&1 || missing+=(systemd-container)
    command -v dbus-daemon >/dev/null 2>&1 || missing+=(dbus)
    [ -x /lib/systemd/systemd ] || missing+=(systemd)
    command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)
    [ ${#missing[@]} -eq 0 ] && return 0
    [ -z "${BR_TEST_NO_APT:-}" ] || die "missing packages: ${missing[*]} (BR_TEST_NO_APT is set)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Child cgroups below the ones this shell is in, one per hierarchy.
make_cgroups() {
    local name=$1 list=$2 ctl rel mnt dir
    : > "$list"
    [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && return 0
    while IFS=: read -r _ ctl rel; do
        case $ctl in
            "") mnt=/sys/fs/cgroup/unified ;;
            name=systemd) mnt=/sys/fs/cgroup/systemd ;;
            name=*) continue ;;
            *) mnt=/sys/fs/cgroup/${ctl%%,*} ;;
        esac
        mountpoint -q "$mnt" 2>/dev/null || continue
        dir=$mnt${rel%/}/br-ct-$name
        mkdir -p "$dir"
        if [ -f "$dir/cpuset.cpus" ]; then
            cat "${dir%/*}/cpuset.cpus" > "$dir/cpuset.cpus"
            cat "${dir%/*}/cpuset.mems" > "$dir/cpuset.mems"
        fi
        echo "$dir" >> "$list"
    done < /proc/self/cgroup
}

remove_cgroups() {
    local list=$1 dir left
    [ -f "$list" ] || return 0
    for _ in $(seq 100); do
        left=0
        while read -r dir; do
            [ -d "$dir" ] || continue
            find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
            [ -d "$dir" ] && left=1
        done < "$list"
        [ $left = 0 ] && return 0
        sleep 0.1
    done
    echo "ct.sh: warning: cgroups left behind, see $list" >&2
    return 1
}

# Runs inside `unshare --mount`: builds the root and becomes nspawn.
launch() {
    local name=$1 dir=$STATE_ROOT/$1 root b
    mount -t tmpfs -o mode=0755 br-ct "$dir/ovl"
    mkdir "$dir/ovl/upper" "$dir/ovl/work" "$dir/ovl/root"
    root=$dir/ovl/root
    mount -t overlay br-ct-root -o "lowerdir=/,upperdir=$dir/ovl/upper,workdir=$dir/ovl/work" "$root"
    # nspawn keeps propagation state here; /run is on disk on these hosts
    mkdir -p /run/systemd/nspawn
    mount -t tmpfs -o mode=0700 tmpfs /run/systemd/nspawn
    # Boot just sysinit, journald and D-Bus, not the host's enabled services.
    cat > "$root/etc/systemd/system/br-test.target" <<'EOF'
[Unit]
Description=benchrunner integration tests
Requires=sysinit.target dbus.socket
Wants=dbus.service
After=sysinit.target dbus.socket dbus.service
AllowIsolate=yes
EOF
    local args=(--quiet --directory="$root" --machine="br-$name" --register=no --keep-unit
                --link-journal=no --console=read-only --kill-signal=SIGRTMIN+3)
    for b in ${BR_CT_BINDS:-}; do args+=(--bind="$b"); done
    # shellcheck disable=SC2016
    exec systemd-nspawn "${args[@]}" /bin/sh -c '
        for c in /sys/fs/cgroup/*; do
            [ -L "$c" ] || ! mountpoint -q "$c" || mount -o remount,bind,rw "$c"
        done
        exec "$0" "$@"' "$SYSTEMD_BIN" systemd.unit=br-test.target
}

start() {
    local name=$1 dir=$STATE_ROOT/$1 nsp leader s t0
    t0=$SECONDS
    [ "$(id -u)" = 0 ] || die "needs root"
    if [ -f "$dir/nspawn.pid" ] && kill -0 "$(cat "$dir/nspawn.pid")" 2>/dev/null; then
        die "container $name is already running"
    fi
    [ -x "$SYSTEMD_BIN" ] || die "no systemd at $SYSTEMD_BIN"
    setup
    rm -rf "$dir"
    mkdir -p "$dir/ovl"
    make_cgroups "$name" "$dir/cgroups"
    (
        while read -r d; do echo "$BASHPID" > "$d/cgroup.procs"; done < "$dir/cgroups"
        exec unshare --mount --propagation private "$SELF" _launch "$name"
    ) < /dev/null > "$dir/console.log" 2>&1 &
    nsp=$!
    echo "$nsp" > "$dir/nspawn.pid"
    leader=
    while [ -z "$leader" ]; do
        if ! kill -0 "$nsp" 2>/dev/null; then
            cat "$dir/console.log" >&2
            stop "$name"
            die "nspawn exited during boot"
        fi
        leader=$(pgrep -P "$nsp" -x systemd || true)
        if [ $((SECONDS - t0)) -ge "$BOOT_TIMEOUT" ]; then stop "$name"; die "boot timed out"; fi
        [ -n "$leader" ] || sleep 0.05
    done
    echo "$leader" > "$dir/leader.pid"
    while :; do
        s=$(nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null || true)
        case $s in running|degraded) break ;; esac
        if ! kill -0 "$nsp" 2>/dev/null; then
            cat "$dir/console.log" >&2; stop "$name"; die "container died during boot"
        fi
        if [ $((SECONDS - t0)) -ge "$BOOT_TIMEOUT" ]; then stop "$name"; die "boot timed out (state: $s)"; fi
        sleep 0.05
    done
    echo "$leader"
}

leader_of() {
    local dir=$STATE_ROOT/$1
    [ -f "$dir/leader.pid" ] && kill -0 "$(cat "$dir/leader.pid")" 2>/dev/null \
        || die "container $1 is not running"
    cat "$dir/leader.pid"
}

stop() {
    local name=$1 dir=$STATE_ROOT/$1 nsp leader rc=0
    [ -d "$dir" ] || return 0
    nsp=$(cat "$dir/nspawn.pid" 2>/dev/null || true)
    leader=$(cat "$dir/leader.pid" 2>/dev/null || true)
    if [ -n "$nsp" ] && kill -0 "$nsp" 2>/dev/null; then
        kill -TERM "$nsp"      # nspawn turns this into SIGRTMIN+3: a clean poweroff
        for _ in $(seq 200); do kill -0 "$nsp" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$nsp" 2>/dev/null; then
            # PID 1 of the container: killing it ends its whole PID namespace
            [ -n "$leader" ] && kill -KILL "$leader" 2>/dev/null || true
            kill -KILL "$nsp" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$nsp" 2>/dev/null || break; sleep 0.1; done
        fi
    fi
    remove_cgroups "$dir/cgroups" || rc=1
    # the overlay lived in nspawn's private mount namespace and is gone with it
    rm -rf "$dir"
    return $rc
}

cmd=${1:-}
shift || true
case $cmd in
    setup) setup ;;
    start) [ $# -eq 1 ] || die "usage: ct.sh start NAME"; start "$1" ;;
    _launch) launch "$1" ;;
    exec) [ $# -ge 2 ] || die "usage: ct.sh exec NAME CMD..."
          L=$(leader_of "$1"); shift
          exec env -u DBUS_SYSTEM_BUS_ADDRESS nsenter -t "$L" -a "$@" ;;
    leader) leader_of "$1" ;;
    stop) [ $# -eq 1 ] || die "usage: ct.sh stop NAME"; stop "$1" ;;
    *) sed -n '2,/^set -e/{/^#/p}' "$SELF" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
