#!/bin/bash
# reboot.sh: what was queued before a reboot runs after it, and what was
# running is recorded "interrupted" with its partial times, its cleanup
# command runs after the boot (BENCHRUNNER_STATUS=interrupted, in the same
# working directory), and a task that asked for it (br-run --requeue), or
# every one under benchrunnerd --requeue-interrupted, is queued again as a
# new attempt linked to the first (attempt, retry_of).  The state directory
# is a host directory bound into three containers booted one after another
# (the reboots).  Container tier only: the VM cannot reboot into itself.
. "$(dirname "$0")/../lib.sh"
[ "$BR_TIER" = v2 ] && skip "reboots are tested in the container tier"
[ "${BR_TEST_SKIP_INTEGRATION:-0}" = 1 ] && skip "BR_TEST_SKIP_INTEGRATION=1"
[ "$(id -u)" = 0 ] || no_systemd "booting a container needs root"

state=/var/lib/benchrunner-tests/reboot.$$
mkdir -p -m 0755 /var/lib/benchrunner-tests "$state" || exit 1
binds="$abs_top_builddir $state"
[ "$abs_top_srcdir" = "$abs_top_builddir" ] || binds="$binds $abs_top_srcdir"
ct=
ct_down() { [ -z "$ct" ] || "$abs_top_srcdir/tests/ct.sh" stop "$ct" > /dev/null 2>&1; ct=; }
trap 'ct_down; rm -rf "$state"; t_cleanup' EXIT
boot() {   # boot N [benchrunnerd options]: the Nth boot, with a daemon on $state
    local n=$1; shift
    ct_down
    echo "$n" > "$state/boot"
    ct=reboot-$n-$$
    BR_CT_BINDS="$binds" "$abs_top_srcdir/tests/ct.sh" start "$ct" > /dev/null 2> "$T_TMP/ct.err" ||
        no_systemd "container did not boot: $(tail -n 3 "$T_TMP/ct.err" | tr '\n' ' ')"
    inct systemd-run --quiet --unit=br-reboot -p Type=notify -p KillMode=mixed --setenv=ASAN_OPTIONS=detect_leaks=0 \
        "$abs_top_builddir/benchrunnerd" --socket="$state/sock" --db="$state/private/tasks.db" --state-dir="$state" \
        --cpus=0-1 --memory=1G "$@" || { echo "FAIL: the daemon did not start"; exit 1; }
}
inct() { "$abs_top_srcdir/tests/ct.sh" exec "$ct" "$@"; }
run() { inct env BENCHRUNNER_SOCKET="$state/sock" "$abs_top_builddir/br-run" "$@"; }
sql() { inct sqlite3 -batch -noheader "$state/private/tasks.db" "$@"; }
row() { sql "select $1 from tasks where id = $2"; }
wait_state() {   # wait_state ID STATE: up to 30 s
    for _ in $(seq 300); do [ "$(row state "$2")" = "$1" ] && return 0; sleep 0.1; done
    return 1
}
wait_done() {    # every task finished, up to 30 s
    for _ in $(seq 300); do [ "$(sql "select count(*) from tasks where state != 'finished'")" = 0 ] && return 0
        sleep 0.1; done
    return 1
}
# the main command: in the boot it was submitted in, leave a mark in the
# working directory and run for a minute; in a later boot (a new attempt),
# exit 4 at once
main="if [ \"\$(cat $state/boot)\" != \"\$1\" ]; then exit 4; fi; echo mark > here; sleep 60"
cleanup="echo \"\$BENCHRUNNER_STATUS\" > $state/status-\$BENCHRUNNER_TASK; cat here > $state/mark-\$BENCHRUNNER_TASK"

# ---- boot 1: two tasks running (one asks to be queued again), one queued
boot 1
v1=$(run -n victim --requeue -c "sh -c '$cleanup'" -- sh -c "$main" sh 1)
v2=$(run -n victim2 -c "sh -c '$cleanup'" -- sh -c "$main" sh 1)
q=$(run -n queued -j 2 -- sh -c 'exit 3')
wait_state running "$v1" && wait_state running "$v2"
sleep 1
check "before the reboot: two running, one queued" \
    [ "$(sql "select group_concat(state, ',') from (select state from tasks order by id)")" = "running,running,queued" ]

# ---- boot 2
boot 2
wait_done
sql "select id, name, state, reason, exit_code, attempt, retry_of from tasks order by id" | sed 's/^/  /'
check "the running task is recorded interrupted" [ "$(row "state||','||reason" "$v1")" = "finished,interrupted" ]
check "with its partial times (started before the reboot, finished after)" \
    [ "$(row "started_at_us > 0 and finished_at_us > started_at_us" "$v1")" = 1 ]
check "its cleanup ran after the boot and saw BENCHRUNNER_STATUS=interrupted" \
    [ "$(cat "$state/status-$v1" 2>/dev/null)" = interrupted ]
check "in the same working directory (the mark the main command left)" [ "$(cat "$state/mark-$v1" 2>/dev/null)" = mark ]
check "and is recorded" [ "$(row "cleanup_reason||cleanup_exit_code" "$v1")" = exited0 ]
check "the task queued before the reboot ran after it (exited 3)" [ "$(row "reason||exit_code" "$q")" = exited3 ]
a=$(sql "select id from tasks where retry_of = $v1")
check "--requeue: a new attempt of the interrupted task was queued ($a)" [ -n "$a" ]
check "attempt 2 of the first, and it ran (exited 4)" \
    [ -n "$a" ] && [ "$(row "attempt||','||retry_of||','||reason||exit_code" "$a")" = "2,$v1,exited4" ]
check "the task that did not ask is interrupted, not queued again" \
    [ "$(row reason "$v2")/$(sql "select count(*) from tasks where retry_of = $v2")" = interrupted/0 ]
check "its cleanup ran too" [ "$(cat "$state/status-$v2" 2>/dev/null)" = interrupted ]

# ---- boot 3: --requeue-interrupted queues every interrupted task again
v3=$(run -n victim3 -- sh -c "$main" sh 2)
wait_state running "$v3"
sleep 1
boot 3 --requeue-interrupted
wait_done
b=$(sql "select id from tasks where retry_of = $v3")
check "--requeue-interrupted: the interrupted task got attempt 2 ($b)" \
    [ -n "$b" ] && [ "$(row "attempt||','||reason||exit_code" "$b")" = "2,exited4" ]
check "no unit is left running" [ -z "$(inct systemctl list-units --plain --no-legend 'benchrunner-task*' | grep running)" ]
finish
