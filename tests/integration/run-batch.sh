#!/bin/bash
# run-batch.sh: br-run --batch --wait whose tasks go in over several submit
# requests, on one CPU, so that tasks of the first request finish while a
# later one is still being answered.  br-run must count (and with --json
# print) those early events, or it waits forever for events it already had.
#
# Each task carries a 100 kB argument, so the 8 MiB line limit splits the
# batch into requests of about 80 tasks; 1100 plain tasks (two requests by
# PROTO_SUBMIT_MAX) would take about 90 s here, and the first task ends long
# after the second request was answered, so they would not show the bug.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_daemon_start --cpus=1 --memory=1G || exit 1

N=150
pad=$(head -c 100000 /dev/zero | tr '\0' x)
for _ in $(seq $N); do printf '{"argv":["/bin/true","%s"]}\n' "$pad"; done > "$T_TMP/batch"

# bare ids, exit status of the last task
start=$(date +%s)
sd env BENCHRUNNER_SOCKET="$BR_SOCK" timeout 120 "$abs_top_builddir/br-run" --batch "$T_TMP/batch" --wait \
    > "$T_TMP/ids" 2> "$T_TMP/err"; rc=$?
cat "$T_TMP/err"
echo "br-run --batch --wait of $N tasks took $(($(date +%s) - start))s"
check "br-run --batch --wait exits 0 (rc=$rc; 124: it hung)" [ "$rc" = 0 ]
check "one id per task" [ "$(wc -l < "$T_TMP/ids")" = $N ]
check "all $N rows finished, exited 0" \
    [ "$(br_sql "select count(*) from tasks where state='finished' and reason='exited' and exit_code=0")" = $N ]

# --json: every task's finished event, the early ones too
sd env BENCHRUNNER_SOCKET="$BR_SOCK" timeout 120 "$abs_top_builddir/br-run" --json --batch "$T_TMP/batch" --wait \
    > "$T_TMP/json" 2> "$T_TMP/err2"; rc=$?
cat "$T_TMP/err2"
check "br-run --json --batch --wait exits 0 (rc=$rc)" [ "$rc" = 0 ]
check "--json: more than one ids line, so more than one request" [ "$(grep -c '^{"ids":' "$T_TMP/json")" -gt 1 ]
check "--json: $N finished events" [ "$(grep -c '^{"event":"finished",.*"state":"finished"' "$T_TMP/json")" = $N ]

# a request sent again with the same token (as br-run does after losing the
# connection) is stored once and answered with the same ids; the same token
# for another request is refused
before=$(br_sql "select count(*) from tasks")
req='{"v":4,"op":"submit","token":"run-batch-tok-1","tasks":[{"argv":["/bin/true"],"cwd":"/"},{"argv":["/bin/true"],"cwd":"/"}]}'
a=$(echo "$req" | sd "$abs_top_builddir/tests/helpers/br-send" "$BR_SOCK")
b=$(echo "$req" | sd "$abs_top_builddir/tests/helpers/br-send" "$BR_SOCK")
echo "  first: $a"; echo "  again: $b"
check "the first request with a token is stored" grep -q '"ids":\[[0-9]*,[0-9]*\]' <<< "$a"
check "sent again, it gets the same ids" [ "$(grep -o '"ids":[^]]*]' <<< "$a")" = "$(grep -o '"ids":[^]]*]' <<< "$b")" ]
check "and is stored once (2 rows more, not 4)" [ "$(br_sql "select count(*) from tasks")" = $((before + 2)) ]
c=$(echo '{"v":4,"op":"submit","token":"run-batch-tok-1","tasks":[{"argv":["/bin/true"],"cwd":"/"}]}' |
    sd "$abs_top_builddir/tests/helpers/br-send" "$BR_SOCK")
echo "  other request, same token: $c"
check "the same token for another request is refused" grep -q '"ok":false.*token run-batch-tok-1 was used' <<< "$c"

finish
