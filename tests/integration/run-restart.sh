#!/bin/bash
# run-restart.sh: nothing submitted is lost.  Queued tasks survive a stop and
# start of the daemon and run afterwards; a task that was running when the
# daemon was killed with SIGKILL is found again through its unit and recorded
# with its real result; one whose unit vanished meanwhile is "interrupted";
# one whose start the killed daemon began but never recorded runs, in fresh
# directories.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_user brrs1
owner=$(sd id -u brrs1)
br_daemon_start --cpus=1 --memory=1G --owner="$owner" || exit 1
row() { br_sql "select $1 from tasks where id=$2"; }
restart() {
    sd systemctl reset-failed "$BR_UNIT" 2>/dev/null
    br_daemon_start --cpus=1 --memory=1G --owner="$owner" || exit 1
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

# d. a start that a killed daemon began and never recorded: it had made the
#    task's directories (taskdir_prepare) and died before its write, or
#    after it and before StartTransientUnit.  The task runs all the same, in
#    fresh directories (the ones left are not taken over: they are removed).
blk=$(br br-run -- sleep 300)
# (an ordinary user's tasks: the directories left are that user's to fill)
qa=$(as_user brrs1 "$abs_top_builddir/br-run" -- sh -c 'echo qa; ls')
qb=$(as_user brrs1 "$abs_top_builddir/br-run" -- sh -c 'echo qb; ls')
check "task $blk holds the CPU, $qa and $qb are queued" eventually \
    [ "$(row state "$blk")/$(row state "$qa")/$(row state "$qb")" = running/queued/queued ]
sd systemctl kill -s KILL "$BR_UNIT"
sd systemctl stop "benchrunner-task-$blk.service"
sd systemctl reset-failed "benchrunner-task-$blk.service" 2>/dev/null
for id in "$qa" "$qb"; do
    sd sh -c "mkdir -m 0700 $BR_STATE/work/$id && chown brrs1:brrs1 $BR_STATE/work/$id &&
        mkdir -m 0755 $BR_STATE/output/$id &&
        install -m 0600 /dev/null $BR_STATE/output/$id/stdout && install -m 0600 /dev/null $BR_STATE/output/$id/stderr &&
        setpriv --reuid=brrs1 --regid=brrs1 --init-groups touch $BR_STATE/work/$id/left-behind"
done
br_sql "update tasks set state = 'running', cpus = '1', output_dir = '$BR_STATE/output/$qb',
        started_at_us = 1 where id = $qb"
restart
wait_finished "$blk" "$qa" "$qb"
check "task $qa (queued, its directories there) ran: exited 0" [ "$(row "reason||exit_code" "$qa")" = exited0 ]
check "task $qb (running without a unit) ran again: exited 0" [ "$(row "reason||exit_code" "$qb")" = exited0 ]
check "both in fresh working directories, with their own output" \
    [ "$(sd cat "$BR_STATE/output/$qa/stdout")/$(sd cat "$BR_STATE/output/$qb/stdout")" = "qa/qb" ]
check "the directories left behind are removed" eventually \
    [ -z "$(sd find "$BR_STATE/work" -mindepth 1 -maxdepth 1)" ]

finish
