#!/bin/bash
# slurm-export.sh: br-run --emit-sbatch writes a batch script per task, the
# scripts run anywhere (plain sh here: no Slurm), and br-import stores
# their records as finished tasks of the caller, backend slurm-export:
# exit code, time limit, cleanup, the OOM heuristic, a task that never ran
# skipped; importing again stores nothing; a symbolic link for a record
# (another user's file) is refused; who may not submit may not import.  As
# ordinary users.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_user brse1
br_user brse2
uid=$(sd id -u brse1)
br_daemon_start --cpus=1 --memory=1G --owner="$uid" || exit 1
me() { as_user brse1 "$@"; }
row() { br_sql "select $1 from tasks where id=$2"; }
M=1048576
home=/home/brse1
dir=$home/exp
# what an earlier run in this container left
sd rm -rf "$dir" "$home/exp2" "$home/e2" /home/brse2/exp3 /home/brse2/rec

me sh -c "cat > $home/batch.ndjson" <<'B'
{"argv":["sh","-c","exit 3"],"name":"three"}
{"argv":["sleep","10"],"name":"slow","time_limit_us":2000000,"group":1}
{"argv":["sh","-c","echo main"],"name":"cleaned","cleanup":["sh","-c","echo cleaned; exit 4"],"priority":5}
{"argv":["sh","-c","kill -9 $$"],"name":"big","memory":67108864}
{"argv":["true"],"name":"never"}
B

# 1. the export
out=$(me sh -c "cd $home && $abs_top_builddir/br-run --emit-sbatch=exp --partition=bench -b batch.ndjson"); rc=$?
check "br-run --emit-sbatch: exit 0, one line naming $dir and submit.sh: $out" \
    eval '[ "$rc" = 0 ] && [ "$(printf "%s\n" "$out" | wc -l)" = 1 ] && printf "%s" "$out" | grep -q "$dir/submit.sh"'
check "a directory and a job.sh per task, mode 0700, and tasks.ndjson" \
    [ "$(sd stat -c %a "$dir" "$dir/1" "$dir/5" "$dir/3/job.sh")" = "$(printf '700\n700\n700\n700')" ]
check "tasks.ndjson: one line per task, the spec and its index" \
    eval '[ "$(sd cat "$dir/tasks.ndjson" | wc -l)" = 5 ] && sd grep -q "\"name\":\"slow\".*\"index\":2}" "$dir/tasks.ndjson"'
check "the scripts carry the limits and the partition, the directory as given" \
    eval 'sd grep -qx "#SBATCH --partition=bench" "$dir/2/job.sh" && sd grep -qx "#SBATCH --mem=64M" "$dir/4/job.sh" &&
          sd grep -qx "#SBATCH --chdir=$dir/2" "$dir/2/job.sh"'
check "submit.sh submits in queue order: group 1 first, then priority 5, then as given" \
    sd grep -qx "for n in 2 3 1 4 5; do" "$dir/submit.sh"
out=$(me sh -c "cd $home && $abs_top_builddir/br-run --emit-sbatch=exp true" 2>&1); rc=$?
check "an existing non-empty directory is refused: $out" \
    eval '[ "$rc" = 1 ] && printf "%s" "$out" | grep -q "is not empty"'
out=$(me "$abs_top_builddir/br-run" --emit-sbatch="$home/e2" --after=1 true 2>&1); rc=$?
check "--after cannot be exported: $out" eval '[ "$rc" = 2 ] && printf "%s" "$out" | grep -q -- "--after needs"'

# 2. the jobs, run by plain sh (task 5 never runs)
for n in 1 2 3 4; do me sh "$dir/$n/job.sh" >/dev/null 2>&1; done
check "the cleanup command's output is in its directory" [ "$(sd cat "$dir/3/cleanup-stdout")" = cleaned ]
# no memory cgroup here: the peak a cgroup would have shown, for the OOM heuristic
me sh -c "echo 'main_peak_memory_bytes $((64 * M))' >> $dir/4/record"

