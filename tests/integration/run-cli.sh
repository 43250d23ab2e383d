#!/bin/bash
# run-cli.sh: br-list, br-show and br-cancel against the real daemon: the
# states of a running and two queued tasks in the table and as JSON lines, one
# task in full, cancelling a queued task (it never starts) and a running one
# (its cleanup command still runs), refusals with one line and exit 1,
# --all-mine, the newest -n tasks first, the daemon's filters (name
# pattern, reason, time range), CSV that sqlite3 reads back, and lists
# longer than one reply page.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_daemon_start --cpus=1 --memory=1G || exit 1
row() { br_sql "select $1 from tasks where id=$2"; }
# wait_state ID STATE: up to 30 s
wait_state() {
    for _ in $(seq 300); do [ "$(row state "$1")" = "$2" ] && return 0; sleep 0.1; done
    return 1
}
# json_ok FILE: every line of FILE is a JSON object (sqlite3's json1 decides)
json_ok() {
    { echo '['; paste -sd, "$1"; echo ']'; } > "$1.array"
    [ "$(sqlite3 :memory: "select json_valid(readfile('$1.array'))")" = 1 ]
}
# json_sql FILE SELECT: SELECT over the objects of FILE as json_each's "value"
json_sql() { sqlite3 -batch -noheader :memory: "select $2 from json_each(readfile('$1.array'))"; }
# the table's cell in COLUMN (1-based, names have no spaces here) for task ID
cell() { awk -v id="$2" -v col="$1" '$1 == id { print $col }' "$3"; }

# Task files go to the daemon's state directory: a task's /tmp is private,
# and the build tree may be under the host's /tmp.
F=$BR_STATE/cli
sd mkdir -p -m 0755 "$F"

# 1. one running (with a cleanup command), two queued behind it on the one CPU
a=$(br br-run -n sleeper -c "sh -c 'echo cleanup status=\$BENCHRUNNER_STATUS; echo ran > $F/cleanup-a'" \
    -- sh -c "echo started; exec sleep 300")
b=$(br br-run -n queued-b -- sh -c "touch $F/started-b; exec sleep 300")
c=$(br br-run -n queued-c -g 2 -p 7 -t 1h -m 256M -e FOO=bar -- sh -c "touch $F/started-c; exec sleep 300")
echo "tasks: running $a, queued $b and $c"
check "task $a is running" wait_state "$a" running

br br-list > "$T_TMP/list" 2> "$T_TMP/list.err"; rc=$?
cat "$T_TMP/list" "$T_TMP/list.err"
check "br-list exits 0" [ "$rc" = 0 ]
check "br-list prints a header and three tasks" [ "$(wc -l < "$T_TMP/list")" = 4 ]
check "the header names the columns" \
    grep -q '^ *ID  *NAME  *USER  *STATE  *THREADS  *CPUS  *REASON  *EXIT  *WALL  *PEAK MEM  *QUEUED AT$' "$T_TMP/list"
check "task $a: sleeper, root, running" [ "$(cell 2 "$a" "$T_TMP/list") $(cell 3 "$a" "$T_TMP/list") $(cell 4 "$a" "$T_TMP/list")" = "sleeper root running" ]
check "task $a shows its CPU" [ "$(cell 6 "$a" "$T_TMP/list")" = "$(row cpus "$a")" ]
check "task $b: queued" [ "$(cell 4 "$b" "$T_TMP/list")" = queued ]
check "task $c: queued" [ "$(cell 4 "$c" "$T_TMP/list")" = queued ]
check "br-list: the newest first" [ "$(awk 'NR > 1 { print $1 }' "$T_TMP/list" | tr '\n' ' ')" = "$c $b $a " ]
check "br-list --reverse: the oldest first" \
    [ "$(br br-list --reverse | awk 'NR > 1 { print $1 }' | tr '\n' ' ')" = "$a $b $c " ]
