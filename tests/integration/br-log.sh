#!/bin/bash
# br-log.sh: br-log against the real daemon, as an ordinary user: a
# finished task's stdout and stderr byte for byte (bytes that are not
# UTF-8, control characters, a last line without its newline), its cleanup
# command's output apart from them (--cleanup), -f following a queued and
# then running task to its end, and one line with exit 1 for another user,
# an unknown id, a task without output yet or without a cleanup command,
# output the retention removed, and a daemon that goes away under -f; root
# reads anyone's.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_user brlog
br_user brlog2
ouid=$(sd id -u brlog)
opts=(--cpus=1 --memory=1G --owner="$ouid")
br_daemon_start "${opts[@]}" || exit 1
row() { br_sql "select $1 from tasks where id=$2"; }
wait_state() { local i; for i in $(seq 300); do [ "$(row state "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }
submit() { as_user brlog "$abs_top_builddir/br-run" "$@" 2>/dev/null | head -n 1; }
log() { as_user "$1" "$abs_top_builddir/br-log" "${@:2}"; }
# the same, killed after 60 s (exit 124) should it never end
logt() { as_user "$1" timeout 60 "$abs_top_builddir/br-log" "${@:2}"; }
# refused WHAT EXPECTED-LINE USER ARGS...: exit 1, that one line, nothing on stdout
refused() {
    local what=$1 line=$2 u=$3; shift 3
    log "$u" "$@" > "$T_TMP/r.out" 2> "$T_TMP/r.err"; local rc=$?
    echo "  br-log $*: rc $rc: $(cat "$T_TMP/r.err")"
    check "$what: exit 1, one line, nothing on stdout" \
        eval '[ "$rc" = 1 ] && [ "$(cat "$T_TMP/r.err")" = "$line" ] && [ ! -s "$T_TMP/r.out" ]'
}

# 1. a finished task: each stream byte for byte, the cleanup command's apart
out='line one\n\377\376 not UTF-8 \033[2J\r\tend\nno newline at the end'
err='err \001\002\n\200last'
printf "$out" > "$T_TMP/want.out"
printf "$err" > "$T_TMP/want.err"
printf 'cleanup out\n' > "$T_TMP/want.cout"
printf 'cleanup err' > "$T_TMP/want.cerr"
id=$(submit -w -c "sh -c 'echo cleanup out; printf \"cleanup err\" >&2'" -- sh -c "printf '$out'; printf '$err' >&2")
check "task $id finished" [ "$(row "state||reason||cleanup_reason" "$id")" = finishedexitedexited ]
for s in "out:" "err:--stderr" "cout:--cleanup" "cerr:--cleanup --stderr"; do
    want=${s%%:*}
    # shellcheck disable=SC2086
    log brlog ${s#*:} "$id" > "$T_TMP/got.$want" 2> "$T_TMP/got.$want.err"; rc=$?
    check "br-log ${s#*:} $id: exit 0, nothing on stderr" eval '[ "$rc" = 0 ] && [ ! -s "$T_TMP/got.$want.err" ]'
    check "br-log ${s#*:} $id: the bytes as written" cmp "$T_TMP/want.$want" "$T_TMP/got.$want"
done
check "the main stdout does not hold the cleanup command's" fails grep -q 'cleanup' "$T_TMP/got.out"
br br-log "$id" > "$T_TMP/root.out" 2>&1; rc=$?
check "root reads anyone's (rc $rc)" eval '[ "$rc" = 0 ] && cmp "$T_TMP/want.out" "$T_TMP/root.out"'

# 2. refusals: one line each, exit 1
refused "another user" "br-log: task $id is another user's: only its owner and root may read its output" \
    brlog2 "$id"
refused "another user, --cleanup" "br-log: task $id is another user's: only its owner and root may read its output" \
    brlog2 --cleanup "$id"
refused "an unknown id" "br-log: no task 9999" brlog 9999
plain=$(submit -w -- true)
refused "--cleanup without a cleanup command" "br-log: task $plain has no cleanup command" brlog --cleanup "$plain"
log brlog "$plain" > "$T_TMP/empty" 2>&1; rc=$?
check "an empty stdout: nothing, exit 0" eval '[ "$rc" = 0 ] && [ ! -s "$T_TMP/empty" ]'
log brlog "$id" 2 > /dev/null 2>&1; rc=$?
check "two ids: a usage error (2)" [ "$rc" = 2 ]

# 3. -f: a task queued behind a blocker, followed from the queue to its end
blocker=$(submit -- sleep 300)
check "blocker $blocker runs" wait_state "$blocker" running
id=$(submit -c "sh -c 'echo c1; sleep 1; echo c2'" -- sh -c 'for i in 1 2 3 4; do echo "line $i"; sleep 1; done; printf last')
check "task $id is queued" [ "$(row state "$id")" = queued ]
refused "a queued task" "br-log: task $id has not started yet: it has no output yet (br-log -f waits for it)" brlog "$id"
logt brlog -f "$id" > "$T_TMP/follow" 2> "$T_TMP/follow.err" &
fpid=$!
logt brlog -f --cleanup "$id" > "$T_TMP/cfollow" 2> "$T_TMP/cfollow.err" &
cpid=$!
sleep 1.5
check "-f waits for a queued task" eval 'kill -0 $fpid && [ ! -s "$T_TMP/follow" ]'
br br-cancel "$blocker" > /dev/null
check "task $id starts" wait_state "$id" running
# the lines appear while the task still runs
for _ in $(seq 100); do grep -q 'line 2' "$T_TMP/follow" && break; sleep 0.1; done
seen=$(tr '\n' ' ' < "$T_TMP/follow"); state=$(row state "$id")
echo "  while task $id is $state, br-log -f printed: $seen"
check "-f prints the lines as they appear (line 2 while running)" \
    eval '[ "$state" = running ] && grep -q "^line 2$" "$T_TMP/follow" && ! grep -q "line 4" "$T_TMP/follow"'
check "-f is still following" kill -0 "$fpid"
check "-f --cleanup waits for the cleanup command" eval 'kill -0 $cpid && [ ! -s "$T_TMP/cfollow" ]'
# it ends by itself once the task has finished, within a few seconds
start=$(date +%s)
wait "$fpid"; rc=$?
state=$(row state "$id")
secs=$(( $(date +%s) - start ))
wait "$cpid"; crc=$?
echo "  br-log -f: rc $rc after ${secs}s, task $state: $(tr '\n' ' ' < "$T_TMP/follow") $(cat "$T_TMP/follow.err")"
printf 'line 1\nline 2\nline 3\nline 4\nlast' > "$T_TMP/want.follow"
check "-f exits 0 once the task has finished, within seconds (${secs}s)" \
    eval '[ "$rc" = 0 ] && [ ! -s "$T_TMP/follow.err" ] && [ "$state" = finished ] && [ "$secs" -le 15 ]'
check "-f printed all of it, the last line too (it did not stop early)" cmp "$T_TMP/want.follow" "$T_TMP/follow"
check "-f --cleanup: the cleanup command's lines, exit 0" \
    eval '[ "$crc" = 0 ] && [ "$(cat "$T_TMP/cfollow")" = "c1
c2" ] && [ ! -s "$T_TMP/cfollow.err" ]'
check "-f of a finished task: all of it at once, exit 0" \
    eval 'logt brlog -f "$id" | cmp - "$T_TMP/want.follow" && [ "${PIPESTATUS[0]}" = 0 ]'

# 4. completion offers a user's own tasks
mine=$(br_sql "select group_concat(id, ' ') from (select id from tasks where uid = $ouid order by id)")
br br-run -w -- true > /dev/null 2>&1
comp=$(as_user brlog env PATH="$abs_top_builddir:/usr/bin:/bin" bash --norc --noprofile -c '
    source "$1" || exit 1
    COMP_WORDS=(br-log ""); COMP_CWORD=1; COMPREPLY=()
    _benchrunner br-log "" br-log
    printf "%s\n" "${COMPREPLY[@]}"' c "$abs_top_srcdir/data/bash-completion/benchrunner" | sort -n | tr '\n' ' ')
check "completion: br-log offers my tasks ($mine), not root's" [ "$comp" = "$mine " ]

# 5. the daemon goes away under -f: one line, exit 1
id=$(submit -- sh -c 'echo started; sleep 30')
check "task $id runs" wait_state "$id" running
logt brlog -f "$id" > "$T_TMP/gone" 2> "$T_TMP/gone.err" &
gpid=$!
for _ in $(seq 50); do [ -s "$T_TMP/gone" ] && break; sleep 0.1; done
br_daemon_stop
wait "$gpid"; rc=$?
echo "  br-log -f when the daemon stopped: rc $rc: $(cat "$T_TMP/gone.err")"
check "the daemon gone under -f: exit 1, one line" \
    eval '[ "$rc" = 1 ] && [ "$(cat "$T_TMP/gone.err")" = "br-log: the daemon went away while following task $id" ]'
check "... after what the task had printed" [ "$(cat "$T_TMP/gone")" = started ]

# 6. output the retention removed: its row stays, br-log says so
first=$(br_sql "select min(id) from tasks")
br_daemon_start "${opts[@]}" --keep-output=1s || exit 1
check "task $first's output is removed" eventually eval '[ -n "$(row output_removed_at_us "$first")" ]'
refused "removed output" "br-log: the output of task $first was removed by the daemon's retention policy" \
    brlog "$first"
finish
