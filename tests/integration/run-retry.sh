#!/bin/bash
# run-retry.sh: a finished task submitted again (br-retry) with more memory
# or time is a new row, the next attempt of the first, and only its owner may
# retry it; a task that runs out of memory with a --retry-oom ladder is
# queued again with each size in turn, every attempt its own row, and
# br-run -w follows them to the last one's status; a task that waits for it
# (--after) waits for the last attempt.  As ordinary users.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_user brrt1
br_user brrt2
uid=$(sd id -u brrt1)
br_daemon_start --cpus=1 --memory=1G --owner="$uid" --group=brrt2 || exit 1
row() { br_sql "select $1 from tasks where id=$2"; }
wait_state() {
    for _ in $(seq 300); do [ "$(row state "$1")" = "$2" ] && return 0; sleep 0.1; done
    return 1
}
me() { as_user brrt1 "$abs_top_builddir/$1" "${@:2}"; }
other() { as_user brrt2 "$abs_top_builddir/$1" "${@:2}"; }
M=1048576

# 1. br-retry with -m and -t: a new row linked to the first attempt
a=$(me br-run -w -m 64M -t 30s -n first -- sh -c 'exit 3' 2>/dev/null); rc=$?
check "task $a ran: exit 3" [ "$rc" = 3 ]
b=$(me br-retry -m 128M -t 1m "$a"); rc=$?
check "br-retry $a: exit 0, a new id ($b)" eval '[ "$rc" = 0 ] && [ "$b" -gt "$a" ]'
wait_state "$b" finished
check "the retry is attempt 2 of task $a, with 128M and 1m, the same command and name" \
    [ "$(row "attempt||','||retry_of||','||memory_bytes||','||time_limit_us||','||argv||','||name||','||reason||exit_code" "$b")" \
      = "2,$a,$((128 * M)),60000000,$(row argv "$a"),first,exited3" ]
c=$(me br-retry -w "$b" 2>"$T_TMP/c.err"); rc=$?
check "br-retry -w $b exits with the task's status (3): $rc, $(cat "$T_TMP/c.err")" \
    eval '[ "$rc" = 3 ] && grep -q "task $c exited 3 after" "$T_TMP/c.err"'
check "a retry of the retry is attempt 3 of the first, keeping its 128M" \
    [ "$(row "attempt||','||retry_of||','||memory_bytes" "$c")" = "3,$a,$((128 * M))" ]
check "br-show $c says so" eval 'me br-show "$c" | grep -q "Attempt: *3, of task $a"'

# only the owner: br-retry refuses another user's task (whose environment
# values that user does not see), and so does the daemon (a batch line may
# name the task it retries)
out=$(other br-retry "$a" 2>&1); rc=$?
check "another user's br-retry: exit 1, one line: $out" \
    eval '[ "$rc" = 1 ] && [ "$out" = "br-retry: task $a belongs to another user: only its owner and root may retry it" ]'
out=$(printf '{"argv":["/bin/true"],"retry_of":%s}\n' "$a" | other br-run -b - 2>&1); rc=$?
check "the daemon refuses another user's retry_of: $out" \
    eval '[ "$rc" = 1 ] && printf "%s" "$out" | grep -q "task $a belongs to another user: only its owner and root may retry it"'
rb=$(printf '{"argv":["/bin/true"],"retry_of":%s}\n' "$a" | me br-run -b - 2>/dev/null)
check "its owner's batch line with retry_of $a: attempt 2 of $a (one more than its own)" [ "$(row "attempt||','||retry_of" "$rb")" = "2,$a" ]
wait_state "$rb" finished
e=$(me br-run -w -e SECRET=s3 -- true 2>/dev/null)
out=$(other br-retry "$e" 2>&1); rc=$?
check "a task with env values hidden from that user: refused the same: $out" \
    eval '[ "$rc" = 1 ] && [ "$out" = "br-retry: task $e belongs to another user: only its owner and root may retry it" ]'
check "nothing was stored for the refused retry" [ "$(br_sql "select count(*) from tasks where retry_of=$e or id > $e")" = 0 ]
r=$(me br-run -- sleep 30)
wait_state "$r" running
out=$(me br-retry "$r" 2>&1); rc=$?
check "a running task cannot be retried: $out" \
    eval '[ "$rc" = 1 ] && printf "%s" "$out" | grep -q "task $r is running: only finished tasks are retried"'
me br-cancel "$r" > /dev/null
wait_state "$r" finished
out=$(me br-retry 99999 2>&1); rc=$?
check "an unknown id: exit 1: $out" eval '[ "$rc" = 1 ] && printf "%s" "$out" | grep -q "no task 99999"'

# 2. --retry-oom: up the ladder until it fits; br-run -w exits with the last status
x=$(me br-run -w -m 32M --retry-oom 64M,256M -- sh -c 'head -c 100M /dev/zero | tail > /dev/null' \
    2>"$T_TMP/x.err"); rc=$?
