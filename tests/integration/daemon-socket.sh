#!/bin/bash
# daemon-socket.sh: a second benchrunnerd on the same socket refuses to start
# and leaves the first one serving; a stale socket (its daemon was killed) is
# replaced; a file that is not a socket is left alone.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_daemon_start --cpus=1 --memory=512M || exit 1

# second DAEMON-OPTIONS...: a second daemon on this test's socket, as a unit
second() {
    sd systemd-run --quiet --unit="$BR_UNIT2" -p Type=notify --setenv=ASAN_OPTIONS=detect_leaks=0 \
        "$abs_top_builddir/benchrunnerd" --socket="$BR_SOCK" --cpus=1 --memory=512M "$@" 2>/dev/null
}
BR_UNIT2=br-test-$T_NAME-second-$$.service
stop_second() { sd systemctl stop "$BR_UNIT2" 2>/dev/null; sd systemctl reset-failed "$BR_UNIT2" 2>/dev/null; true; }

id=$(br br-run -- /bin/true); rc=$?
check "the first daemon takes a task (rc=$rc)" eval '[ "$rc" = 0 ] && [ -n "$id" ]'

second --db="$BR_STATE/second.db" --state-dir="$BR_STATE/second"; rc=$?
check "a second daemon on the same socket does not start (rc=$rc)" [ "$rc" != 0 ]
log2=$(sd journalctl -u "$BR_UNIT2" --no-pager -o cat)
echo "  second daemon: $(echo "$log2" | grep -i listening)"
check "it says another benchrunnerd is listening on the socket" \
    grep -q "Another benchrunnerd is listening on $BR_SOCK" <<< "$log2"
check "it did not open its database" sd test ! -e "$BR_STATE/second.db"
stop_second
check "the first daemon still answers" br br-stats --once
id2=$(br br-run -- /bin/true)
check "and still takes tasks (id $id2 after $id)" [ "$id2" = $((id + 1)) ]

# a daemon killed outright leaves its socket behind: the next one replaces it
sd systemctl kill -s KILL "$BR_UNIT"
for _ in $(seq 50); do sd systemctl is-active -q "$BR_UNIT" || break; sleep 0.1; done
check "a killed daemon's socket stays behind" sd test -S "$BR_SOCK"
second --db="$BR_DB" --state-dir="$BR_STATE"; rc=$?
check "a new daemon starts over the stale socket (rc=$rc)" [ "$rc" = 0 ]
check "and answers" br br-stats --once
stop_second

# a file that is not a socket is not replaced
sd rm -f "$BR_SOCK"
sd sh -c "echo precious > '$BR_SOCK'"
second --db="$BR_DB" --state-dir="$BR_STATE"; rc=$?
check "no daemon starts over a regular file (rc=$rc)" [ "$rc" != 0 ]
check "the file is left as it was" [ "$(sd cat "$BR_SOCK")" = precious ]
check "the daemon says why" \
    sd sh -c "journalctl -u '$BR_UNIT2' --no-pager -o cat | grep -q 'is not a socket'"
stop_second
sd rm -f "$BR_SOCK"

finish
