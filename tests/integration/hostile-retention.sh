#!/bin/bash
# hostile-retention.sh: a user's output and rows cannot grow the disk
# without limit (issue 11, point 1; docs/retention.md), as ordinary users.
# (a) --max-user-output: a user's finished output past their total goes,
#     theirs oldest first, another user's stays; a running task that writes
#     more than the user's total is cut to it.
# (b) --keep-output=DURATION: output older than that is removed (at the
#     daemon's start, then every minute); the row stays and says so.
# (c) --keep-tasks=SIZE: a submit-then-cancel loop of tasks with 200 KB
#     commands keeps the database near SIZE, dropping the looping user's
#     own oldest rows, not another user's.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_user brown
br_user brother
ouid=$(sd id -u brown)
run="$abs_top_builddir/br-run"
opts=(--cpus=1 --memory=1G --owner="$ouid" --group=brother)
submit() { as_user "$1" "$run" "${@:2}" | tail -n 1; }
kept() { sd test -e "$BR_STATE/output/$1/stdout"; }
mib=1048576

# ---- (a) a user's total ----
br_daemon_start "${opts[@]}" --output-cap=8M --max-user-output=3M || exit 1
theirs=$(submit brother -w -- sh -c "head -c $((2 * mib)) /dev/zero")
ids=()
for i in 1 2 3; do ids+=("$(submit brown -w -- sh -c "head -c $((mib + mib / 2)) /dev/zero")"); done
echo "  brown's tasks ${ids[*]} wrote 1.5 MiB each, brother's $theirs 2 MiB; the total is 3 MiB a user"
check "brown's oldest output went (task ${ids[0]})" fails kept "${ids[0]}"
check "brown's newer output stays" eval 'kept "${ids[1]}" && kept "${ids[2]}"'
check "brother's output stays" kept "$theirs"
check "the row says when it went" test -n "$(br_sql "select output_removed_at_us from tasks where id = ${ids[0]}")"
check "br-show says so" eval 'as_user brown "$abs_top_builddir/br-show" "${ids[0]}" | grep -q "retention"'
id=$(submit brown -w -- sh -c "head -c $((10 * mib)) /dev/zero; sleep 3")
size=$(sd stat -c %s "$BR_STATE/output/$id/stdout")
echo "  a running task that wrote 10 MiB (cap 8 MiB, the user's total 3 MiB): $size bytes kept"
check "a running task is cut to the user's total ($size bytes)" test "$size" -le $((3 * mib))
check "... and marked cut" test "$(br_sql "select output_truncated from tasks where id = $id")" = 1
br_daemon_stop

# ---- (b) by age ----
br_daemon_start "${opts[@]}" --keep-output=2s || exit 1
old=$(submit brown -w -- echo old)
sleep 3
br_daemon_stop
br_daemon_start "${opts[@]}" --keep-output=2s || exit 1
check "output older than --keep-output is gone after a start" eventually eval '! kept "$old"'
check "its row stays" test "$(br_sql "select state from tasks where id = $old")" = finished
br_daemon_stop

# ---- (c) submit and cancel in a loop ----
br_daemon_start "${opts[@]}" --keep-tasks=2M || exit 1
theirs=$(submit brother -w -- echo brothers)
blocker=$(submit brown -- sleep 120)
pad=$(head -c 100000 /dev/zero | tr '\0' x)
for _ in $(seq 40); do printf '{"argv":["/bin/true","%s","%s"]}\n' "$pad" "$pad"; done > "$T_TMP/batch"
chmod 0644 "$T_TMP/batch"
used_bytes() {
    br_sql "select (page_count - freelist_count) * page_size from pragma_page_count, pragma_freelist_count, pragma_page_size"
}
settled=0 peak=0
for round in 1 2 3 4 5; do
    as_user brown "$run" --batch - < "$T_TMP/batch" > "$T_TMP/ids" 2>&1 ||
        bad "round $round: the batch was refused: $(head -c 300 "$T_TMP/ids")"
    as_user brown "$abs_top_builddir/br-cancel" $(grep -o '^[0-9]*$' "$T_TMP/ids") > /dev/null 2>&1
    used=$(used_bytes); [ "$used" -gt "$peak" ] && peak=$used
    # the database is looked at every 2 s
    eventually eval '[ "$(used_bytes)" -le $((3 * mib)) ]' && settled=$((settled + 1))
    echo "  round $round: $used bytes of the database in use after the cancel, then $(used_bytes)"
done
rows=$(br_sql "select count(*) from tasks")
echo "  5 rounds of 40 tasks of 200 KB submitted and cancelled (40 MB): at most $peak bytes in use, $rows rows left"
check "after each round the database is back under --keep-tasks + 1M ($settled of 5)" test "$settled" = 5
check "the other user's row stays" test "$(br_sql "select count(*) from tasks where id = $theirs")" = 1
check "the running task's row stays" test "$(br_sql "select state from tasks where id = $blocker")" = running
as_user brown "$abs_top_builddir/br-cancel" "$blocker" > /dev/null
check "tasks still run" eval '[ "$(as_user brother "$run" -w -- true > /dev/null; echo $?)" = 0 ]'
finish
