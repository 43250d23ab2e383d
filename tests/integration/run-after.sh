#!/bin/bash
# run-after.sh: dependencies (br-run --after, --after-ok), as ordinary users
# on one CPU: a task waits, queued and shown as waiting, until the tasks it
# names have finished; with --after-ok a dependency that did not exit 0 ends
# it (and those after it) as dependency-failed without running; unknown ids
# are refused; another user's task may be waited for; a waiting task can be
# cancelled; and a restart of the daemon keeps the wait and sees a
# dependency that finished while it was away.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_user braf1
br_user braf2
uid=$(sd id -u braf1)
start() { br_daemon_start --cpus=1 --memory=1G --owner="$uid" --group=braf2; }
start || exit 1
row() { br_sql "select $1 from tasks where id=$2"; }
wait_state() {
    for _ in $(seq 300); do [ "$(row state "$1")" = "$2" ] && return 0; sleep 0.1; done
    return 1
}
me() { as_user braf1 "$abs_top_builddir/$1" "${@:2}"; }
other() { as_user braf2 "$abs_top_builddir/$1" "${@:2}"; }
after() {   # after A B: B started after A finished
    [ "$(br_sql "select b.started_at_us >= a.finished_at_us from tasks a, tasks b where a.id=$1 and b.id=$2")" = 1 ]
}

# 1. --after waits, however the dependency ends
a=$(me br-run -- sh -c 'sleep 2; exit 4')
wait_state "$a" running
b=$(me br-run --after "$a" -- true)
c=$(other br-run --after "$a" -- true)
check "another user may wait for $a ($c)" [ -n "$c" ]
check "$b is queued" [ "$(row state "$b")" = queued ]
check "br-list shows it waiting" [ "$(me br-list | awk -v id="$b" '$1 == id { print $4 }')" = waiting ]
check "br-show says what it waits for" eval 'me br-show "$b" | grep -q "Waits for: *$a\$"'
out=$(me br-stats --once)
check "br-stats counts it: $out" grep -q ", waiting 2 " <<< "$out"
check "the row keeps the dependency" [ "$(row "after_ids||after_ok" "$b")" = "[$a]0" ]
wait_state "$c" finished
check "after $a exited 4, $b and $c ran" \
    eval '[ "$(row "reason||exit_code" "$b")/$(row "reason||exit_code" "$c")" = exited0/exited0 ] && after "$a" "$b" && after "$a" "$c"'
check "br-show then says it ran after" eval 'me br-show "$b" | grep -q "Runs after: *$a\$"'

# 2. --after-ok: a failed dependency ends the task without running, and those after it
f=$(me br-run -- sh -c 'sleep 1; exit 1')
g=$(me br-run --after-ok "$f" -- sh -c 'echo ran > /dev/null')
h=$(me br-run --after-ok "$g" -- true)
i=$(me br-run --after "$g" -- true)
wait_state "$i" finished
check "$g ended dependency-failed, never started" \
    [ "$(row "reason||coalesce(started_at_us,'-')||coalesce(unit,'-')" "$g")" = "dependency-failed--" ]
check "$h after it (--after-ok) too" [ "$(row reason "$h")" = dependency-failed ]
check "$i after it (--after) ran" [ "$(row "reason||exit_code" "$i")" = exited0 ]
out=$(me br-run -w --after-ok "$f" -- true 2>&1); rc=$?
check "submitted after a failed one: br-run -w exits 126: $rc, $out" \
    eval '[ "$rc" = 126 ] && printf "%s" "$out" | grep -q "dependency-failed"'
check "br-list --reason dependency-failed lists them" \
    [ "$(me br-list -r dependency-failed | awk 'NR > 1 { printf "%s ", $1 }')" = "$((i + 1)) $h $g " ]
check "br-show says why" eval 'me br-show "$g" | grep -q "not run: a task it waited for did not exit 0 (dependency-failed)"'
ok1=$(me br-run -- true)
k=$(me br-run -w --after-ok "$ok1" -- sh -c 'exit 0' 2>/dev/null); rc=$?
check "--after-ok with a dependency that exited 0: ran" eval '[ "$rc" = 0 ] && [ "$(row reason "$k")" = exited ]'

# 3. refused: unknown ids, too many, both options
out=$(me br-run --after 99999 -- true 2>&1); rc=$?
check "an unknown id: refused: $out" eval '[ "$rc" = 1 ] && printf "%s" "$out" | grep -q "after: no task 99999"'
out=$(me br-run --after "$a,$a" -- true 2>&1); rc=$?
check "an id twice: usage error: $out" eval '[ "$rc" = 2 ] && [ "$out" = "br-run: --after: task $a is named twice" ]'
out=$(me br-run --after "$a" --after-ok "$a" -- true 2>&1); rc=$?
check "--after and --after-ok: usage error" eval '[ "$rc" = 2 ]'
out=$(me br-run --after "$(seq -s, 1 65)" -- true 2>&1); rc=$?
check "65 dependencies: refused: $out" eval '[ "$rc" = 2 ] && printf "%s" "$out" | grep -q "at most 64"'

# 4. a waiting task can be cancelled, held and released
l=$(me br-run -- sleep 3)
w=$(me br-run --after "$l" -- true)
w2=$(me br-run --after "$l" -- true)
out=$(me br-cancel "$w"); rc=$?
check "br-cancel of a waiting task: $out" eval '[ "$rc" = 0 ] && [ "$(row "state||reason" "$w")" = finishedcancelled ]'
check "br-cancel --hold of a waiting task" eval 'me br-cancel --hold "$w2" > /dev/null && [ "$(row held "$w2")" = 1 ]'
wait_state "$l" finished
sleep 1
check "held, $w2 did not start when $l finished" [ "$(row state "$w2")" = queued ]
check "br-list shows it held" [ "$(me br-list | awk -v id="$w2" '$1 == id { print $4 }')" = held ]
me br-release "$w2" > /dev/null
wait_state "$w2" finished
check "released, it ran; the cancelled one stayed cancelled" \
    [ "$(row "reason||exit_code" "$w2")/$(row reason "$w")" = exited0/cancelled ]

# 5. a restart: the wait survives; a dependency that ended while the daemon was away is seen
l1=$(me br-run -- sleep 2)
l2=$(me br-run -- sleep 3)
w1=$(me br-run --after "$l1" -- true)
w2=$(me br-run --after "$l2" -- true)
wait_state "$l1" running
br_daemon_stop
sleep 3
check "while the daemon is away, $w1 and $w2 stay queued" [ "$(row state "$w1")/$(row state "$w2")" = queued/queued ]
sd systemctl reset-failed "$BR_UNIT" 2>/dev/null
start || exit 1
wait_state "$l2" running
check "after the restart, $l1 is recorded finished, $w2 still waits for $l2" \
    eval '[ "$(row "reason||exit_code" "$l1")" = exited0 ] && [ "$(row state "$w2")" = queued ] &&
          me br-show "$w2" | grep -q "Waits for: *$l2"'
wait_state "$w2" finished
check "$w1 ran after $l1, $w2 after $l2" \
    eval '[ "$(row "reason||exit_code" "$w1")/$(row "reason||exit_code" "$w2")" = exited0/exited0 ] && after "$l1" "$w1" && after "$l2" "$w2"'
finish
