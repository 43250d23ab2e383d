#!/bin/bash
# run-basic.sh: a task's life through the real daemon and systemd: a normal
# exit and its measurements, an exit code passed through br-run -w, arguments
# byte for byte, rejected input that stores nothing, the history readable by
# a non-root user with sqlite3 while the daemon runs.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_daemon_start --cpus=0-1 --memory=1G || exit 1

row() { br_sql "select $1 from tasks where id=$2"; }

# 1. br-run -w -- sh -c 'echo hi'
id=$(br br-run -w -- sh -c 'echo hi' 2> "$T_TMP/err1"); rc=$?
cat "$T_TMP/err1"
check "br-run -w of 'echo hi' exits 0" [ "$rc" = 0 ]
check "br-run prints the task id ($id)" [ "$id" = 1 ]
check "state finished, reason exited, exit code 0" \
    [ "$(row "state||','||reason||','||exit_code" "$id")" = "finished,exited,0" ]
check "started and finished times are set" \
    [ "$(row "started_at_us > 0 and finished_at_us >= started_at_us" "$id")" = 1 ]
check "wall time is set and positive" [ "$(row "wall_us > 0" "$id")" = 1 ]
# (on the v1 hybrid of these hosts, cpu and cpuacct are mounted apart and
# systemd accounts in neither; the daemon reads the hybrid cgroup2 cpu.stat)
check "CPU time is set" [ "$(row "cpu_user_us is not null and cpu_system_us is not null" "$id")" = 1 ]
check "peak memory is set and positive" [ "$(row "peak_memory_bytes > 0" "$id")" = 1 ]
cpus=$(row cpus "$id")
check "CPU list recorded ($cpus)" [ -n "$cpus" ]
check "stdout kept: 'hi'" [ "$(sd cat "$BR_STATE/output/$id/stdout")" = hi ]
check "working directory removed" sd test ! -e "$BR_STATE/work/$id"

# CPU time is the task's own: a busy loop uses about its wall time in CPU
id=$(br br-run -w -- sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done' 2>/dev/null)
echo "  busy loop: wall $(row wall_us "$id") us, cpu $(row "cpu_user_us + cpu_system_us" "$id") us"
check "a busy loop's CPU time is 50-110% of its wall time" \
    [ "$(row "(cpu_user_us + cpu_system_us) between wall_us / 2 and wall_us * 11 / 10" "$id")" = 1 ]

# 2. an exit code passes through br-run -w and into the row
id=$(br br-run -w -- sh -c 'exit 3' 2>/dev/null); rc=$?
check "br-run -w of 'exit 3' exits 3" [ "$rc" = 3 ]
check "row has exit code 3" [ "$(row "reason||','||exit_code" "$id")" = "exited,3" ]

# 7. arguments reach the program byte for byte: no shell, no $VAR, no %
args=('with space' "it's" '"dq"' '$HOME' '${PATH}' '%n %i %%' 'back\slash' $'new\nline' '' '*' '~' ';' '`id`')
id=$(br br-run -w -- /usr/bin/printf '[%s]\n' "${args[@]}" 2>/dev/null); rc=$?
check "printf task exits 0" [ "$rc" = 0 ]
printf '[%s]\n' "${args[@]}" > "$T_TMP/expected"
sd cat "$BR_STATE/output/$id/stdout" > "$T_TMP/got"
check "every argument arrived exactly as given" cmp "$T_TMP/expected" "$T_TMP/got"

# 12. rejected input: one clear line, nothing stored
before=$(br_sql "select count(*) from tasks")
reject() {   # reject DESCRIPTION br-run-args...
    local what=$1; shift
    br br-run "$@" > "$T_TMP/out" 2> "$T_TMP/err"; local rc=$?
    echo "  $what: rc=$rc: $(cat "$T_TMP/err")"
    check "$what is refused" [ "$rc" != 0 ]
    check "$what gives one line on stderr" [ "$(wc -l < "$T_TMP/err")" = 1 ]
}
reject "threads above capacity" -j 3 -- true
reject "memory above the daemon's" -m 2G -- true
reject "an empty command" -- ''
reject "no command" -j 1
reject "a bad size" -m 12X -- true
reject "a bad duration" -t 5y -- true
reject "a missing program" -- /nonexistent/prog
echo '{"v":4,"op":"submit","tasks":[{"argv":["/bin/true"]}' | sd "$abs_top_builddir/tests/helpers/br-send" "$BR_SOCK" > "$T_TMP/bad" 2>&1
cat "$T_TMP/bad"
check "a malformed message gets an error reply" grep -q '"ok":false' "$T_TMP/bad"
echo '{"v":4,"op":"submit","tasks":[{"argv":["/bin/true"],"cwd":"/","threads":0}]}' \
    | sd "$abs_top_builddir/tests/helpers/br-send" "$BR_SOCK" > "$T_TMP/bad2" 2>&1
cat "$T_TMP/bad2"
check "zero threads gets an error reply" grep -q '"ok":false' "$T_TMP/bad2"
check "nothing was stored for any rejected request" [ "$(br_sql "select count(*) from tasks")" = "$before" ]
check "the daemon still answers" br br-stats --once

# 13. the history is readable by a non-root user while the daemon runs:
# from the copy, published within a few seconds; the live database is root's
nobody_sql() { sd setpriv --reuid=65534 --regid=65534 --clear-groups sqlite3 -batch -noheader "$@"; }
for _ in $(seq 100); do
    n=$(nobody_sql "$BR_HISTORY" "select count(*) from tasks where state='finished'" 2> "$T_TMP/err13")
    [ "$n" = "$before" ] && break
    sleep 0.1
done
cat "$T_TMP/err13"
check "sqlite3 as nobody reads the history ($n finished tasks)" [ "$n" = "$before" ]
check "but not the live database" fails nobody_sql "$BR_DB" "select count(*) from tasks" 2>/dev/null

finish
