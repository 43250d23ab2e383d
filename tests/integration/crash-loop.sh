#!/bin/bash
# crash-loop.sh: nothing is lost and nothing runs twice when the daemon is
# killed again and again.  A batch of BR_CRASH_TASKS (100) short tasks (each
# appends its BENCHRUNNER_TASK to a file, sleeps 0.2-0.6 s and exits with
# its own status; every third has a cleanup command that does the same to
# another file) drains while the daemon, restarted by systemd
# (Restart=on-failure, as br-start's unit), is killed with SIGKILL
# BR_CRASH_KILLS (10) times: during the submit, right after a task's unit
# started, while a cleanup command runs, just after a command ended (its
# results about to be written), and at random moments.
# At the end: the batch is stored exactly once and br-run printed its ids;
# every task is finished with its real exit status; every main command and
# every cleanup command ran exactly once; no benchrunner unit is left; the
# system slices have every CPU back.  Prints the kills and the time the
# daemon took to answer again after each (median, max).  The tasks are an
# ordinary user's (the daemon's owner), submitted and run as that user.
. "$(dirname "$0")/../lib.sh"
require_systemd

N=${BR_CRASH_TASKS:-100}
KILLS=${BR_CRASH_KILLS:-10}
sd sh -c 'id brtest >/dev/null 2>&1 || useradd --create-home --user-group brtest' || { echo "FAIL: useradd"; exit 1; }
uid=$(sd id -u brtest); gid=$(sd id -g brtest)
as_user() { sd setpriv --reuid="$uid" --regid="$gid" --init-groups env BENCHRUNNER_SOCKET="$BR_SOCK" "$@"; }
BR_DAEMON_RESTART=1 br_daemon_start --cpus=1 --memory=1G --owner="$uid" || exit 1
runs=$BR_STATE/runs
cleanups=$BR_STATE/cleanups
sd sh -c ": > '$runs'; : > '$cleanups'; chown $uid:$gid '$runs' '$cleanups'"

# the batch: task i exits with i % 4
batch=$T_TMP/batch
for i in $(seq 1 "$N"); do
    ms=$((200 + (i * 37) % 400))
    printf '{"name":"crash-%d","argv":["/bin/sh","-c","echo $BENCHRUNNER_TASK >> %s; sleep %d.%03d; exit %d"]' \
        "$i" "$runs" 0 "$ms" $((i % 4))
    if [ $((i % 3)) = 0 ]; then
        printf ',"cleanup":["/bin/sh","-c","echo $BENCHRUNNER_TASK >> %s; sleep 0.1"]' "$cleanups"
    fi
    printf '}\n'
done > "$batch"

# The killer runs where the daemon runs, so that it sees a unit start
# within milliseconds.  One line per kill: "KIND MS" (MS: until the daemon
# answered again).
cat > "$T_TMP/killer" <<'KILLER'
#!/bin/bash
unit=$1 sock=$2 stats=$3 kind=$4 log=$5
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
units() {  # units STATE: the task units in that sub-state
    systemctl list-units --all --plain --no-legend 'benchrunner-task-*' 2>/dev/null |
        awk -v s="$1" '$4 == s { print $1 }'
}
# waits (at most 20 s) for the moment KIND, then kills the daemon's main process
seen=$(units running)
t_end=$(( $(now_ms) + 20000 ))
while [ "$(now_ms)" -lt "$t_end" ]; do
    case $kind in
    started) cur=$(units running | grep -v -- -cleanup)
             [ -n "$(comm -13 <(sort <<< "$seen") <(sort <<< "$cur") | grep .)" ] && break ;;
    cleanup) units running | grep -q -- -cleanup && break ;;
    ended)   [ -n "$(units exited)" ] && break ;;
    *)       break ;;
    esac
    sleep 0.01
done
[ "$(now_ms)" -lt "$t_end" ] || kind="$kind(timed-out)"
pid=$(systemctl show -p MainPID --value "$unit")
[ -n "$pid" ] && [ "$pid" -gt 0 ] || { echo "$kind no-daemon" >> "$log"; exit 0; }
kill -KILL "$pid"
t0=$(now_ms)
# until a new daemon (not the killed one) answers
for _ in $(seq 1500); do
    kill -0 "$pid" 2>/dev/null || { BENCHRUNNER_SOCKET=$sock "$stats" --once > /dev/null 2>&1 && break; }
    sleep 0.02
done
echo "$kind $(( $(now_ms) - t0 ))" >> "$log"
KILLER
chmod 755 "$T_TMP/killer"
kills=$T_TMP/kills
: > "$kills"
killer() { sd "$T_TMP/killer" "$BR_UNIT" "$BR_SOCK" "$abs_top_builddir/br-stats" "$1" "$kills"; }

