#!/bin/bash
# br-start.sh: br-start checks and passes on the daemon's settings
# (--cleanup-time-limit, --output-cap, --max-queued, -v), and gives the
# daemon, when no -m is named, 3/4 of the memory available: the daemon's
# own rule.
. "$(dirname "$0")/../lib.sh"
require_systemd

BR_STATE=/var/lib/br-test/$T_NAME.$$
BR_SOCK=$BR_STATE/br.sock
BR_UNIT=br-test-$T_NAME-$$.service
sd mkdir -p -m 0755 "$BR_STATE"
br_units_clean

# start ARGS...: br-start for this test's unit and paths, inside
start() {
    sd "$abs_top_builddir/br-start" --daemon="$abs_top_builddir/benchrunnerd" --unit="${BR_UNIT%.service}" \
        --socket="$BR_SOCK" --db="$BR_STATE/private/tasks.db" --state-dir="$BR_STATE" --cpus=1 "$@"
}
execstart() { sd systemctl show -p ExecStart --value "$BR_UNIT"; }

# bad values: one line, nothing started
refuse() {   # refuse DESCRIPTION ARGS...
    local what=$1; shift
    start "$@" > "$T_TMP/out" 2> "$T_TMP/err"; local rc=$?
    echo "  $what: rc=$rc: $(cat "$T_TMP/err")"
    check "$what: exit 1" [ "$rc" = 1 ]
    check "$what: one line on stderr" [ "$(wc -l < "$T_TMP/err")" = 1 ]
    check "$what: no daemon started" sd test ! -S "$BR_SOCK"
}
refuse "--cleanup-time-limit=5y" -m 256M --cleanup-time-limit=5y
refuse "--cleanup-time-limit=0" -m 256M --cleanup-time-limit=0
refuse "--output-cap=lots" -m 256M --output-cap=lots
refuse "--max-queued=0" -m 256M --max-queued=0
refuse "--max-queued=x" -m 256M --max-queued=x

# passed on
start -m 256M --cleanup-time-limit=5m --output-cap=1M --max-queued=7 -v > "$T_TMP/out" 2> "$T_TMP/err"; rc=$?
cat "$T_TMP/out" "$T_TMP/err"
check "br-start with the daemon's settings exits 0 (rc=$rc)" [ "$rc" = 0 ]
cmd=$(execstart)
for a in --cleanup-time-limit=5m --output-cap=1M --max-queued=7 --verbose; do
    check "the daemon got $a" grep -q -- " $a " <<< "$cmd "
done
check "-v: the daemon logs debugging messages" \
    sd sh -c "journalctl -u '$BR_UNIT' --no-pager -o cat -p debug..debug | grep -q ."
sd systemctl stop "$BR_UNIT"

# default memory: 3/4 of MemAvailable (read inside, just before)
avail=$(( $(sd awk '/^MemAvailable:/ { print $2 }' /proc/meminfo) * 1024 ))
start > "$T_TMP/out" 2> "$T_TMP/err"; rc=$?
cat "$T_TMP/out" "$T_TMP/err"
check "br-start without -m exits 0 (rc=$rc)" [ "$rc" = 0 ]
mem=$(execstart | grep -o -- '--memory=[0-9]*' | cut -d= -f2)
want=$((avail / 4 * 3))
echo "  MemAvailable $avail, 3/4 $want, given $mem"
check "the daemon got 3/4 of the available memory (within 5%)" \
    between "$mem" $((want * 95 / 100)) $((want * 105 / 100))
sd systemctl stop "$BR_UNIT"

finish