# the newest -n tasks, and a line when there are more
br br-list -n 1 > "$T_TMP/list1" 2> "$T_TMP/list1.err"; rc=$?
cat "$T_TMP/list1" "$T_TMP/list1.err"
check "br-list -n 1: the newest one" [ "$rc $(awk 'NR > 1 { print $1 }' "$T_TMP/list1" | tr '\n' ' ')" = "0 $c " ]
check "br-list -n 1: stderr says there are more" grep -q "the newest 1 shown; --limit=N or --all shows more" "$T_TMP/list1.err"
check "br-list (20) says nothing on stderr with 3 tasks" [ ! -s "$T_TMP/list.err" ]
br br-list -s queued > "$T_TMP/queued"
check "br-list -s queued shows only $c and $b" [ "$(awk 'NR > 1 { print $1 }' "$T_TMP/queued" | tr '\n' ' ')" = "$c $b " ]
br br-list -s running,cleanup --mine > "$T_TMP/running"
check "br-list -s running,cleanup --mine shows only $a" [ "$(awk 'NR > 1 { print $1 }' "$T_TMP/running")" = "$a" ]
br br-list -q -s queued > "$T_TMP/ids"; rc=$?
check "br-list -q -s queued prints only the ids $c and $b" [ "$rc $(tr '\n' ' ' < "$T_TMP/ids")" = "0 $c $b " ]
br br-list -q --json > /dev/null 2> "$T_TMP/ids.err"; rc=$?
check "br-list -q --json is refused (exit 2)" [ "$rc" = 2 ]
check "br-list -q --json says why" grep -q "give one of --json, --csv and --ids" "$T_TMP/ids.err"
# filters the daemon answers: name patterns, time ranges
check "br-list --name 'queued-*': $c $b" [ "$(br br-list -q --name 'queued-*' | tr '\n' ' ')" = "$c $b " ]
check "br-list --name 'sleep?r': $a" [ "$(br br-list -q --name 'sleep?r' | tr '\n' ' ')" = "$a " ]
check "br-list --name 'Sleeper' (case matters): none" [ -z "$(br br-list -q --name Sleeper)" ]
check "br-list --since 1h: all three" [ "$(br br-list -q --since 1h | tr '\n' ' ')" = "$c $b $a " ]
check "br-list --until 1h: none" [ -z "$(br br-list -q --until 1h)" ]
check "br-list --since tomorrow's date: none" [ -z "$(br br-list -q --since "$(date -d tomorrow +%F)")" ]
check "br-list --until tomorrow's date: all three" \
    [ "$(br br-list -q --until "$(date -d tomorrow +%F)" | tr '\n' ' ')" = "$c $b $a " ]
out=$(br br-list --since soon 2>&1); rc=$?
check "br-list --since soon: refused, exit 2: $out" \
    eval '[ "$rc" = 2 ] && [ "$out" = "br-list: --since: neither a duration ago (2h, 3d) nor a local time (2024-05-01 14:00): soon" ]'
out=$(br br-list --reason crashed 2>&1); rc=$?
check "br-list --reason crashed: refused, exit 2" eval '[ "$rc" = 2 ] && printf "%s" "$out" | grep -q "unknown reason crashed"' 
# bash completion of task ids (data/bash-completion, br-list -q)
comp_ids() {
    sd env BENCHRUNNER_SOCKET="$BR_SOCK" PATH="$abs_top_builddir:/usr/bin:/bin" bash --norc --noprofile -c '
        source "$1" || exit 1
        COMP_WORDS=("$2" "$3"); COMP_CWORD=1; COMPREPLY=()
        _benchrunner "$2" "$3" "$2"
        printf "%s\n" "${COMPREPLY[@]}"' c "$abs_top_srcdir/data/bash-completion/benchrunner" "$1" "${2:-}" \
        | sed '/^$/d' | sort -n | tr '\n' ' '
}
check "completion: br-show offers the tasks $a $b $c" [ "$(comp_ids br-show)" = "$a $b $c " ]
check "completion: br-cancel offers my unfinished tasks $a $b $c" [ "$(comp_ids br-cancel)" = "$a $b $c " ]
check "completion: br-show $b<TAB> offers $b alone" [ "$(comp_ids br-show "$b")" = "$b " ]
br br-list -u 65534 > "$T_TMP/nobody"
check "br-list -u 65534 shows the header only" [ "$(wc -l < "$T_TMP/nobody")" = 1 ]

br br-list --json > "$T_TMP/list.json"; rc=$?
check "br-list --json exits 0" [ "$rc" = 0 ]
check "br-list --json prints one line per task" [ "$(wc -l < "$T_TMP/list.json")" = 3 ]
check "br-list --json lines are valid JSON" json_ok "$T_TMP/list.json"
check "br-list --json: ids and states" \
    [ "$(json_sql "$T_TMP/list.json" "json_extract(value, '\$.id') || ':' || json_extract(value, '\$.state')" | tr '\n' ' ')" \
      = "$c:queued $b:queued $a:running " ]
br br-list --csv > "$T_TMP/list.csv"; rc=$?
cat "$T_TMP/list.csv"
check "br-list --csv: exit 0, a header and three lines" [ "$rc $(wc -l < "$T_TMP/list.csv")" = "0 4" ]
check "br-list --csv: the header" \
    [ "$(head -n 1 "$T_TMP/list.csv" | cut -d, -f1-8)" = "id,name,user,uid,state,threads,cpus,memory_bytes" ]