out=$(me "$abs_top_builddir/br-import" --dry-run "$dir" 2>"$T_TMP/dry.err"); rc=$?
check "br-import --dry-run: 4 tasks, one skipped with a warning, nothing stored: $out" \
    eval '[ "$rc" = 0 ] && printf "%s" "$out" | grep -q "^task 2: time-limit after" &&
          printf "%s" "$out" | grep -q "would import 4 tasks" && grep -q "task 5 .*no record" "$T_TMP/dry.err" &&
          [ "$(br_sql "select count(*) from tasks")" = 0 ]'

# 3. the import
ids=$(me "$abs_top_builddir/br-import" "$dir" 2>"$T_TMP/imp.err"); rc=$?
check "br-import: exit 0, 4 new ids: $ids $(cat "$T_TMP/imp.err")" \
    eval '[ "$rc" = 0 ] && [ "$(printf "%s\n" "$ids" | wc -l)" = 4 ]'
read -r a b c d <<< "$(echo $ids)"
check "every row: backend slurm-export, finished, owned by brse1, a node" \
    [ "$(br_sql "select count(*) from tasks where backend='slurm-export' and state='finished' and uid=$uid and node is not null")" = 4 ]
check "task 1: exited 3" [ "$(row "name||','||reason||','||exit_code" "$a")" = "three,exited,3" ]
w=$(row wall_us "$b") how=$(row "name||','||reason" "$b")
check "task 2: time-limit after about 2 s ($how, $w us)" \
    eval '[ "$how" = "slow,time-limit" ] && between "$w" 2000000 4000000'
check "task 3: exited 0, its cleanup command exited 4" \
    [ "$(row "reason||','||exit_code||','||cleanup_reason||','||cleanup_exit_code" "$c")" = "exited,0,exited,4" ]
check "task 4: SIGKILL at its memory limit counts as oom" [ "$(row "name||','||reason" "$d")" = "big,oom" ]
check "the skipped task: a warning" grep -q "task 5 .*no record: it did not start; skipped" "$T_TMP/imp.err"

# 4. importing again: the same ids, nothing stored twice
ids2=$(me "$abs_top_builddir/br-import" "$dir" 2>/dev/null); rc=$?
check "a second import of $dir answers with the first ids and stores nothing" \
    eval '[ "$rc" = 0 ] && [ "$ids2" = "$ids" ] && [ "$(br_sql "select count(*) from tasks")" = 4 ]'

# 5. a record that is a symbolic link to another user's file: refused, all of it
me cp -r "$dir" "$home/exp2"
me rm -f "$home/exp2/export-id" "$home/exp2/1/record"
sd sh -c 'echo "version 1" > /home/brse2/rec; chown brse2: /home/brse2/rec; chmod 644 /home/brse2/rec; chmod 755 /home/brse2'
me ln -s /home/brse2/rec "$home/exp2/1/record"
out=$(me "$abs_top_builddir/br-import" "$home/exp2" 2>&1); rc=$?
check "a symbolic link for a record is refused, nothing stored: $out" \
    eval '[ "$rc" = 1 ] && printf "%s" "$out" | grep -q "exp2/1/record: a symbolic link: refused" &&
          [ "$(br_sql "select count(*) from tasks")" = 4 ]'

# 6. who may not submit may not import (brse2 is neither the owner nor root)
sd sh -c "cp -r $dir /home/brse2/exp3 && rm /home/brse2/exp3/export-id && chown -R brse2: /home/brse2/exp3"
out=$(as_user brse2 "$abs_top_builddir/br-import" /home/brse2/exp3 2>&1); rc=$?
check "another user who may not submit: refused: $out" \
    eval '[ "$rc" = 1 ] && printf "%s" "$out" | grep -q "may import tasks" && [ "$(br_sql "select count(*) from tasks")" = 4 ]'

finish
