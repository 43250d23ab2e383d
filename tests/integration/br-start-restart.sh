#!/bin/bash
# br-start-restart.sh: the daemon br-start starts comes back by itself after
# a crash (SIGKILL, SIGSEGV, SIGABRT), finds its running task again and
# records its real result; br-start with the same resources then says the
# daemon runs and exits 0, with other resources it says what runs and
# refuses; a service left failed (a daemon that could not start) does not
# keep the next br-start from starting the daemon.
. "$(dirname "$0")/../lib.sh"
require_systemd

BR_STATE=/var/lib/br-test/$T_NAME.$$
BR_SOCK=$BR_STATE/br.sock
BR_DB=$BR_STATE/private/tasks.db
BR_UNIT=br-test-$T_NAME-$$.service
sd mkdir -p -m 0755 "$BR_STATE"
br_units_clean

start() {   # start ARGS...: br-start for this test's unit and paths
    sd "$abs_top_builddir/br-start" --daemon="$abs_top_builddir/benchrunnerd" --unit="${BR_UNIT%.service}" \
        --socket="$BR_SOCK" --db="$BR_DB" --state-dir="$BR_STATE" --cpus=1 "$@"
}
prop() { sd systemctl show -p "$1" --value "$BR_UNIT"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

start -m 256M > "$T_TMP/out" 2> "$T_TMP/err"; rc=$?
cat "$T_TMP/out" "$T_TMP/err"
check "br-start exits 0 (rc=$rc)" [ "$rc" = 0 ]
check "the unit restarts a crashed daemon (Restart=on-failure)" [ "$(prop Restart)" = on-failure ]
id=$(br br-run -m 64M -n survivor -- sh -c 'sleep 4; exit 5')
check "a task was submitted" [ -n "$id" ]
sleep 0.5

# crash the daemon three ways; each time it must answer again by itself
for sig in KILL SEGV ABRT; do
    pid=$(prop MainPID); n0=$(prop NRestarts)
    sd kill -"$sig" "$pid"
    t0=$(now_ms)
    for _ in $(seq 200); do
        p=$(prop MainPID)
        [ "$p" != "$pid" ] && [ "$p" != 0 ] && br br-stats --once > /dev/null 2>&1 && break
        sleep 0.05
    done
    t=$(( $(now_ms) - t0 ))
    echo "  SIG$sig: daemon $pid -> $(prop MainPID), answering after $t ms, NRestarts $n0 -> $(prop NRestarts)"
    check "after SIG$sig the daemon came back by itself within 10 s ($t ms)" \
        [ "$(prop MainPID)" != "$pid" -a "$(prop NRestarts)" -gt "$n0" ]
done
for _ in $(seq 100); do
    [ "$(br_sql "select state from tasks where id=$id")" = finished ] && break; sleep 0.1
done
check "the task running through the crashes has its real result (exited 5)" \
    [ "$(br_sql "select state||' '||reason||' '||exit_code from tasks where id=$id")" = "finished exited 5" ]

# br-start again: same resources, no resources, other resources
start -m 256M > "$T_TMP/out" 2> "$T_TMP/err"; rc=$?
cat "$T_TMP/out" "$T_TMP/err"
check "br-start with the same resources exits 0 (rc=$rc)" [ "$rc" = 0 ]
check "and says the daemon is already running" grep -q "already running" "$T_TMP/out"
start > "$T_TMP/out" 2> "$T_TMP/err"; rc=$?
check "br-start without -m exits 0 too (rc=$rc)" [ "$rc" = 0 ]
start -m 128M > "$T_TMP/out" 2> "$T_TMP/err"; rc=$?
cat "$T_TMP/err"
check "br-start with other memory exits 1 (rc=$rc)" [ "$rc" = 1 ]
check "in one line that says what runs" \
    [ "$(wc -l < "$T_TMP/err")" = 1 -a -n "$(grep 'already runs with 1 CPU thread and memory 256' "$T_TMP/err")" ]
check "and leaves the daemon alone" br br-stats --once
sd systemctl stop "$BR_UNIT"

# a daemon that cannot start leaves its service failed or restarting; the
# next br-start (with the real daemon) must still work
sd "$abs_top_builddir/br-start" --daemon=/bin/false --unit="${BR_UNIT%.service}" \
    --socket="$BR_SOCK" --db="$BR_DB" --state-dir="$BR_STATE" --cpus=1 -m 256M > /dev/null 2>&1
echo "  after a daemon that cannot start: $(prop ActiveState)/$(prop SubState)"
start -m 256M > "$T_TMP/out" 2> "$T_TMP/err"; rc=$?
cat "$T_TMP/out" "$T_TMP/err"
check "br-start after a failed start exits 0 (rc=$rc)" [ "$rc" = 0 ]
check "and the daemon answers" br br-stats --once
sd systemctl stop "$BR_UNIT"
finish