check "br-list --csv: sqlite3 reads it back: $c's name, state and memory" \
    [ "$(sqlite3 :memory: ".import --csv $T_TMP/list.csv t" "select name || ',' || state || ',' || memory_bytes from t where id = $c")" \
      = "queued-c,queued,268435456" ]

# 2. br-show: one task in full
br br-show "$a" > "$T_TMP/show-a" 2>&1; rc=$?
cat "$T_TMP/show-a"
check "br-show $a exits 0" [ "$rc" = 0 ]
field() { sed -n "s/^  $1: *//p" "$2" | head -n 1; }
check "br-show: the title" grep -qx "Task $a: sleeper" "$T_TMP/show-a"
check "br-show: State running" [ "$(field State "$T_TMP/show-a")" = running ]
check "br-show: the command" grep -Eq "^  Command: +/[a-z/]*sh -c 'echo started; exec sleep 300'$" "$T_TMP/show-a"
check "br-show: the CPUs" [ "$(field CPUs "$T_TMP/show-a")" = "$(row cpus "$a")" ]
check "br-show: the unit" [ "$(field Unit "$T_TMP/show-a")" = "benchrunner-task-$a.service" ]
check "br-show: queued at, in ISO local time" \
    grep -Eq '^  Queued at: +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([+-][0-9]{2}:[0-9]{2}|Z)?$' "$T_TMP/show-a"
check "br-show: running for some time" grep -Eq '^  Result: +running for ' "$T_TMP/show-a"
check "br-show: where its output is" [ "$(field 'Standard output' "$T_TMP/show-a")" = "$BR_STATE/output/$a/stdout" ]
check "br-show: stderr too" [ "$(field 'Standard error' "$T_TMP/show-a")" = "$BR_STATE/output/$a/stderr" ]
check "br-show: not truncated" [ "$(field Truncated "$T_TMP/show-a")" = no ]
check "br-show: the cleanup command" grep -q "^  Command: .*sh -c 'echo cleanup status=" "$T_TMP/show-a"
br br-show "$c" > "$T_TMP/show-c"
cat "$T_TMP/show-c"
check "br-show $c: queued, not placed" [ "$(field State "$T_TMP/show-c")/$(field CPUs "$T_TMP/show-c")" = "queued/not placed yet" ]
check "br-show $c: its environment" [ "$(field Environment "$T_TMP/show-c")" = FOO=bar ]
check "br-show $c: its limits" [ "$(field 'Memory limit' "$T_TMP/show-c")/$(field 'Time limit' "$T_TMP/show-c")" = "256.0M (268435456 bytes)/1h" ]
check "br-show $c: group and priority" [ "$(field 'Group, priority' "$T_TMP/show-c")" = "2, 7" ]
br br-show --json "$a" "$c" > "$T_TMP/show.json"; rc=$?
check "br-show --json exits 0" [ "$rc" = 0 ]
check "br-show --json: two lines" [ "$(wc -l < "$T_TMP/show.json")" = 2 ]
check "br-show --json: valid JSON" json_ok "$T_TMP/show.json"
check "br-show --json: unit and env" \
    [ "$(json_sql "$T_TMP/show.json" "coalesce(json_extract(value, '\$.unit'), 'null') || ',' || json_extract(value, '\$.env')" | tr '\n' ' ')" \
      = "benchrunner-task-$a.service,[] null,[\"FOO=bar\"] " ]
br br-show 9999 > "$T_TMP/show-x" 2> "$T_TMP/show-x.err"; rc=$?
cat "$T_TMP/show-x.err"
check "br-show of an unknown id: exit 1" [ "$rc" = 1 ]
check "br-show of an unknown id: one line" [ "$(cat "$T_TMP/show-x.err")" = "br-show: no task 9999" ]
check "br-show of an unknown id: nothing on stdout" [ ! -s "$T_TMP/show-x" ]

# 3. cancelling: another user may not; a queued task is removed and never starts
sd setpriv --reuid=65534 --regid=65534 --clear-groups env BENCHRUNNER_SOCKET="$BR_SOCK" \
    "$abs_top_builddir/br-cancel" "$b" > "$T_TMP/cx" 2> "$T_TMP/cx.err"; rc=$?
cat "$T_TMP/cx.err"
check "another user's br-cancel: exit 1" [ "$rc" = 1 ]
check "another user's br-cancel: the daemon's reason" \
    [ "$(cat "$T_TMP/cx.err")" = "br-cancel: task $b belongs to another user" ]
