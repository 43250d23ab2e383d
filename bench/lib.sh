# bench/lib.sh: what the benchmarks under bench/ share (sourced, not run):
# an optimized build without sanitizers (their figures must not be ASan's),
# one throw-away systemd container stopped however the bench ends, a daemon
# in it with private paths, and the statistics.  Timing happens inside the
# container, with its clock, so the figures and their baselines come from
# the same run on the same (noisy) machine.
#
# The caller sets PROG (its name, for messages) before sourcing.  Then:
#   $top, $build           the source tree and the build the bench runs
#   bench_start            boot the container (stopped on exit, INT, TERM)
#   bench_daemon ARG...    start benchrunnerd in it (--cpus=, --memory=, ...)
#   $BR_SOCK $BR_DB $BR_STATE  the daemon's private paths inside
#   bench_user             the plain user who submits ($BENCH_USER, $BENCH_UID)
#   in_ct CMD, as_bench CMD (CMD as the plain user, BENCHRUNNER_SOCKET set;
#                          the prefix alone: "${AS_BENCH[@]}")
#   br CMD ARG...          $build/CMD as the plain user
#   daemon_rss_kib         VmRSS of the daemon's main process
#   wait_drained [SEC]     until nothing is queued or running
#   sql QUERY              sqlite3 on the live database (root, inside)
#   median, pct P, maxof   over numbers on stdin, one a line
#   time_loop N CMD...     N runs of CMD inside, one duration (us) a line
# shellcheck shell=bash disable=SC2034  # (variables are the callers')
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$top/tools/common.sh"

# ---- the build ----
# $BR_BUILD_DIR if set (taken as it is), else the source tree itself when it
# is configured there (without sanitizers), else build-bench/ in the source
# tree: configured once with -O2 -g, then brought up to date by make.  Never
# build/, which tools/test builds with ASan and UBSan.
bench_build() {
    local log
    if [ -n "${BR_BUILD_DIR:-}" ]; then
        build=$(cd "$BR_BUILD_DIR" && pwd) || return 1
        [ -x "$build/benchrunnerd" ] || { echo "$PROG: no benchrunnerd in $build" >&2; return 1; }
        if grep -q -- '-fsanitize' "$build/Makefile" 2>/dev/null; then
            echo "$PROG: warning: $build is built with sanitizers; figures will be slow" >&2
        fi
        return 0
    fi
    if [ -f "$top/config.status" ]; then
        # configured in the source tree (./configure && make bench): a
        # second build beside it is refused by configure, so that one is
        # used, unless it has sanitizers
        build=$top
        if grep -q -- '-fsanitize' "$build/Makefile" 2>/dev/null; then
            echo "$PROG: $top is configured with sanitizers; configure it without them" \
                 "(or run make distclean there), or set BR_BUILD_DIR to an optimized build" >&2
            return 1
        fi
        log=$build/bench-build.log
        if ! make -C "$build" -j"$(nproc)" > "$log" 2>&1; then
            tail -n 40 "$log" >&2
            return 1
        fi
        return 0
    fi
    build=$top/build-bench
    log=$build/bench-build.log
    mkdir -p "$build" || return 1
    if [ ! -f "$build/config.status" ]; then
        echo "$PROG: building an optimized build in $build (log: $log)" >&2
        if ! { { [ -x "$top/configure" ] || (cd "$top" && autoreconf -fi); } \
                && (cd "$build" && "$top/configure" CFLAGS='-O2 -g'); } > "$log" 2>&1; then
            tail -n 40 "$log" >&2
            return 1
        fi
    fi
    if ! make -C "$build" -j"$(nproc)" > "$log.make" 2>&1; then
        tail -n 40 "$log.make" >&2
        return 1
    fi
}
bench_build || exit 1

# ---- the container ----
bench_start() {
    br_ct_start "bench-$$" "$build" || { echo "$PROG: the container did not boot" >&2; exit 1; }
}

BR_DIR=/var/lib/br-bench
BR_SOCK=$BR_DIR/sock
BR_DB=$BR_DIR/private/tasks.db
BR_STATE=$BR_DIR
BENCH_USER=brbench
BENCH_UID=

# the prefix that runs a command inside as the plain user (for time_loop)
AS_BENCH=(setpriv --reuid="$BENCH_USER" --regid="$BENCH_USER" --init-groups
          env BENCHRUNNER_SOCKET="$BR_SOCK")
as_bench() { in_ct "${AS_BENCH[@]}" "$@"; }
br() { local p=$1; shift; as_bench "$build/$p" "$@"; }

bench_user() {
    in_ct sh -c "id $BENCH_USER >/dev/null 2>&1 || useradd --create-home --user-group $BENCH_USER" \
        || { echo "$PROG: useradd failed" >&2; exit 1; }
    BENCH_UID=$(in_ct id -u "$BENCH_USER")
}

# bench_daemon ARG...: benchrunnerd as a system service in the container,
# paths private to this bench, the plain user as its owner.
bench_daemon() {
    [ -n "$BENCH_UID" ] || bench_user
    in_ct mkdir -p "$BR_DIR" || exit 1
    in_ct systemd-run --quiet --unit=br-bench -p Type=notify \
        "$build/benchrunnerd" --socket="$BR_SOCK" --db="$BR_DB" --state-dir="$BR_STATE" \
        --history="$BR_DIR/tasks.db" --owner="$BENCH_UID" "$@" \
        || { echo "$PROG: benchrunnerd did not start" >&2; exit 1; }
}

daemon_pid() { in_ct systemctl show -P MainPID br-bench; }
daemon_rss_kib() {
    local pid
    pid=$(daemon_pid)
    in_ct awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"
}

sql() { in_ct sqlite3 -batch -noheader "$BR_DB" "$@"; }

