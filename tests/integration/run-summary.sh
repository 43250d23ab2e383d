#!/bin/bash
# run-summary.sh: br-summary against the real daemon and its history copy:
# repeated runs of two names summarised; the mean, sample sd, median, min,
# max and CV of the wall time checked against values the test computes
# itself from the database; a slow run flagged as an outlier; runs that did
# not exit 0 left out unless --all; the same from the history copy when
# the daemon is down.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_daemon_start --cpus=1 --memory=1G --history-interval=1s || exit 1

# 6 runs of "short", one of them much slower; 3 of "other"; one failing
{
    for i in 1 2 3 4 5; do echo '{"argv":["/bin/sleep","0.1"],"name":"short"}'; done
    echo '{"argv":["/bin/sleep","1.5"],"name":"short"}'
    for i in 1 2 3; do echo '{"argv":["/bin/sleep","0.2"],"name":"other"}'; done
    echo '{"argv":["/bin/false"],"name":"short"}'
} > "$T_TMP/b.jsonl"
sd mkdir -p -m 0755 "$BR_STATE/s"
sd cp "$T_TMP/b.jsonl" "$BR_STATE/s/b.jsonl"
br br-run --batch "$BR_STATE/s/b.jsonl" -w > "$T_TMP/ids" 2>/dev/null
slow=$(sed -n 6p "$T_TMP/ids")
br br-summary --json > "$T_TMP/sum.json"; rc=$?
cat "$T_TMP/sum.json"
check "br-summary --json: exit 0, one line per name" [ "$rc $(wc -l < "$T_TMP/sum.json")" = "0 2" ]
j() { sqlite3 :memory: "select json_extract(value, '\$.$2') from json_each(readfile('$T_TMP/sum.array')) where json_extract(value, '\$.name') = '$1'"; }
{ echo '['; paste -sd, "$T_TMP/sum.json"; echo ']'; } > "$T_TMP/sum.array"
check "short: 6 runs (the failing one left out), other: 3" [ "$(j short runs) $(j other runs)" = "6 3" ]

# the test's own figures, from the rows: mean, sample sd, median, min, max
br_sql "select wall_us from tasks where name = 'short' and reason = 'exited' and exit_code = 0 order by id" > "$T_TMP/w"
read -r mean sd median min max < <(sort -n "$T_TMP/w" | awk '{ v[NR] = $1; s += $1 } END {
    m = s / NR; for (i = 1; i <= NR; i++) q += (v[i] - m) ^ 2
    med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.3f %.3f %.3f %d %d\n", m, sqrt(q / (NR - 1)), med, v[1], v[NR] }')
echo "  the test's figures for short: mean $mean sd $sd median $median min $min max $max"
near() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(d < 0.01 && d > -0.01) }'; }
check "short: the mean as computed here ($mean)" near "$(j short wall_us.mean)" "$mean"
check "short: the sd ($sd)" near "$(j short wall_us.sd)" "$sd"
check "short: the median ($median)" near "$(j short wall_us.median)" "$median"
check "short: min and max ($min, $max)" [ "$(j short wall_us.min) $(j short wall_us.max)" = "$min.0 $max.0" ]
check "short: cv = sd / mean" near "$(j short wall_us.cv)" "$(awk -v s="$sd" -v m="$mean" 'BEGIN { printf "%.6f", s / m }')"
check "short: the slow run $slow is the outlier" [ "$(j short wall_us.outliers)" = "[$slow]" ]
check "other: its runs only (7, 8, 9)" [ "$(j other ids)" = "[7,8,9]" ]
check "cpu and peak memory are summarised too" \
    eval '[ "$(j short cpu_us.n)" = 6 ] && [ "$(j short peak_memory_bytes.n)" = 6 ]'
check "--all: the failing run counts (7)" eval '[ "$(br br-summary --all --json --name short | grep -o "\"runs\":[0-9]*")" = "\"runs\":7" ]'
out=$(br br-summary --name short)
echo "$out"
check "the table: the name, then wall, cpu and memory lines" \
    eval '[ "$(printf "%s\n" "$out" | head -n 1)" = short ] && printf "%s" "$out" | grep -q "^  wall *6 runs .*outliers: $slow$"'
out=$(br br-summary --name nothing 2>&1); rc=$?
check "nothing matches: exit 0, one line" eval '[ "$rc" = 0 ] && [ "$out" = "br-summary: no finished task matches" ]'

# without the daemon: the history copy
sleep 2
br_daemon_stop
br br-summary --history "$BR_HISTORY" --json > "$T_TMP/off.json" 2> "$T_TMP/off.err"; rc=$?
cat "$T_TMP/off.err"
check "daemon stopped: exit 0, the same summary from the history copy" \
    eval '[ "$rc" = 0 ] && cmp -s "$T_TMP/off.json" "$T_TMP/sum.json"'
check "and a line that says so" grep -q "history copy" "$T_TMP/off.err"

# br-run --repeat: one series; --interleave: round by round
br_daemon_start --cpus=1 --memory=1G --history-interval=1s || exit 1
br br-run --repeat 4 -n rep -w -- /bin/sleep 0.05 > "$T_TMP/rep.ids" 2>/dev/null
check "--repeat 4: four tasks" [ "$(wc -l < "$T_TMP/rep.ids")" = 4 ]
check "one series, the name's" [ "$(br_sql "select group_concat(distinct series) from tasks where name = 'rep'")" = rep ]
out=$(br br-summary --series rep --json)
check "br-summary --series rep: 4 runs" grep -q '"name":"rep","runs":4' <<< "$out"
check "br-list --series rep: the four" [ "$(br br-list -q --series rep | sort -n)" = "$(sort -n "$T_TMP/rep.ids")" ]
printf '{"argv":["/bin/true"],"name":"la"}\n{"argv":["/bin/true"]}\n' > "$T_TMP/il.jsonl"
sd cp "$T_TMP/il.jsonl" "$BR_STATE/s/il.jsonl"
br br-run --batch "$BR_STATE/s/il.jsonl" --repeat 3 --interleave -w > "$T_TMP/il.ids" 2>/dev/null
first=$(head -n 1 "$T_TMP/il.ids")
check "--interleave: la and the other line alternate in the queue" \
    [ "$(br_sql "select group_concat(coalesce(name, '-'), '') from (select name from tasks where id >= $first order by id)")" = "la-la-la-" ]
check "each line its own series (the unnamed one a fresh label)" \
    [ "$(br_sql "select count(distinct series) from tasks where id >= $first") $(br_sql "select count(*) from tasks where id >= $first and series like 'series-%'")" = "2 3" ]
out=$(br br-run --interleave -- true 2>&1); rc=$?
check "--interleave without --repeat and --batch: exit 2" eval '[ "$rc" = 2 ] && printf "%s" "$out" | grep -q "goes with --repeat N and --batch"'
finish
