#!/bin/bash
# run-limits.sh: the limits a task runs under: a task past its memory limit
# ends as "oom" (on cgroup v1 too) while a task beside it is unharmed; a time
# limit ends a task as "time-limit" on time; the task's processes are pinned
# to the CPUs recorded in its row, inside the CPUs given to benchrunner.
. "$(dirname "$0")/../lib.sh"
require_systemd
ncpu=$(sd nproc --all)
[ "$ncpu" -ge 2 ] || skip "needs 2 CPUs, the machine has $ncpu"
given=1-$((ncpu - 1))
br_daemon_start --cpus="$given" --memory=1G || exit 1
row() { br_sql "select $1 from tasks where id=$2"; }

# 3. OOM beside a healthy task.  `tail /dev/zero` keeps growing one endless
# line; the neighbour sleeps, then checks it is still alive and exits 0.
if [ "$ncpu" -ge 3 ]; then
    br br-run -w -m 64M -n neighbour -- sh -c 'sleep 3; echo alive' > "$T_TMP/n.id" 2>/dev/null &
    npid=$!
    sleep 0.5
fi
hog=$(br br-run -w -m 64M -n hog -- /usr/bin/tail /dev/zero 2> "$T_TMP/hog.err"); rc=$?
cat "$T_TMP/hog.err"
check "the memory hog ends with reason oom" [ "$(row reason "$hog")" = oom ]
check "br-run -w exits 137 for oom" [ "$rc" = 137 ]
check "its peak memory is near the 64M limit ($(row peak_memory_bytes "$hog"))" \
    [ "$(row "peak_memory_bytes between 48*1048576 and 80*1048576" "$hog")" = 1 ]
if [ -n "${npid:-}" ]; then
    wait "$npid"; nrc=$?
    nid=$(cat "$T_TMP/n.id")
    check "the neighbour ran at the same time" \
        [ "$(br_sql "select count(*) from tasks a, tasks b where a.id=$hog and b.id=$nid and a.started_at_us < b.finished_at_us and b.started_at_us < a.finished_at_us")" = 1 ]
    check "the neighbour is unharmed: exited 0" eval '[ "$nrc" = 0 ] && [ "$(row "reason||exit_code" "$nid")" = exited0 ]'
else
    # two CPUs: one is the system's, so the neighbour runs after the hog
    nid=$(br br-run -w -m 64M -- sh -c 'echo alive' 2>/dev/null)
    check "a task after the OOM is unharmed: exited 0" [ "$(row "reason||exit_code" "$nid")" = exited0 ]
fi

# 4. The time limit: -t 2s -- sleep 30 ends as time-limit after 2 s.  Margin:
# up to 1.5 s natively for stop and bookkeeping, 4 s under the VM's emulation.
hi=3500000; [ "$BR_TIER" = v2 ] && hi=6000000
t0=$(date +%s%N)
tl=$(br br-run -w -t 2s -- sleep 30 2>/dev/null); rc=$?
t1=$(date +%s%N)
check "sleep 30 with -t 2s ends with reason time-limit" [ "$(row reason "$tl")" = time-limit ]
check "br-run -w exits 124 for the time limit" [ "$rc" = 124 ]
check "wall time 2 s plus margin ($(row wall_us "$tl") us, limit $hi)" \
    [ "$(row "wall_us between 1900000 and $hi" "$tl")" = 1 ]
check "br-run -w returned within $((hi / 1000000 + 1)) s ($(( (t1 - t0) / 1000000 )) ms)" \
    [ $(( (t1 - t0) / 1000 )) -le $((hi + 1000000)) ]

# 9. Pinned to the CPUs of the row, within the CPUs given to benchrunner.
id=$(br br-run -w -- sh -c 'grep Cpus_allowed_list /proc/self/status' 2>/dev/null)
cpus=$(row cpus "$id")
got=$(sd sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$BR_STATE/output/$id/stdout")
check "process pinned to its recorded CPUs ($got = $cpus)" eval '[ -n "$cpus" ] && [ "$got" = "$cpus" ]'
inside() {   # every CPU of list $1 lies in list $2
    local c; for c in $(echo "$1" | tr ',' ' '); do
        case $c in *-*) seq "${c%-*}" "${c#*-}";; *) echo "$c";; esac; done > "$T_TMP/a"
    for c in $(echo "$2" | tr ',' ' '); do
        case $c in *-*) seq "${c%-*}" "${c#*-}";; *) echo "$c";; esac; done > "$T_TMP/b"
    [ -z "$(sort "$T_TMP/a" | comm -23 - <(sort "$T_TMP/b"))" ]
}
check "its CPUs $cpus lie within those given ($given)" inside "$cpus" "$given"
if [ "$BR_TIER" = v2 ]; then
    id=$(br br-run -w -- sh -c 'cat /sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/cpuset.cpus.effective' 2>/dev/null)
    check "cgroup v2: cpuset.cpus.effective is the row's CPUs" \
        [ "$(sd cat "$BR_STATE/output/$id/stdout")" = "$(row cpus "$id")" ]
fi

finish
