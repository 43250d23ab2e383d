#!/bin/bash
# hostile-conns.sh: an ordinary local user cannot starve the daemon of
# descriptors or memory through its socket.  One user (brflood, who may not
# submit) opens 2000 idle connections and 200 more that each send 8 MiB with
# no newline; then the same from a user of the submit group (brflood2), who
# may send long lines; then a user who follows tasks and never reads.
# Meanwhile another user's `br-run -w -- true` goes through within 2 s, the
# tasks submitted meanwhile all run, the daemon's peak RSS stays under 64 MiB
# and it does not spin (CPU time).
. "$(dirname "$0")/../lib.sh"
require_systemd
br_user brsubmit
br_user brflood
br_user brflood2
sd sh -c 'getent group brsubmitters >/dev/null || groupadd brsubmitters; usermod -aG brsubmitters brsubmit;
    usermod -aG brsubmitters brflood2'
# ASan keeps freed memory in quarantine (256 MiB): the RSS would tell about
# ASan, not about the daemon
BR_DAEMON_ASAN_OPTIONS=quarantine_size_mb=0:thread_local_quarantine_size_kb=0
br_daemon_start --cpus=1 --memory=512M --group=brsubmitters || exit 1
flood=$abs_top_builddir/tests/helpers/br-flood
pid=$(sd systemctl show -P MainPID "$BR_UNIT")
hz=$(sd getconf CLK_TCK)
# cpu_ms: the daemon's user + system time so far
cpu_ms() { sd cat "/proc/$pid/stat" | sed 's/.*) //' | awk -v hz="$hz" '{ print int(($12 + $13) * 1000 / hz) }'; }
status() { sd sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$pid/status"; }

id=$(as_user brsubmit "$abs_top_builddir/br-run" -w -- true); rc=$?
check "the user's first task runs (rc=$rc)" [ "$rc" = 0 ]
echo "  before: VmRSS $(($(status VmRSS) / 1024)) MiB"

# flood FLOODER: one round of the attack, with another user's work meanwhile
flood() {
    local who=$1 c0 c1 t0 ms rc ids n
    c0=$(cpu_ms)
    as_user "$who" "$flood" "$BR_SOCK" 10 2000 200 $((8 << 20)) > "$T_TMP/flood.$who" 2>&1 &
    local fpid=$!
    sleep 3
    t0=$(date +%s%N)
    as_user brsubmit "$abs_top_builddir/br-run" -w -- true > "$T_TMP/run.$who" 2>&1; rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    echo "  $who: br-run -w -- true during the flood: rc $rc, $((ms / 1000)).$(printf %03d $((ms % 1000))) s"
    [ "$rc" = 0 ] || head -c 300 "$T_TMP/run.$who"
    check "$who: another user's br-run -w succeeds (rc=$rc)" [ "$rc" = 0 ]
    check "$who: within 2 s ($ms ms)" [ "$ms" -lt 2000 ]
    ids=
    for _ in 1 2 3 4 5; do
        ids="$ids $(as_user brsubmit "$abs_top_builddir/br-run" -n "during-$who" -- true 2>/dev/null)"
    done
    wait "$fpid"
    c1=$(cpu_ms)
    echo "  $who: $(cat "$T_TMP/flood.$who")"
    check "$who: the flood ran" grep -q '^connections: [1-9]' "$T_TMP/flood.$who"
    echo "  $who: daemon CPU time over the 10 s flood: $((c1 - c0)) ms"
    check "$who: the daemon does not spin ($((c1 - c0)) ms of CPU in 10 s)" [ $((c1 - c0)) -lt 3000 ]
    for _ in $(seq 100); do
        [ "$(br_sql "select count(*) from tasks where name = 'during-$who' and state = 'finished'")" = 5 ] && break
        sleep 0.1
    done
    n=$(br_sql "select count(*) from tasks where name = 'during-$who' and reason = 'exited' and exit_code = 0")
    check "$who: the 5 tasks submitted during the flood ran ($n)" [ "$n" = 5 ]
    n=$(br_sql "select count(*) from tasks where reason = 'failed-to-start'")
    check "$who: no task failed to start ($n)" [ "$n" = 0 ]
    echo "  $who: VmRSS $(($(status VmRSS) / 1024)) MiB, VmHWM $(($(status VmHWM) / 1024)) MiB"
}
flood brflood
flood brflood2

# A follower that never reads: 30 tasks of 120 KiB each, whose events
# (about 250 KiB a task) it leaves unread.
arg=$(head -c $((120 << 10)) /dev/zero | tr '\0' x)
{
    printf '{"v":4,"op":"submit","follow":true,"tasks":['
    for i in $(seq 30); do
        [ "$i" = 1 ] || printf ,
        printf '{"argv":["/bin/true","%s"],"cwd":"/","name":"mute"}' "$arg"
    done
    printf ']}\n'
} > "$T_TMP/mute.req"
as_user brsubmit "$flood" "$BR_SOCK" 8 mute < "$T_TMP/mute.req" > "$T_TMP/mute.out" 2>&1
echo "  follower that never reads: $(cat "$T_TMP/mute.out")"
check "the follower that never reads is dropped" grep -q '^dropped' "$T_TMP/mute.out"
for _ in $(seq 100); do
    [ "$(br_sql "select count(*) from tasks where name = 'mute' and state = 'finished'")" = 30 ] && break
    sleep 0.1
done
n=$(br_sql "select count(*) from tasks where name = 'mute' and reason = 'exited'")
check "its tasks ran all the same ($n of 30)" [ "$n" = 30 ]

hwm=$(status VmHWM)
echo "  daemon peak RSS (VmHWM): $((hwm / 1024)) MiB"
check "the daemon's RSS stayed under 64 MiB ($((hwm / 1024)) MiB)" [ "$hwm" -lt $((64 << 10)) ]
check "the daemon raised its descriptor limit" \
    [ "$(sd sed -n 's/^Max open files *\([0-9]*\).*/\1/p' "/proc/$pid/limits")" -ge 16384 ]
id=$(as_user brsubmit "$abs_top_builddir/br-run" -w -- true); rc=$?
check "tasks still run afterwards (rc=$rc)" [ "$rc" = 0 ]
check "the daemon never restarted" [ "$(sd systemctl show -P NRestarts "$BR_UNIT")" = 0 ]
finish