# 1. a kill during the submit: the daemon is stopped (SIGSTOP) while br-run
#    connects and sends its request, then killed, so the request is lost
#    before it is stored; br-run must wait for the daemon to come back and
#    send it again, and the batch be stored exactly once
t0=$SECONDS
pid=$(sd systemctl show -p MainPID --value "$BR_UNIT")
sd kill -STOP "$pid"
as_user "$abs_top_builddir/br-run" --batch "$batch" > "$T_TMP/ids" 2> "$T_TMP/submit.err" &
brpid=$!
sleep 1
killer submit
wait $brpid; src=$?
cat "$T_TMP/submit.err"
stored=$(br_sql "select count(*) from tasks")
echo "  br-run exit $src, $(wc -l < "$T_TMP/ids") ids printed, $stored rows stored"
check "br-run said it lost the daemon and waited for it" grep -q "lost the daemon; waiting" "$T_TMP/submit.err"
check "br-run sent the batch again and exits 0 (rc=$src)" [ "$src" = 0 ]
check "br-run printed $N ids" [ "$(wc -l < "$T_TMP/ids")" = "$N" ]
check "the batch is stored exactly once: $N rows ($stored)" [ "$stored" = "$N" ]

# 2. the other kills while the batch drains
kinds=(started cleanup ended random started cleanup ended started random)
for ((k = 0; k < KILLS - 1; k++)); do
    sleep "0.$((RANDOM % 8 + 2))"
    killer "${kinds[k % ${#kinds[@]}]}"
done
cat "$kills" | sed 's/^/  kill: /'

# 3. drain
for _ in $(seq 1200); do
    [ "$(br_sql "select count(*) from tasks where state != 'finished'")" = 0 ] && break
    sleep 0.25
done
echo "  drained $((SECONDS - t0)) s after the submit"
check "$KILLS kills were made" [ "$(wc -l < "$kills")" = "$KILLS" ]
check "every task is the ordinary user's" [ "$(br_sql "select count(*) from tasks where uid = $uid")" = "$N" ]
check "every task is finished" [ "$(br_sql "select count(*) from tasks where state = 'finished'")" = "$N" ]
wrong=$(br_sql "select count(*) from tasks where reason != 'exited'
                or exit_code != cast(substr(name, 7) as integer) % 4")
check "every task has its real result: exited with its own status ($wrong wrong)" [ "$wrong" = 0 ]
br_sql "select id, name, reason, exit_code from tasks where reason != 'exited'
        or exit_code != cast(substr(name, 7) as integer) % 4 limit 10"
sd sort -n "$runs" > "$T_TMP/runs"
br_sql "select id from tasks order by id" > "$T_TMP/all"
check "every main command ran exactly once ($(wc -l < "$T_TMP/runs") runs for $N tasks)" \
    cmp -s "$T_TMP/runs" "$T_TMP/all"
sd sort -n "$cleanups" > "$T_TMP/cleanups"
br_sql "select id from tasks where cleanup_argv is not null order by id" > "$T_TMP/want-cleanups"
check "every cleanup command ran exactly once ($(wc -l < "$T_TMP/cleanups") for $(wc -l < "$T_TMP/want-cleanups"))" \
    cmp -s "$T_TMP/cleanups" "$T_TMP/want-cleanups"
check "every cleanup is recorded as exited 0" \
    [ "$(br_sql "select count(*) from tasks where cleanup_argv is not null and (cleanup_reason != 'exited' or cleanup_exit_code != 0)")" = 0 ]
dups=$(uniq -d "$T_TMP/runs" | tr '\n' ' ')
[ -z "$dups" ] || echo "  ran twice: $dups"
missing=$(comm -13 <(uniq "$T_TMP/runs") "$T_TMP/all" | tr '\n' ' ')
[ -z "$missing" ] || echo "  never ran: $missing"
check "br-run printed the ids of the batch, in order" cmp -s "$T_TMP/ids" "$T_TMP/all"
# (systemd forgets the last task's unit a moment after its row is stored)
task_units() { sd systemctl list-units --all --plain --no-legend 'benchrunner-task*' | awk '{ print $1 }' | tr '\n' ' '; }
eventually [ -z "$(task_units)" ]
left=$(task_units)
check "no task unit or slice is left behind (${left:-none})" [ -z "$left" ]
# (up to 30 s: the last kill may have come just after the last task ended,
# and the restarted daemon gives the CPUs back once it is up, on a loaded
# machine a while later; freed CPUs go back 250 ms after the last task)
slices_free() { for _ in $(seq 300); do [ -z "$(sd systemctl show -p AllowedCPUs --value "$1")" ] && return 0; sleep 0.1; done; return 1; }
for u in system.slice user.slice init.scope; do
    check "$u has every CPU back" slices_free "$u"
done
awk '{ print $2 }' "$kills" | grep -E '^[0-9]+$' | sort -n > "$T_TMP/ms"
echo "  recovery after a kill: median $(awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }' "$T_TMP/ms") ms," \
    "max $(tail -n 1 "$T_TMP/ms") ms over $(wc -l < "$T_TMP/ms") kills"
finish
