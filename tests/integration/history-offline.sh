#!/bin/bash
# history-offline.sh: br-list, br-show and br-log with the daemon stopped,
# as ordinary users, from the history copy the daemon wrote: one line on
# stderr saying so (with the copy's age), the same tasks and fields the
# daemon gave, br-list's filters, env values hidden, a finished task's
# output, -f refused for a task only the daemon could follow; with no copy,
# an unreadable or too new one, one clear line and exit 1; --offline while
# the daemon runs; and the live database never opened by a client (strace).
. "$(dirname "$0")/../lib.sh"
require_systemd
br_user brhist
br_user brhist2
# both may submit: brhist owns the daemon, brhist2 is in its group
br_daemon_start --cpus=1 --memory=1G --owner="$(sd id -u brhist)" --group=brhist2 --history-interval=200ms || exit 1
# the users' programs look for the copy where this daemon writes it
as_user() {
    local u=$1; shift
    sd setpriv --reuid="$u" --regid="$u" --init-groups env BENCHRUNNER_SOCKET="$BR_SOCK" \
        BENCHRUNNER_HISTORY="$BR_HISTORY" "$@"
}
row() { br_sql "select $1 from tasks where id=$2"; }
wait_state() { local i; for i in $(seq 300); do [ "$(row state "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }
submit() { local u=$1; shift; as_user "$u" "$abs_top_builddir/br-run" "$@" 2>/dev/null | head -n 1; }
# cmd USER PROG ARGS...: PROG as USER, stdout in $T_TMP/out, stderr in $T_TMP/err, exit status in $rc
cmd() { local u=$1 p=$2; shift 2; as_user "$u" "$abs_top_builddir/$p" "$@" > "$T_TMP/out" 2> "$T_TMP/err"; rc=$?; }
ids() { awk 'NR > 1 { print $1 }' "$T_TMP/out" | tr '\n' ' '; }
# the one line a program says when it read the copy because nobody answered
notice_re() {
    printf '^%s: benchrunner is not running \\(no daemon at %s\\): read from its history copy %s of %s \\(%s ago\\), %s$' \
        "$1" "$BR_SOCK" "$BR_HISTORY" '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}' '[0-9a-z.]+' "which may be older than the daemon's data"
}
only_notice() { [ "$(wc -l < "$T_TMP/err")" = 1 ] && grep -Eq "$(notice_re "$1")" "$T_TMP/err"; }

# 1. with the daemon: a finished task with output and env, another user's,
# one running, one queued behind it on the one CPU
done_id=$(submit brhist -w -n done-task -e FOO=secret-value -- sh -c 'echo hello from the task; echo oops >&2')
other=$(submit brhist2 -w -n other-task -e BAR=other-secret -- true)
blocker=$(submit brhist -n blocker -- sleep 300)
check "blocker $blocker runs" wait_state "$blocker" running
queued=$(submit brhist -n queued-task -- true)
check "tasks $done_id, $other finished, $queued queued" \
    [ "$(row state "$done_id") $(row state "$other") $(row state "$queued")" = "finished finished queued" ]
cmd brhist br-list -a --csv; cp "$T_TMP/out" "$T_TMP/online.csv"
cmd brhist2 br-show --json "$done_id"; cp "$T_TMP/out" "$T_TMP/online-other.json"
check "the daemon shows brhist2 FOO's name only" grep -q '"env":\["FOO"\],"env_hidden":true' "$T_TMP/online-other.json"

# --offline while it runs: the copy, said so
cmd brhist br-list --offline -q
echo "  br-list --offline: rc $rc: $(cat "$T_TMP/err")"
check "--offline with the daemon running: the copy, one line saying so" \
    eval '[ "$rc" = 0 ] && [ "$(wc -l < "$T_TMP/err")" = 1 ] &&
          grep -q "^br-list: read from the history copy $BR_HISTORY of .* ago), not from the daemon: it may be older than the daemon.s data$" "$T_TMP/err"'

# 2. the daemon stops (its last copy made on the way)
br_daemon_stop
check "the daemon is stopped" fails sd systemctl is-active --quiet "$BR_UNIT"
check "the copy is there, 0644, not in WAL mode" \
    eval '[ "$(sd stat -c %a "$BR_HISTORY")" = 644 ] && [ "$(sd sqlite3 "$BR_HISTORY" "pragma journal_mode")" = delete ]'

cmd brhist br-list
cat "$T_TMP/out" "$T_TMP/err"
check "br-list: exit 0, all four tasks, newest first" \
    [ "$rc $(ids)" = "0 $queued $blocker $other $done_id " ]
check "br-list: one line on stderr, the daemon not running, the copy's time and age" only_notice br-list
check "br-list: states as stored" \
    eval '[ "$(awk -v id="$queued" "\$1 == id { print \$4 }" "$T_TMP/out")" = queued ] &&
          [ "$(awk -v id="$blocker" "\$1 == id { print \$4 }" "$T_TMP/out")" = running ]'
cmd brhist br-list -a --csv
check "br-list --csv: what the daemon listed before it stopped" cmp "$T_TMP/online.csv" "$T_TMP/out"

# filters, as the daemon's
f() { local want=$1; shift; cmd brhist br-list -q "$@"; local got; got=$(tr '\n' ' ' < "$T_TMP/out")
      check "br-list -q $*: $want" eval '[ "$rc" = 0 ] && [ "$got" = "$want" ] && only_notice br-list'; }
f "$queued " --state queued
f "$queued $blocker " -s queued,running
f "$other $done_id " --state finished
f "$other $done_id " --reason exited
f "$done_id " --name 'done-*'
f "$queued " --name 'queued-*' 
f "$other " --user brhist2
f "$queued $blocker $done_id " --mine
f "$queued $blocker " -n 2
f "$done_id $other $blocker $queued " --reverse -a
f "$queued $blocker $other $done_id " --since 1h
f "" --until 1h
cmd brhist br-list -n 1
check "br-list -n 1: the newest, and a line that there are more" \
    eval '[ "$rc $(ids)" = "0 $queued " ] && [ "$(wc -l < "$T_TMP/err")" = 2 ] &&
          grep -q "the newest 1 shown; --limit=N or --all shows more" "$T_TMP/err"'
cmd brhist br-list --json --name 'done-*'
check "br-list --json: the task, its env names only" \
    eval '[ "$rc" = 0 ] && grep -q "\"id\":$done_id,\"name\":\"done-task\"" "$T_TMP/out" &&
          grep -q "\"env\":\[\"FOO\"\],\"env_hidden\":true" "$T_TMP/out" && ! grep -q secret "$T_TMP/out"'

# 3. br-show: the task in full, env values hidden (another user's, and
# one's own: the copy has names only)
cmd brhist br-show "$other"
cat "$T_TMP/out"
check "br-show another user's task: exit 0, its env value hidden" \
    eval '[ "$rc" = 0 ] && grep -q "^Task $other: other-task$" "$T_TMP/out" &&
          grep -q "Environment: *BAR=(hidden)$" "$T_TMP/out" && ! grep -q other-secret "$T_TMP/out" && only_notice br-show'
cmd brhist br-show "$done_id"
check "br-show my own task: its value is not in the copy either" \
    eval '[ "$rc" = 0 ] && grep -q "FOO=(hidden)" "$T_TMP/out" && ! grep -q secret-value "$T_TMP/out" &&
          grep -q "Result: *exited with status 0" "$T_TMP/out"'
cmd brhist2 br-show --json "$done_id"
check "br-show --json: what the daemon gave another user" cmp "$T_TMP/online-other.json" "$T_TMP/out"
cmd brhist br-show "$done_id" 9999
check "br-show an unknown id: the others shown, one line for it, exit 1" \
    eval '[ "$rc" = 1 ] && grep -q "^Task $done_id: done-task$" "$T_TMP/out" && grep -q "^br-show: no task 9999$" "$T_TMP/err"'

# 4. br-log: the files, as before
cmd brhist br-log "$done_id"
check "br-log: the finished task's stdout, exit 0" \
    eval '[ "$rc" = 0 ] && [ "$(cat "$T_TMP/out")" = "hello from the task" ] && only_notice br-log'
cmd brhist br-log --stderr "$done_id"
check "br-log --stderr" eval '[ "$rc" = 0 ] && [ "$(cat "$T_TMP/out")" = oops ]'
cmd brhist br-log -f "$done_id"
check "br-log -f of a finished task: all of it, exit 0" \
    eval '[ "$rc" = 0 ] && [ "$(cat "$T_TMP/out")" = "hello from the task" ]'
cmd brhist2 br-log "$done_id"
check "br-log another user's task: refused, exit 1" \
    eval '[ "$rc" = 1 ] && grep -q "^br-log: task $done_id is another user.s: only its owner and root may read its output$" "$T_TMP/err" && [ ! -s "$T_TMP/out" ]'
cmd brhist br-log -f "$queued"
echo "  br-log -f $queued: rc $rc: $(cat "$T_TMP/err")"
check "br-log -f of a queued task: one line that it cannot be followed, exit 1" \
    eval '[ "$rc" = 1 ] && [ "$(wc -l < "$T_TMP/err")" = 2 ] &&
          grep -q "^br-log: task $queued cannot be followed without the daemon (the history copy has it queued)$" "$T_TMP/err"'

# 5. no copy, one nobody may read, one too new: one line, exit 1
as_user brhist env BENCHRUNNER_HISTORY="$BR_STATE/none.db" "$abs_top_builddir/br-list" > "$T_TMP/out" 2> "$T_TMP/err"; rc=$?
echo "  no copy: rc $rc: $(cat "$T_TMP/err")"
check "no copy: exit 1, one line, nothing on stdout" \
    eval '[ "$rc" = 1 ] && [ ! -s "$T_TMP/out" ] && [ "$(cat "$T_TMP/err")" = "br-list: benchrunner is not running (no daemon at $BR_SOCK), and there is no history copy at $BR_STATE/none.db; start it with br-start" ]'
cmd brhist br-show --history="$BR_STATE/none.db" "$done_id"
check "br-show --history=PATH: that path, the same line" \
    eval '[ "$rc" = 1 ] && grep -q "no history copy at $BR_STATE/none.db" "$T_TMP/err"'
sd cp "$BR_HISTORY" "$BR_STATE/private.db"
sd chmod 0600 "$BR_STATE/private.db"
cmd brhist br-list --history="$BR_STATE/private.db"
check "an unreadable copy: exit 1, one line why" \
    eval '[ "$rc" = 1 ] && [ "$(wc -l < "$T_TMP/err")" = 1 ] && grep -q "history copy $BR_STATE/private.db cannot be read: Permission denied$" "$T_TMP/err"'
sd cp "$BR_HISTORY" "$BR_STATE/newer.db"
sd chmod 0644 "$BR_STATE/newer.db"
sd sqlite3 "$BR_STATE/newer.db" "pragma user_version = 99"
cmd brhist br-list --offline --history="$BR_STATE/newer.db"
echo "  a newer copy: rc $rc: $(cat "$T_TMP/err")"
check "a copy of a newer schema: refused, exit 1, one line" \
    eval '[ "$rc" = 1 ] && [ "$(cat "$T_TMP/err")" = "br-list: cannot read the history copy $BR_STATE/newer.db: its schema version 99 is newer than this version of benchrunner reads (5)" ]'

# 6. the live database is never opened by a client, also root's (who could)
# (LeakSanitizer cannot run under ptrace)
sd strace -f -e trace=%file -o "$BR_STATE/trace" env ASAN_OPTIONS=detect_leaks=0 BENCHRUNNER_SOCKET="$BR_SOCK" \
    BENCHRUNNER_HISTORY="$BR_HISTORY" sh -c "$abs_top_builddir/br-list -a; $abs_top_builddir/br-show $done_id;
    $abs_top_builddir/br-log $done_id" > "$T_TMP/out" 2> "$T_TMP/err"; rc=$?
echo "  root under strace: rc $rc: $(cat "$T_TMP/err")"
check "root, offline: all three worked (rc $rc)" eval '[ "$rc" = 0 ] && grep -q "hello from the task" "$T_TMP/out"'
check "strace: the copy was opened" sd grep -q "\"$BR_HISTORY\"" "$BR_STATE/trace"
check "strace: nothing under private/ (the live database) was touched" fails sd grep -q "$BR_STATE/private/" "$BR_STATE/trace"
finish