cat "$T_TMP/x.err"
y=$(row next_attempt "$x")
z=$(row next_attempt "$y")
check "br-run -w followed the attempts to the last one's status 0 (rc $rc)" [ "$rc" = 0 ]
check "three rows: oom at 32M, oom at 64M, exited 0 at 256M" \
    [ "$(br_sql "select group_concat(attempt||':'||(memory_bytes/$M)||':'||reason||coalesce(exit_code,''), ' ') from tasks where id in ($x,$y,$z) order by id")" \
      = "1:32:oom 2:64:oom 3:256:exited0" ]
check "each linked to the first, each with the rest of the ladder" \
    [ "$(br_sql "select group_concat(coalesce(retry_of,'-')||'/'||coalesce(retry_oom_bytes,'-'), ' ') from tasks where id in ($x,$y,$z) order by id")" \
      = "-/[$((64 * M)),$((256 * M))] $x/[$((256 * M))] $x/-" ]
check "one line on stderr per retry" \
    eval 'grep -qx "br-run: task $x ran out of memory (32.0M): retried as task $y with 64.0M" "$T_TMP/x.err" &&
          grep -qx "br-run: task $y ran out of memory (64.0M): retried as task $z with 256.0M" "$T_TMP/x.err" &&
          grep -q "br-run: task $z exited 0 after" "$T_TMP/x.err"'
check "the daemon logs each retry" eval 'br_daemon_log | grep -q "Task $x ran out of memory (32.0M): queued again as task $y with 64.0M (attempt 2)"'
check "br-show $x names the next attempt and the ladder" \
    eval 'me br-show "$x" | grep -q "Next attempt: *task $y" && me br-show "$x" | grep -q "If out of memory: *queued again with 64.0M, 256.0M"'

# the ladder runs out: the last oom is the status; a task --after it waits for the last attempt
# (held until the dependent is in place: the ooms take milliseconds)
p=$(me br-run --hold -m 32M --retry-oom 48M -n hog -- /usr/bin/tail /dev/zero)
d=$(me br-run --after "$p" -- true)
out=$(me br-show "$d")
check "the dependent of $p waits" eval 'printf "%s" "$out" | grep -q "Waits for: *$p"'
me br-release "$p" > /dev/null
wait_state "$d" finished
q=$(row next_attempt "$p")
check "$p ran out of memory and was retried once as $q, which ran out too" \
    [ "$(row "reason" "$p")/$(row "attempt||(memory_bytes/$M)||reason||coalesce(next_attempt,'-')" "$q")" = "oom/248oom-" ]
check "the dependent $d ran after the last attempt $q" \
    [ "$(br_sql "select d.reason||d.exit_code||(d.started_at_us >= q.finished_at_us) from tasks d, tasks q where d.id=$d and q.id=$q")" = exited01 ]
h=$(me br-run -w -m 32M --retry-oom 48M -- /usr/bin/tail /dev/zero 2>/dev/null); rc=$?
check "br-run -w exits 137 when the last attempt runs out of memory too" [ "$rc" = 137 ]

# a batch line's ladder, sizes as strings
printf '{"argv":["/usr/bin/tail","/dev/zero"],"memory":"32M","retry_oom":["40M"]}\n' > "$T_TMP/b.jsonl"
bt=$(me br-run -x -b - < "$T_TMP/b.jsonl" 2>/dev/null); rc=$?
check "a batch line with retry_oom [\"40M\"]: retried with 40M" \
    [ "$(row "memory_bytes/$M" "$(row next_attempt "$bt")")" = 40 ]

# a daemon that stopped between an oom and its next attempt (made so: the
# attempt's row removed, the link with it): the next start queues it
br_daemon_stop
br_sql "delete from tasks where id=$q; update tasks set next_attempt=null where id=$p"
sd systemctl reset-failed "$BR_UNIT" 2>/dev/null
br_daemon_start --cpus=1 --memory=1G --owner="$uid" --group=brrt2 || exit 1
q2=$(row next_attempt "$p")
got=$([ -n "$q2" ] && row "attempt||','||retry_of||','||(memory_bytes/$M)" "$q2")
check "after the restart, the lost attempt of $p is queued again ($q2: $got)" \
    eval '[ -n "$q2" ] && [ "$q2" -gt "$q" ] && [ "$got" = "2,$p,48" ]'
check "and logged" eval 'br_daemon_log | grep -q "Task $p ran out of memory (32.0M): queued again as task $q2 with 48.0M"'
wait_state "$q2" finished

# the ladder is checked
out=$(me br-run -m 64M --retry-oom 32M -- true 2>&1); rc=$?
check "a step below -m: usage error: $out" eval '[ "$rc" = 2 ] && printf "%s" "$out" | grep -q "more than --memory"'
out=$(me br-run -m 64M --retry-oom 2G -- true 2>&1); rc=$?
check "a step above the daemon's memory: refused: $out" eval '[ "$rc" = 1 ] && printf "%s" "$out" | grep -q "retry_oom\[0\]"'
out=$(me br-run --retry-oom 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17 -- true 2>&1); rc=$?
check "17 steps: refused: $out" eval '[ "$rc" = 2 ] && printf "%s" "$out" | grep -q "at most 16"'
finish
