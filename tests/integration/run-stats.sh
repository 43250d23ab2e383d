#!/bin/bash
# run-stats.sh: br-stats prints the running and queued counts on every change
# while a batch runs, and once with --once.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_daemon_start --cpus=1 --memory=1G || exit 1

first=$(br br-stats --once)
echo "$first"
check "br-stats --once prints the idle counts" [ "${first%% (*}" = "running 0, queued 0" ]

# follow while a batch of 4 one-thread tasks runs on one CPU
sd timeout 20 env BENCHRUNNER_SOCKET="$BR_SOCK" "$abs_top_builddir/br-stats" --json > "$T_TMP/stats" &
spid=$!
sleep 0.5
for i in 1 2 3 4; do echo '{"argv":["/bin/sleep","0.3"]}'; done > "$T_TMP/batch.jsonl"
sd sh -c "cd / && BENCHRUNNER_SOCKET=$BR_SOCK $abs_top_builddir/br-run --wait --batch -" < "$T_TMP/batch.jsonl" > "$T_TMP/ids"
rc=$?
sleep 0.5
kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
sd sh -c 'pkill -P 1 -x timeout' 2>/dev/null || true
cat "$T_TMP/ids" | tr '\n' ' '; echo
check "the batch of 4 ran (br-run exit 0)" eval '[ "$rc" = 0 ] && [ "$(wc -l < "$T_TMP/ids")" = 4 ]'
sed 's/"threads_busy.*//' "$T_TMP/stats"
n=$(wc -l < "$T_TMP/stats")
rq() { sed -n 's/.*"running":\([0-9]*\).*"queued":\([0-9]*\).*/\1 \2/p' "$T_TMP/stats"; }
check "a line for every change: at least 8 lines ($n)" [ "$n" -ge 8 ]
check "it showed 3 queued behind 1 running" grep -qx '1 3' <(rq)
check "it showed the queue draining (1 running, 0 queued)" grep -qx '1 0' <(rq)
check "it ended idle" [ "$(rq | tail -n 1)" = "0 0" ]
check "no two consecutive lines are the same" [ -z "$(uniq -d "$T_TMP/stats")" ]

finish
