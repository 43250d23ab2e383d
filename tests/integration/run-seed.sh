#!/bin/bash
# run-seed.sh: the prototype's task files and options against the real
# daemon: br-run --batch takes its NDJSON objects unchanged (every field
# arrives in the database and in the task), sizes and durations as strings,
# -P/--priority-group-offset, -e for every line (a line's own env wins),
# -x/--exit-code, --json-log; br-stats --short prints "R: N P: N" and
# --poll waits for a daemon that is down and follows it when it is back.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_daemon_start --cpus=1 --memory=1G || exit 1
row() { br_sql "select $1 from tasks where id=$2"; }

F=$BR_STATE/seed
sd mkdir -p -m 0755 "$F"

# 1. the prototype's fields, each with a value of its own
cat > "$T_TMP/seed.jsonl" <<EOF
{"name": "seed-env", "command": ["sh", "-c", "env > $F/env-1; echo out-1"], "threads": 1, "memory_mb": 96, "cleanup_command": ["sh", "-c", "echo \$BENCHRUNNER_STATUS > $F/cleanup-1"], "watchdog": 60, "cleanup_watchdog": 7, "priority": 4, "priority_group": 2, "env": {"FOO": "from-task", "ONLY_TASK": "t"}}
{"name": "seed-watchdog", "command": ["sleep", "30"], "threads": 1, "memory_mb": 0, "cleanup_command": [], "watchdog": 1, "cleanup_watchdog": 0, "priority": 0, "priority_group": 0, "env": {}}
{"name": "ours-units", "argv": ["true"], "memory": "64M", "time_limit": "15m", "cleanup_time_limit": "90s"}
EOF
sd cp "$T_TMP/seed.jsonl" "$F/seed.jsonl"
log=$F/events.jsonl
br br-run --batch "$F/seed.jsonl" -P 3 -e FOO=from-cli -e ONLY_CLI=c -x --json-log "$log" \
    > "$T_TMP/ids" 2> "$T_TMP/err"; rc=$?
cat "$T_TMP/err"
read -r a b c < <(tr '\n' ' ' < "$T_TMP/ids")
echo "tasks: $a $b $c"
check "br-run --batch -x: exit 1, since $b hit its watchdog (rc=$rc)" [ "$rc" = 1 ]
check "three ids" [ -n "$c" ]

check "$a: name, threads, memory_mb 96 as bytes" \
    [ "$(row "name || ',' || threads || ',' || memory_bytes" "$a")" = "seed-env,1,100663296" ]
check "$a: watchdog 60 s and cleanup_watchdog 7 s as limits" \
    [ "$(row "time_limit_us || ',' || cleanup_time_limit_us" "$a")" = "60000000,7000000" ]
check "$a: priority 4, priority_group 2 + -P 3 = group 5" \
    [ "$(row "priority || ',' || priority_group" "$a")" = "4,5" ]
check "$a: the cleanup command ran after the command exited" \
    [ "$(sd cat "$F/cleanup-1" 2>/dev/null)" = "exited 0" ]
check "$a: reason exited 0, cleanup exited 0" \
    [ "$(row "reason || exit_code || ',' || cleanup_reason || cleanup_exit_code" "$a")" = "exited0,exited0" ]
check "$a: env FOO from the line wins over -e" sd grep -qx FOO=from-task "$F/env-1"
check "$a: the line's own variable" sd grep -qx ONLY_TASK=t "$F/env-1"
check "$a: -e's variable the line does not set" sd grep -qx ONLY_CLI=c "$F/env-1"
check "$a: FOO once" [ "$(sd grep -c '^FOO=' "$F/env-1")" = 1 ]

check "$b: watchdog 1 s: time-limit" [ "$(row reason "$b")" = time-limit ]
check "$b: memory_mb 0 is the default share (1G for one thread of one)" \
    [ "$(row memory_bytes "$b")" = 1073741824 ]
check "$b: no cleanup command, cleanup_watchdog 0 the daemon's default" \
    [ "$(row "coalesce(cleanup_argv, 'none') || ',' || coalesce(cleanup_time_limit_us, 'default')" "$b")" = "none,default" ]
