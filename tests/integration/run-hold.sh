#!/bin/bash
# run-hold.sh: holding and releasing queued tasks (br-cancel --hold,
# br-release, br-run --hold) and draining the daemon (br-start --drain,
# --no-drain), as ordinary users on one CPU: a held task keeps its place
# but does not start while later ones do; held and draining survive a
# restart of the daemon; only the task's user holds or releases it, only
# the daemon's owner drains it.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_user brhold
br_user brhold2
uid=$(sd id -u brhold)
start() { br_daemon_start --cpus=1 --memory=1G --owner="$uid" --group=brhold2; }
start || exit 1
sd usermod -a -G brhold2 brhold2
row() { br_sql "select $1 from tasks where id=$2"; }
wait_state() {
    for _ in $(seq 300); do [ "$(row state "$1")" = "$2" ] && return 0; sleep 0.1; done
    return 1
}
me() { as_user brhold "$abs_top_builddir/$1" "${@:2}"; }
other() { as_user brhold2 "$abs_top_builddir/$1" "${@:2}"; }

a=$(me br-run -- sleep 300)
check "task $a runs" wait_state "$a" running
b=$(me br-run -- sleep 300)
c=$(me br-run -- sleep 300)

# 1. hold: only the owner; the held one keeps its place, later ones pass it
out=$(other br-cancel --hold "$b" 2>&1); rc=$?
check "another user's br-cancel --hold: exit 1, one line: $out" \
    eval '[ "$rc" = 1 ] && [ "$out" = "br-cancel: task $b belongs to another user" ]'
out=$(me br-cancel --hold "$b"); rc=$?
check "br-cancel --hold $b: exit 0, '$out'" eval '[ "$rc" = 0 ] && [ "$out" = "held task $b" ]'
check "the row says held" [ "$(row "state || held" "$b")" = queued1 ]
check "br-list shows it held" [ "$(me br-list | awk -v id="$b" '$1 == id { print $4 }')" = held ]
check "br-show says so" eval 'me br-show "$b" | grep -q "queued, held (br-release starts it again)"'
out=$(me br-stats --once)
check "br-stats: queued 1, held 1 ($out)" grep -q "running 1, queued 1, held 1 " <<< "$out"
out=$(me br-cancel --hold "$a" 2>&1); rc=$?
check "a running task cannot be held: exit 1: $out" \
    eval '[ "$rc" = 1 ] && printf "%s" "$out" | grep -q "task $a has started: only queued tasks are held"'
check "holding it again is no error" me br-cancel --hold "$b"
me br-cancel "$a" > /dev/null
check "$a cancelled, so $c (behind the held $b) starts" wait_state "$c" running
check "$b stays queued, held" [ "$(row "state || held" "$b")" = queued1 ]

# 2. held survives a restart of the daemon
br_daemon_stop
start || exit 1
check "after a restart $b is still held" [ "$(row "state || held" "$b")" = queued1 ]
me br-cancel "$c" > /dev/null
sleep 2
check "with the CPU free the held $b still does not start" [ "$(row state "$b")" = queued ]

# 3. release: only the owner; then it starts
out=$(other br-release "$b" 2>&1); rc=$?
check "another user's br-release: exit 1" eval '[ "$rc" = 1 ] && printf "%s" "$out" | grep -q "belongs to another user"'
out=$(me br-release "$b"); rc=$?
check "br-release $b: exit 0, '$out'" eval '[ "$rc" = 0 ] && [ "$out" = "released task $b" ]'
check "released, $b starts" wait_state "$b" running
out=$(me br-release "$b" 2>&1); rc=$?
check "releasing a running task: exit 1, why: $out" \
    eval '[ "$rc" = 1 ] && printf "%s" "$out" | grep -q "has started: only queued tasks are released"'
me br-cancel "$b" > /dev/null
check "$b cancelled" wait_state "$b" finished

# 4. br-run --hold, br-release --all-mine; cancelling a held task
d=$(me br-run --hold -- true)
check "br-run --hold: queued, held" eval 'sleep 1; [ "$(row "state || held" "$d")" = queued1 ]'
e=$(me br-run --hold -- sleep 300)
out=$(me br-cancel "$e"); rc=$?
check "a held task can be cancelled: $out" eval '[ "$rc" = 0 ] && wait_state "$e" finished && [ "$(row reason "$e")" = cancelled ]'
out=$(me br-release --all-mine); rc=$?
check "br-release --all-mine: '$out'" eval '[ "$rc" = 0 ] && [ "$out" = "released task $d" ]'
check "$d ran" eval 'wait_state "$d" finished && [ "$(row "reason || exit_code" "$d")" = exited0 ]'

# 5. drain: only the owner (and root); nothing new starts; kept across a restart
out=$(other br-start --drain 2>&1); rc=$?
check "another user's br-start --drain: exit 1: $out" \
    eval '[ "$rc" = 1 ] && [ "$out" = "br-start: only root and the user who started benchrunner may drain it" ]'
out=$(me br-start --drain); rc=$?
check "br-start --drain: exit 0: $out" eval '[ "$rc" = 0 ] && printf "%s" "$out" | grep -q "benchrunner is draining"'
f=$(me br-run -- true)
sleep 2
check "draining: $f does not start" [ "$(row state "$f")" = queued ]
check "br-stats says draining" eval 'me br-stats --once | grep -q "draining: nothing new starts"'
check "br-stats --json: draining true" eval 'me br-stats --once --json | grep -q "\"draining\":true"'
br_daemon_stop
start || exit 1
sleep 2
check "after a restart it still drains: $f waits" [ "$(row state "$f")" = queued ]
out=$(me br-start --no-drain); rc=$?
check "br-start --no-drain: exit 0: $out" eval '[ "$rc" = 0 ] && printf "%s" "$out" | grep -q "starts queued tasks again"'
check "then $f runs" eval 'wait_state "$f" finished && [ "$(row "reason || exit_code" "$f")" = exited0 ]'
check "the drain mark is gone from the state directory" sd test ! -e "$BR_STATE/draining"

finish
