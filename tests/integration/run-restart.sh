#!/bin/bash
# run-restart.sh: nothing submitted is lost.  Queued tasks survive a stop and
# start of the daemon and run afterwards; a task that was running when the
# daemon was killed with SIGKILL is found again through its unit and recorded
# with its real result; one whose unit vanished meanwhile is "interrupted".
. "$(dirname "$0")/../lib.sh"
require_systemd
br_daemon_start --cpus=1 --memory=1G || exit 1
row() { br_sql "select $1 from tasks where id=$2"; }
restart() {
    sd systemctl reset-failed "$BR_UNIT" 2>/dev/null
    br_daemon_start --cpus=1 --memory=1G || exit 1
}
wait_finished() {   # wait_finished ID... : up to 30 s
    local id
    for id in "$@"; do
        for _ in $(seq 300); do [ "$(row state "$id")" = finished ] && break; sleep 0.1; done
    done
}

# a. stop with one running and three queued, start again
run=$(br br-run -- sh -c 'sleep 2; exit 5')
q1=$(br br-run -- true); q2=$(br br-run -- sh -c 'exit 2'); q3=$(br br-run -- true)
sleep 0.5
check "one running, three queued before the stop" \
    [ "$(br_sql "select sum(state='running')||','||sum(state='queued') from tasks")" = "1,3" ]
sd systemctl stop "$BR_UNIT"
check "after the stop the rows are still running/queued" \
    [ "$(br_sql "select count(*) from tasks where state != 'finished'")" = 4 ]
restart
wait_finished "$run" "$q1" "$q2" "$q3"
check "the running task kept its real result (exited 5)" [ "$(row "reason||exit_code" "$run")" = exited5 ]
check "the queued tasks all ran afterwards" \
    [ "$(row "reason||exit_code" "$q1")/$(row "reason||exit_code" "$q2")/$(row "reason||exit_code" "$q3")" = "exited0/exited2/exited0" ]

# b. SIGKILL while a task runs: found again through its unit
k=$(br br-run -- sh -c 'sleep 2; exit 7')
sleep 0.5
sd systemctl kill -s KILL "$BR_UNIT"
sleep 0.3
check "the row still says running after the kill" [ "$(row state "$k")" = running ]
restart
wait_finished "$k"
check "after SIGKILL the task ends with its real result (exited 7)" [ "$(row "state||reason||exit_code" "$k")" = finishedexited7 ]
check "with its measurements (wall >= 2 s)" [ "$(row "wall_us >= 1900000" "$k")" = 1 ]

# c. SIGKILL, and the unit is gone before the daemon comes back: interrupted
g=$(br br-run -- sleep 30)
sleep 0.5
sd systemctl kill -s KILL "$BR_UNIT"
sd systemctl stop "benchrunner-task-$g.service"
sd systemctl reset-failed "benchrunner-task-$g.service" 2>/dev/null
restart
wait_finished "$g"
check "a task whose unit vanished is recorded as interrupted, not stuck" \
    [ "$(row "state||','||reason" "$g")" = "finished,interrupted" ]
check "no task is left running or queued" [ "$(br_sql "select count(*) from tasks where state != 'finished'")" = 0 ]

finish