check "and $b is still queued" [ "$(row state "$b")" = queued ]

out=$(br br-cancel "$b" 2> "$T_TMP/cb.err"); rc=$?
cat "$T_TMP/cb.err"
check "br-cancel $b (queued): exit 0" [ "$rc" = 0 ]
check "br-cancel $b (queued): one line" [ "$out" = "cancelled task $b" ]
check "$b: finished, cancelled, never started" \
    [ "$(row "state || ',' || reason || ',' || coalesce(started_at_us, 'never')" "$b")" = finished,cancelled,never ]
check "$b's command did not run" sd test ! -e "$F/started-b"
check "completion: br-cancel no longer offers the finished $b" [ "$(comp_ids br-cancel)" = "$a $c " ]
check "$a still runs" [ "$(row state "$a")" = running ]

# 4. a running task is stopped and its cleanup command still runs
out=$(br br-cancel "$a" 2> "$T_TMP/ca.err"); rc=$?
cat "$T_TMP/ca.err"
check "br-cancel $a (running): exit 0" [ "$rc" = 0 ]
check "br-cancel $a (running): one line" [ "$out" = "cancelled task $a" ]
check "$a finishes" wait_state "$a" finished
check "$a: reason cancelled, cleanup exited 0" \
    [ "$(row "reason || ',' || cleanup_reason || ',' || cleanup_exit_code" "$a")" = cancelled,exited,0 ]
sd cat "$BR_STATE/output/$a/cleanup-stdout" > "$T_TMP/out-a"
cat "$T_TMP/out-a"
check "the cleanup command ran with BENCHRUNNER_STATUS=cancelled" grep -qx "cleanup status=cancelled" "$T_TMP/out-a"
check "its output is apart from the main command's" [ "$(sd cat "$BR_STATE/output/$a/stdout")" = started ]
check "and wrote its file" sd test -e "$F/cleanup-a"
br br-show "$a" > "$T_TMP/show-a2"
check "br-show $a: main cancelled, cleanup exited 0" \
    [ "$(sed -n 's/^  Result: *//p' "$T_TMP/show-a2" | tr '\n' ',')" = "cancelled,exited with status 0," ]

# 5. refusals: one line each, exit 1
br br-cancel 9999 > "$T_TMP/c9" 2> "$T_TMP/c9.err"; rc=$?
cat "$T_TMP/c9.err"
check "br-cancel of an unknown id: exit 1" [ "$rc" = 1 ]
check "br-cancel of an unknown id: one line" [ "$(cat "$T_TMP/c9.err")" = "br-cancel: no task 9999" ]
check "br-cancel of an unknown id: nothing on stdout" [ ! -s "$T_TMP/c9" ]
br br-cancel "$b" > /dev/null 2> "$T_TMP/cb2.err"; rc=$?
cat "$T_TMP/cb2.err"
check "br-cancel of a finished task: exit 1" [ "$rc" = 1 ]
check "br-cancel of a finished task: one line" [ "$(cat "$T_TMP/cb2.err")" = "br-cancel: task $b has already finished" ]
br br-cancel x > /dev/null 2>&1; rc=$?
check "br-cancel of a bad id: exit 2" [ "$rc" = 2 ]

# 6. --all-mine: $c (queued, or running by now) and nothing else
out=$(br br-cancel --all-mine 2> "$T_TMP/call.err"); rc=$?
cat "$T_TMP/call.err"
check "br-cancel --all-mine: exit 0" [ "$rc" = 0 ]
check "br-cancel --all-mine: $c cancelled, nothing else" [ "$out" = "cancelled task $c" ]
check "$c finishes" wait_state "$c" finished
check "$c: reason cancelled" [ "$(row reason "$c")" = cancelled ]
br br-list > "$T_TMP/list2"
cat "$T_TMP/list2"
check "br-list: all three finished and cancelled" \
    [ "$(awk 'NR > 1 { print $1 ":" $4 ":" $7 }' "$T_TMP/list2" | tr '\n' ' ')" \
      = "$c:finished:cancelled $b:finished:cancelled $a:finished:cancelled " ]
check "br-list --reason cancelled: all three" [ "$(br br-list -q --reason cancelled | tr '\n' ' ')" = "$c $b $a " ]
check "br-list --reason exited,oom: none" [ -z "$(br br-list -q --reason exited,oom)" ]
check "br-list --csv: $a's reason" [ "$(br br-list --csv --name sleeper | awk -F, 'NR == 2 { print $11 }')" = cancelled ]
out=$(br br-cancel -a 2>&1); rc=$?
check "br-cancel -a with nothing left: exit 0 ($out)" [ "$rc" = 0 ]

