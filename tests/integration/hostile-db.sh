#!/bin/bash
# hostile-db.sh: an ordinary local user cannot stop the daemon through its
# database.  They lock whatever database file they can open (the byte SQLite
# uses as the WAL write lock on a -shm, the lock bytes of a database file)
# and keep a read transaction open on it; meanwhile another user's tasks
# are accepted and recorded at once, the history stays readable with
# sqlite3 and is published again while the attacker holds the old copy.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_user brsubmit
br_user brmallory
suid=$(sd id -u brsubmit)
br_daemon_start --cpus=1 --memory=512M --owner="$suid" --history-interval=300ms || exit 1
lock=$abs_top_builddir/tests/helpers/br-lock

id=$(as_user brsubmit "$abs_top_builddir/br-run" -w -- true); rc=$?
check "the user's first task runs (rc=$rc)" [ "$rc" = 0 ]
eventually sd test -e "$BR_HISTORY"

# every database file under the state directory the attacker can open
files=$(as_user brmallory find "$BR_STATE" -name 'tasks.db*' -readable 2>/dev/null)
echo "  readable by the attacker: $(echo $files)"
check "the attacker can read the published history" grep -qx "$BR_HISTORY" <<< "$files"
check "but no file of the live database" fails grep -q private <<< "$files"
check "nor open the live database's -shm" fails as_user brmallory "$lock" "$BR_DB-shm" 120 1 0

pids=()
for f in $files; do
    case $f in
        *-shm) off=120 len=1 ;;             # WAL_WRITE_LOCK
        *) off=$((0x40000000)) len=512 ;;   # PENDING, RESERVED, SHARED bytes
    esac
    as_user brmallory "$lock" "$f" "$off" "$len" 60 "$T_TMP/stop" > "$T_TMP/lock.$off.out" &
    pids+=($!)
done
# and a read transaction that does not end, on the copy
as_user brmallory sh -c "{ echo 'begin; select count(*) from tasks;'; \
    while [ ! -e '$T_TMP/stop' ]; do sleep 0.1; done; } | sqlite3 -batch '$BR_HISTORY'" > "$T_TMP/reader.out" 2>&1 &
pids+=($!)
sleep 1
cat "$T_TMP"/lock.*.out
check "the attacker holds its locks" grep -q '^locked' "$T_TMP"/lock.*.out

# another user's task goes through at once, and is recorded
t0=$(date +%s%N)
id2=$(as_user brsubmit "$abs_top_builddir/br-run" -w -- true); rc=$?
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
echo "  br-run -w -- true while the locks are held: rc $rc, $ms ms"
check "it succeeds (rc=$rc)" [ "$rc" = 0 ]
check "within 2 s ($ms ms)" [ "$ms" -lt 2000 ]
check "its result is in the database" [ "$(br_sql "select state || ' ' || reason from tasks where id = ${id2:-0}")" = "finished exited" ]
ids=$(as_user brsubmit "$abs_top_builddir/br-run" -n many -- true)
for i in $(seq 20); do
    ids="$ids $(as_user brsubmit "$abs_top_builddir/br-run" -n many -- true)"
done
for _ in $(seq 200); do
    [ "$(br_sql "select count(*) from tasks where name = 'many' and state = 'finished'")" = 21 ] && break
    sleep 0.1
done
n=$(br_sql "select count(*) from tasks where name = 'many' and reason = 'exited' and exit_code = 0")
check "21 more tasks ran and were recorded ($n)" [ "$n" = 21 ]

# the history is published again under the attacker's feet
for _ in $(seq 100); do
    n=$(as_user brmallory sqlite3 -batch -noheader "$BR_HISTORY" \
        "select count(*) from tasks where name = 'many' and state = 'finished'" 2>/dev/null)
    [ "$n" = 21 ] && break
    sleep 0.1
done
check "a new copy shows them to readers ($n of 21)" [ "$n" = 21 ]
check "the copy is a rollback-journal file" \
    [ "$(as_user brmallory sqlite3 -batch -noheader "$BR_HISTORY" 'pragma journal_mode')" = delete ]
wal=$(sd stat -c %s "$BR_DB-wal" 2>/dev/null || echo 0)
echo "  live -wal: $wal bytes"
check "the live WAL stays under 64 MiB ($wal bytes)" [ "$wal" -lt $((64 << 20)) ]
check "the live database is root's alone" [ "$(sd stat -c %a "$(dirname "$BR_DB")")" = 700 ]

touch "$T_TMP/stop"
wait "${pids[@]}"
# A write that cannot be done now is kept and retried: root's own sqlite3
# holds the live database's write lock for 3 s while a task ends.
as_user brsubmit "$abs_top_builddir/br-run" -w -n held -- sleep 1 > "$T_TMP/held.out" 2>&1 &
runpid=$!
sleep 0.3
sd sh -c "{ echo 'begin immediate;'; sleep 3; echo 'commit;'; } | sqlite3 '$BR_DB'" &
lockpid=$!
sleep 0.3
t0=$(date +%s%N)
br br-stats --once > /dev/null; rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "  br-stats --once while root holds the write lock: rc $rc, $ms ms"
check "the daemon answers at once meanwhile ($ms ms)" eval '[ "$rc" = 0 ] && [ "$ms" -lt 1000 ]'
out=$(as_user brsubmit "$abs_top_builddir/br-run" -n refused -- true 2>&1); rc=$?
echo "  a submit meanwhile: rc $rc: $out"
check "a submit that cannot be stored is refused, saying so" eval '[ "$rc" != 0 ] && grep -q "could not store" <<< "$out"'
wait "$lockpid"
wait "$runpid"; rc=$?
cat "$T_TMP/held.out"
check "the task that ended meanwhile is reported to its waiting client (rc=$rc)" [ "$rc" = 0 ]
check "and recorded once the lock is gone" \
    [ "$(br_sql "select state || ' ' || reason || ' ' || exit_code from tasks where name = 'held'")" = "finished exited 0" ]
check "the refused submit left no row" [ "$(br_sql "select count(*) from tasks where name = 'refused'")" = 0 ]
check "the daemon logged the retry" grep -q 'could not be written before' <<< "$(br_daemon_log)"
id3=$(as_user brsubmit "$abs_top_builddir/br-run" -w -- true); rc=$?
check "tasks run again afterwards (rc=$rc)" [ "$rc" = 0 ]

check "the daemon never restarted" [ "$(sd systemctl show -P NRestarts "$BR_UNIT")" = 0 ]
finish
