#!/bin/bash
# system-cpus.sh: the rest of the system is kept off the CPUs that run
# tasks.  AllowedCPUs= of system.slice, user.slice and init.scope excludes a
# running task's CPUs, and is restored when it ends, when the daemon stops,
# and by the next start after the daemon was killed.  On cgroup v2 (the VM
# tier) the restriction is shown to take effect on processes in
# system.slice; on v1 systemd records it without applying it, and the daemon
# says so once in its log.
. "$(dirname "$0")/../lib.sh"
require_systemd
ncpu=$(sd nproc --all)
[ "$ncpu" -ge 2 ] || skip "needs 2 CPUs, the machine has $ncpu"
last=$((ncpu - 1))
rest=0; [ "$last" -gt 1 ] && rest=0-$((last - 1))
all=0-$last
units="system.slice user.slice init.scope"
br_daemon_start --cpus="$last" --memory=512M || exit 1
row() { br_sql "select $1 from tasks where id=$2"; }
allowed() { sd systemctl show -P AllowedCPUs "$1"; }
all_allowed() {   # all_allowed EXPECTED: every system unit has AllowedCPUs=EXPECTED
    local u; for u in $units; do [ "$(allowed "$u")" = "$1" ] || { echo "  $u: '$(allowed "$u")'"; return 1; }; done
}
wait_state() {  # wait_state ID STATE
    for _ in $(seq 300); do [ "$(row state "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1
}
effective() { sd cat /sys/fs/cgroup/system.slice/cpuset.cpus.effective; }
effective_is() { [ "$(effective)" = "$1" ]; }
# lifted: systemd turns the cpuset controller of system.slice off again once
# no AllowedCPUs= is set, so its cpuset files vanish (or show every CPU)
unrestricted() { sd test ! -e /sys/fs/cgroup/system.slice/cpuset.cpus.effective || effective_is "$all"; }
# a new process in system.slice: on v2 the test itself runs there
system_process_cpus() { sd sh -c 'sed -n "s/^Cpus_allowed_list:[[:space:]]*//p" /proc/self/status'; }
process_cpus_are() { [ "$(system_process_cpus)" = "$1" ]; }

check "idle: the system slices may use every CPU" eventually all_allowed ""

# long enough for the checks under emulation (tcg: a systemctl call can take
# a second), then cancelled: a 4 s task used to end before the second look
id=$(br br-run -- sleep 120)
wait_state "$id" running
cpus=$(row cpus "$id")
check "task $id runs on CPU $cpus" [ "$cpus" = "$last" ]
check "while it runs: AllowedCPUs=$rest on $units" eventually all_allowed "$rest"
if [ "$BR_TIER" = v2 ]; then
    check "v2: system.slice cpuset.cpus.effective is $rest" eventually effective_is "$rest"
    check "v2: a process in system.slice may not run on CPU $last" eventually process_cpus_are "$rest"
else
    check "v1: the daemon said once that AllowedCPUs= has no effect here" \
        [ "$(br_daemon_log | grep -c 'AllowedCPUs= is not applied')" = 1 ]
fi
br br-cancel "$id" > /dev/null
wait_state "$id" finished
sleep 0.3
check "after it ended: every CPU again" eventually all_allowed ""
if [ "$BR_TIER" = v2 ]; then
    check "v2: system.slice has no cpuset restriction again" eventually unrestricted
    check "v2: a process in system.slice may run on every CPU again" eventually process_cpus_are "$all"
fi

# stopping the daemon while a task runs gives the system every CPU back
# (the task outlives a stop and start of the daemon, also under emulation)
id=$(br br-run -- sleep 120)   # cancelled below
wait_state "$id" running
check "restricted again while task $id runs" eventually all_allowed "$rest"
sd systemctl stop "$BR_UNIT"
check "after the daemon stopped: every CPU again" eventually all_allowed ""
br_daemon_start --cpus="$last" --memory=512M || exit 1
check "started again with task $id still running: restricted again" eventually all_allowed "$rest"
echo "{\"v\":4,\"op\":\"cancel\",\"ids\":[$id]}" | sd "$abs_top_builddir/tests/helpers/br-send" "$BR_SOCK" > /dev/null
wait_state "$id" finished
sleep 0.3
check "and restored when it ends (cancelled: $(row reason "$id"))" eventually all_allowed ""

# SIGKILL leaves the restriction behind; the next start repairs it
id=$(br br-run -- sleep 8)
wait_state "$id" running
# the daemon's calls to systemd are out before it dies (under emulation a
# kill can come before its bus is flushed)
check "restricted while task $id runs" eventually all_allowed "$rest"
sd systemctl kill -s KILL "$BR_UNIT"
sleep 1.5
check "after SIGKILL the stale restriction is still there" eventually all_allowed "$rest"
sd systemctl reset-failed "$BR_UNIT" 2>/dev/null
br_daemon_start --cpus="$last" --memory=512M || exit 1
wait_state "$id" finished
sleep 0.3
check "the next start repaired it: every CPU again" eventually all_allowed ""
check "task $id was found again with its real result" [ "$(row "reason||exit_code" "$id")" = exited0 ]
if [ "$BR_TIER" = v2 ]; then
    check "v2: no stale restriction in the cgroup either" eventually unrestricted
fi

finish
