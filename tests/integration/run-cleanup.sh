#!/bin/bash
# run-cleanup.sh: the cleanup command runs after a normal exit, an exit code,
# an OOM kill and a time limit, with BENCHRUNNER_CLEANUP=1, a BENCHRUNNER_STATUS
# saying what happened and the files the main command left in the working
# directory; its outcome is stored and the directory is gone afterwards.  And
# /tmp is private: invisible to other tasks and the host, gone afterwards.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_daemon_start --cpus=0-1 --memory=1G || exit 1
row() { br_sql "select $1 from tasks where id=$2"; }

# The cleanup prints what it sees: the flag, the status, the main command's file.
clean='sh -c "echo cleanup=$BENCHRUNNER_CLEANUP status=$BENCHRUNNER_STATUS file=$(cat left-behind); pwd > where"'
run_case() {   # run_case NAME EXPECTED_STATUS br-run-args...
    local name=$1 status=$2; shift 2
    local id
    id=$(br br-run -w -c "$clean" "$@" 2>/dev/null)
    echo "  $name: task $id: $(sd cat "$BR_STATE/output/$id/stdout" | tr '\n' ' ')|$(sd cat "$BR_STATE/output/$id/cleanup-stdout" | tr '\n' ' ')"
    check "$name: cleanup ran with BENCHRUNNER_CLEANUP=1 and status '$status'" \
        sd grep -qx "cleanup=1 status=$status file=$name" "$BR_STATE/output/$id/cleanup-stdout"
    check "$name: its output apart from the main command's" \
        fails sd grep -q "^cleanup=" "$BR_STATE/output/$id/stdout"
    check "$name: cleanup outcome stored (exited 0)" [ "$(row "cleanup_reason||cleanup_exit_code" "$id")" = exited0 ]
    check "$name: cleanup measurements stored" \
        [ "$(row "cleanup_wall_us > 0 and cleanup_started_at_us >= finished_at_us" "$id")" = 1 ]
    check "$name: working directory gone" sd test ! -e "$BR_STATE/work/$id"
}
run_case exit0 "exited 0" -- sh -c 'echo exit0 > left-behind; echo main'
run_case exit3 "exited 3" -- sh -c 'echo exit3 > left-behind; exit 3'
run_case oom oom -m 64M -- sh -c 'echo oom > left-behind; exec tail /dev/zero'
run_case timeout time-limit -t 1s -- sh -c 'echo timeout > left-behind; exec sleep 30'

# cancel: a task that catches SIGTERM and exits 0 is still "cancelled", and
# its cleanup runs with BENCHRUNNER_STATUS=cancelled
id=$(br br-run -c "$clean" -- sh -c 'echo cancel > left-behind; trap "exit 0" TERM; sleep 30 & wait')
for _ in $(seq 100); do [ "$(row state "$id")" = running ] && break; sleep 0.1; done
sleep 0.3
echo "{\"v\":4,\"op\":\"cancel\",\"ids\":[$id]}" | sd "$abs_top_builddir/tests/helpers/br-send" "$BR_SOCK" > /dev/null
for _ in $(seq 150); do [ "$(row state "$id")" = finished ] && break; sleep 0.1; done
check "cancel: reason cancelled although it exited 0 on SIGTERM" [ "$(row "reason||','||exit_code" "$id")" = "cancelled,0" ]
check "cancel: the cleanup still ran, with status 'cancelled'" \
    sd grep -qx "cleanup=1 status=cancelled file=cancel" "$BR_STATE/output/$id/cleanup-stdout"

# 6. /tmp is private to each task and gone after it.
a=$(br br-run -w -- sh -c 'echo secret > /tmp/br-private-marker; ls /tmp' 2>/dev/null)
b=$(br br-run -w -- sh -c 'ls -A /tmp; test ! -e /tmp/br-private-marker' 2>/dev/null); rc=$?
check "task A saw its own file in /tmp" sd grep -qx br-private-marker "$BR_STATE/output/$a/stdout"
check "task B does not see task A's /tmp file" [ "$rc" = 0 ]
check "the host (container) does not see it either" sd test ! -e /tmp/br-private-marker
check "nor does the host outside the container" test ! -e /tmp/br-private-marker
id=$(br br-run -w -- sh -c 'stat -fc %T /tmp' 2>/dev/null)
check "/tmp of a task is a tmpfs (counts toward its memory)" sd grep -qx tmpfs "$BR_STATE/output/$id/stdout"

finish