# wait_drained [SECONDS]: polls the counts until no task is queued or running.
wait_drained() {
    local limit=${1:-600} t0=$SECONDS s
    while :; do
        s=$(sql "SELECT count(*) FROM tasks WHERE state != 'finished'") || return 1
        [ "$s" = 0 ] && return 0
        [ $((SECONDS - t0)) -lt "$limit" ] || { echo "$PROG: $s tasks still not finished" >&2; return 1; }
        sleep 0.2
    done
}

# now_ns: the container's clock (the same as the host's, but read where the
# timed commands run).
now_ns() { in_ct date +%s%N; }

# time_loop N CMD...: runs CMD N times inside the container, one at a time,
# and prints each run's duration in microseconds; fails (after all runs)
# if one of them did.  "@I@" in an argument becomes the run's number (a unit
# or slice name of its own).
time_loop() {
    in_ct bash -c 'n=$1; shift; bad=0; for ((i = 0; i < n; i++)); do a=("${@//@I@/$i}")
        t0=$(date +%s%N); "${a[@]}" > /dev/null 2>&1 || bad=$((bad + 1)); t1=$(date +%s%N)
        echo $(( (t1 - t0) / 1000 )); done
        [ $bad = 0 ] || { echo "$bad of $n runs of $1 failed" >&2; exit 1; }' bash "$@"
}

# time_rr N CMD... [;; CMD...]...: N rounds, each running every CMD once,
# in turn (so that the machine's drift falls on all of them alike); prints
# "K MICROSECONDS" a line, K the CMD's index from 0.  Fails (after all
# rounds) if a run failed.  "@I@" as in time_loop.  A slice that a run
# named benchrunner-base*.slice (same_props) is stopped after the run,
# untimed: the daemon stops each task's slice too, and hundreds of them left
# behind slow systemd down for every later run.
time_rr() {
    in_ct bash -c 'n=$1; shift; cmds=(); cur=()
        for x in "$@" ";;"; do
            if [ "$x" = ";;" ]; then cmds+=("$(printf "%q " "${cur[@]}")"); cur=(); else cur+=("$x"); fi
        done
        bad=0
        for ((i = 0; i < n; i++)); do
            for k in "${!cmds[@]}"; do
                eval "a=(${cmds[k]})"; a=("${a[@]//@I@/$i}")
                t0=$(date +%s%N); "${a[@]}" > /dev/null 2>&1 || bad=$((bad + 1)); t1=$(date +%s%N)
                echo "$k $(( (t1 - t0) / 1000 ))"
                for x in "${a[@]}"; do case $x in --slice=benchrunner-base*)
                    systemctl stop "${x#--slice=}" > /dev/null 2>&1 ;; esac; done
            done
        done
        [ $bad = 0 ] || { echo "$bad runs failed" >&2; exit 1; }' bash "$@"
}
# col K: the durations of CMD K from time_rr output on stdin
col() { awk -v k="$1" '$1 == k { print $2 }'; }

# same_props CPU MEMORY: the systemd-run options that give a unit the
# properties benchrunner's task units have (src/daemon/unit.c,
# transient_*_set_properties), run as the plain user in a working directory
# and with an environment file of the same kind.  Not reproducible with
# systemd-run: RemainAfterExit=yes and AddRef=yes (--wait would never end;
# no such assignment), and on cgroup v1 MemoryMax= sits on the task's own
# slice, not the service; here it is on the service.  "@I@": a slice of
# each run's own, as each task has.
same_props() {
    local cpu=$1 mem=$2 d=$BR_DIR/baseline
    in_ct sh -c "mkdir -p $d/work $d/out && chown $BENCH_USER: $d/work &&
        printf 'BENCHRUNNER_TASK=0\nBENCHRUNNER_NAME=true\nBENCHRUNNER_CPUS=$cpu\nBENCHRUNNER_THREADS=1\nBENCHRUNNER_SUBMIT_DIR=/\n' > $d/env" \
        || return 1
    # shellcheck disable=SC2054  # the commas are the tmpfs's options
    SAME_PROPS=(--slice=benchrunner-base@I@.slice -p Type=exec -p User="$BENCH_UID" -p Group="$BENCH_UID"
        -p OOMScoreAdjust=-500 -p IgnoreSIGPIPE=no -p TemporaryFileSystem=/tmp:mode=1777,nosuid,nodev
        -p WorkingDirectory="$d/work" -p EnvironmentFile="$d/env" -p StandardInput=null
        -p StandardOutput=append:"$d/out/stdout" -p StandardError=append:"$d/out/stderr"
        -p CPUAffinity="$cpu" -p AllowedCPUs="$cpu" -p MemoryAccounting=yes -p CPUAccounting=yes
        -p MemoryMax="$mem" -p MemorySwapMax=0 -p TimeoutStopSec=10 -p KillMode=control-group
        -p SendSIGKILL=yes -p OOMPolicy=kill)
}

# batch_file PATH N ARGV-JSON: N lines {"argv":ARGV-JSON} in PATH inside
# (a file the plain user can read)
batch_file() {
    in_ct sh -c 'mkdir -p "${1%/*}" && awk -v n="$2" -v a="$3" "$4" > "$1"' sh "$@" \
        'BEGIN { for (i = 0; i < n; i++) printf "{\"argv\":%s}\n", a }'
}

# ---- statistics over numbers on stdin, one a line ----
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan";
    else print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# pct P: the nearest-rank P-th percentile
pct() { sort -n | awk -v p="$1" '{ a[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
    k = int(p / 100 * NR + 0.999999); if (k < 1) k = 1; if (k > NR) k = NR; print a[k] }'; }
maxof() { sort -n | tail -n 1; }
meanof() { awk '{ s += $1 } END { print NR ? s / NR : "nan" }'; }