check "$b: priority_group 0 + -P 3 = group 3" [ "$(row priority_group "$b")" = 3 ]

check "$c: memory \"64M\", time_limit \"15m\", cleanup_time_limit \"90s\"" \
    [ "$(row "memory_bytes || ',' || time_limit_us || ',' || cleanup_time_limit_us" "$c")" = "67108864,900000000,90000000" ]

# --json-log: each event of each task, one JSON object per line
sd cat "$log" > "$T_TMP/log"
{ echo '['; paste -sd, "$T_TMP/log"; echo ']'; } > "$T_TMP/log.array"
check "--json-log: every line is JSON" [ "$(sqlite3 :memory: "select json_valid(readfile('$T_TMP/log.array'))")" = 1 ]
for id in $a $b $c; do
    check "--json-log: task $id started and finished" \
        eval '[ "$(grep -c "\"event\":\"started\",\"task\":{\"id\":$id," "$T_TMP/log")" -ge 1 ] &&
              [ "$(grep -c "\"event\":\"finished\",\"task\":{\"id\":$id," "$T_TMP/log")" -ge 1 ]'
done
br br-run --batch "$F/seed.jsonl" -P 3 --json-log "$log" > /dev/null 2>&1
check "--json-log appends" [ "$(sd grep -c '"event":"finished"' "$log")" -ge 6 ]

# -x with every task exiting 0; -w alone still exits with the last one's status
printf '{"command":["true"]}\n{"command":["sh","-c","exit 0"]}\n' > "$T_TMP/ok.jsonl"
sd cp "$T_TMP/ok.jsonl" "$F/ok.jsonl"
br br-run --batch "$F/ok.jsonl" -x > /dev/null; rc=$?
check "-x: all exited 0: exit 0" [ "$rc" = 0 ]
br br-run -x -- sh -c 'exit 3' > /dev/null; rc=$?
check "-x on one command that exits 3: exit 1" [ "$rc" = 1 ]

# refusals name the line
printf '{"command":["true"],"memory":"64Q"}\n' > "$T_TMP/bad.jsonl"
sd cp "$T_TMP/bad.jsonl" "$F/bad.jsonl"
out=$(br br-run --batch "$F/bad.jsonl" 2>&1); rc=$?
check "a bad size: exit 2, the line and the field: $out" \
    eval '[ "$rc" = 2 ] && [ "$out" = "br-run: $F/bad.jsonl:1: memory: not a size: \"64Q\" (use 512M, 2G, ...)" ]'
out=$(br br-run --batch "$F/seed.jsonl" -P 999999 2>&1); rc=$?
check "-P out of range: exit 2: $out" eval '[ "$rc" = 2 ] && printf "%s" "$out" | grep -q "seed.jsonl:1: group 2 with --priority-group-offset 999999"'

# 2. br-stats: the prototype's line, and --poll across a stop
out=$(br br-stats --short --once)
check "br-stats --short --once: '$out'" [ "$out" = "R: 0 P: 0" ]
br_daemon_stop
sd sh -c "BENCHRUNNER_SOCKET=$BR_SOCK timeout 40 $abs_top_builddir/br-stats --short --poll=1 > $F/poll.out 2> $F/poll.err & echo \$! > $F/poll.pid"
sleep 2
check "--poll with no daemon: it keeps running" sd sh -c "kill -0 \$(cat $F/poll.pid)"
check "--poll with no daemon: says so once" \
    eval '[ "$(sd grep -c "not running" "$F/poll.err")" = 1 ]'
br_daemon_start --cpus=1 --memory=1G || exit 1
check "--poll: the counts once the daemon is back" eventually sd grep -qx "R: 0 P: 0" "$F/poll.out"
br br-run -- sleep 2 > /dev/null
check "--poll: then every change (R: 1)" eventually sd grep -qx "R: 1 P: 0" "$F/poll.out"
sd sh -c "kill \$(cat $F/poll.pid)"
finish