# 7. more tasks than one reply holds (1000): the lists page through all of
# them; the last N come newest first, without reading them all
for i in $(seq 1100); do echo "{\"argv\":[\"/bin/sleep\",\"300\"],\"name\":\"bulk-$i\"}"; done > "$T_TMP/bulk.jsonl"
sd sh -c "cd / && BENCHRUNNER_SOCKET=$BR_SOCK $abs_top_builddir/br-run --batch -" < "$T_TMP/bulk.jsonl" > "$T_TMP/bulk.ids"
first=$(head -n 1 "$T_TMP/bulk.ids"); last=$(tail -n 1 "$T_TMP/bulk.ids")
check "1100 tasks submitted ($first..$last)" [ "$(wc -l < "$T_TMP/bulk.ids")" = 1100 ]
br br-list -s queued,running,cleanup --json > "$T_TMP/bulk.json"
n=$(wc -l < "$T_TMP/bulk.json")
check "br-list -s queued,running,cleanup: the newest 20 ($n)" [ "$n" = 20 ]
br br-list -a -s queued,running,cleanup --json > "$T_TMP/bulk.json"
n=$(wc -l < "$T_TMP/bulk.json")
check "br-list -a -s queued,running,cleanup pages through all 1100 ($n)" [ "$n" = 1100 ]
check "br-list --json of 1100: valid JSON" json_ok "$T_TMP/bulk.json"
check "br-list -a --reverse --json of 1100: the ids submitted" \
    [ "$(br br-list -a --reverse -s queued,running,cleanup --json > "$T_TMP/bulk-r.json" && json_ok "$T_TMP/bulk-r.json" &&
         json_sql "$T_TMP/bulk-r.json" "json_extract(value, '\$.id')")" = "$(cat "$T_TMP/bulk.ids")" ]
br br-list -n 5 > "$T_TMP/last5"
check "br-list -n 5: the last five ids, newest first" \
    [ "$(awk 'NR > 1 { print $1 }' "$T_TMP/last5" | tr '\n' ' ')" = "$(tail -n 5 "$T_TMP/bulk.ids" | tac | tr '\n' ' ')" ]
check "br-list -a -n 5: refused" fails br br-list -a -n 5
check "br-list --name 'bulk-10?' -a: ten" [ "$(br br-list -q -a --name 'bulk-10?' | wc -l)" = 10 ]
out=$(br br-cancel --all-mine 2> "$T_TMP/bulk.err"); rc=$?
cat "$T_TMP/bulk.err"
check "br-cancel --all-mine of 1100: exit 0" [ "$rc" = 0 ]
check "br-cancel --all-mine of 1100: one line each" [ "$(echo "$out" | grep -c '^cancelled task ')" = 1100 ]
for _ in $(seq 300); do
    [ "$(br_sql "select count(*) from tasks where state != 'finished'")" = 0 ] && break; sleep 0.1
done
br br-list -a --json > "$T_TMP/all.json"
check "br-list -a: every task (1103)" [ "$(wc -l < "$T_TMP/all.json")" = 1103 ]
check "br-list -a --json: valid JSON" json_ok "$T_TMP/all.json"
br br-list > "$T_TMP/default"
check "br-list: the newest 20" \
    [ "$(awk 'NR > 1 { print $1 }' "$T_TMP/default" | tr '\n' ' ')" = "$(tail -n 20 "$T_TMP/bulk.ids" | tac | tr '\n' ' ')" ]
br br-list -s finished -n 3 --reverse > "$T_TMP/last3"
check "br-list -s finished -n 3 --reverse: the last three, oldest first" \
    [ "$(awk 'NR > 1 { print $1 }' "$T_TMP/last3" | tr '\n' ' ')" = "$(tail -n 3 "$T_TMP/bulk.ids" | tr '\n' ' ')" ]
br br-list -n 1500 --json > "$T_TMP/last1500"
check "br-list -n 1500 (more than a page): all 1103" [ "$(wc -l < "$T_TMP/last1500")" = 1103 ]
br br-list -n 1050 --json > "$T_TMP/last1050"
check "br-list -n 1050 (more than a page): valid JSON" json_ok "$T_TMP/last1050"
check "br-list -n 1050: the newest 1050, newest first" \
    [ "$(json_sql "$T_TMP/last1050" "json_extract(value, '\$.id')")" = \
      "$(json_sql "$T_TMP/all.json" "json_extract(value, '\$.id')" | head -n 1050)" ]

finish
