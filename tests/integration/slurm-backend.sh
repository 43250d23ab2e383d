#!/bin/bash
# slurm-backend.sh: benchrunnerd --backend=slurm against a real one-node
# Slurm (tests/slurm.sh), as an ordinary user: the result of a job (exit
# code, output, where it ran), the memory limit (oom), a time limit in
# seconds, the cleanup command in the same allocation, threads, a batch of
# 50, cancelling a job that is queued in Slurm and one that runs, the daemon
# killed and started again while a job runs, slurmctld restarted while one
# runs.
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
. "$abs_top_srcdir/tests/slurm.sh"
require_systemd
slurm_require

u=brslb
br_user $u
owner=$(sd id -u $u)
slurm_start || exit 1
trap 'rc=$?; slurm_stop; (exit $rc); t_cleanup' EXIT
start() { br_daemon_start --backend=slurm --slurm-partition="$SLURM_PARTITION" --owner="$owner" "$@"; }
start || exit 1
row() { br_sql "select $1 from tasks where id=$2"; }
run() { as_user $u "$abs_top_builddir/br-run" "$@"; }
wait_finished() {   # wait_finished ID [SECONDS]
    local i
    for i in $(seq $((${2:-30} * 10))); do
        [ "$(row state "$1")" = finished ] && return 0
        sleep 0.1
    done
    return 1
}

# ---- a job's result, and where it ran ----
t0=$(date +%s)
id=$(run -w -n first -- /bin/sh -c 'echo hello; echo oops >&2; exit 3' 2> "$T_TMP/first.err"); rc=$?
t1=$(date +%s)
check "br-run -w exits with the job's command's exit code (3)" [ "$rc" = 3 ]
check "the row: exited 3" [ "$(row "reason||' '||exit_code" "$id")" = "exited 3" ]
check "the row: backend slurm, cluster $SLURM_CLUSTER, node localhost" \
    [ "$(row "backend||' '||cluster||' '||node" "$id")" = "slurm $SLURM_CLUSTER localhost" ]
job=$(row job_id "$id")
check "the row has Slurm's job id ($job), and Slurm knows the job as the user's" \
    eval '[ -n "$job" ] && [ "$(slurm_job_field "$job" UserId | cut -d"(" -f1)" = "$u" ]'
check "Slurm's state of it: FAILED with ExitCode 3:0" \
    eval '[ "$(slurm_job_state "$job")" = FAILED ] && [ "$(slurm_job_field "$job" ExitCode)" = 3:0 ]'
check "br-log shows its stdout" [ "$(as_user $u env BENCHRUNNER_SOCKET="$BR_SOCK" "$abs_top_builddir/br-log" "$id")" = hello ]
check "and --stderr its stderr" [ "$(as_user $u env BENCHRUNNER_SOCKET="$BR_SOCK" "$abs_top_builddir/br-log" --stderr "$id")" = oops ]
check "wall time and CPU time recorded, start before end" \
    [ "$(row "wall_us > 0 and wall_us < 10000000 and cpu_user_us is not null and started_at_us < finished_at_us" "$id")" = 1 ]
check "peak memory from the job's cgroup (more than 0, less than 64M)" \
    [ "$(row "peak_memory_bytes > 0 and peak_memory_bytes < 67108864" "$id")" = 1 ]
check "the whole round trip took less than 15 s ($((t1 - t0)) s)" [ $((t1 - t0)) -lt 15 ]
check "no job_container/tmpfs on this cluster: the task's warnings say /tmp was shared" \
    eval 'br_sql "select warnings from tasks where id=$id" | grep -q "no job_container/tmpfs"'
show=$(br br-show "$id")
check "br-show names the backend, node and job" eval 'echo "$show" | grep -q "slurm" && echo "$show" | grep -q "$job"'

# ---- memory: --mem, swap off: the hog ends as oom ----
id=$(run -w -m 64M -- /usr/bin/tail /dev/zero 2>/dev/null); rc=$?
check "64M and a memory hog: oom (Slurm: $(slurm_job_state "$(row job_id "$id")"))" [ "$(row reason "$id")" = oom ]
check "br-run -w exits 137 for oom" [ "$rc" = 137 ]
check "the job had --mem=64M: MinMemoryNode=64M" [ "$(slurm_job_field "$(row job_id "$id")" MinMemoryNode)" = 64M ]

# ---- time limit in seconds (Slurm's --time is minutes: the backstop) ----
s=$(date +%s%N)
id=$(run -w -t 3s -- /bin/sleep 60 2>/dev/null)
e=$(date +%s%N)
check "-t 3s: time-limit" [ "$(row reason "$id")" = time-limit ]
check "stopped after 3 s of wall time, by the job itself ($(row wall_us "$id") us)" \
    [ "$(row "wall_us between 2900000 and 6000000" "$id")" = 1 ]
check "ended within 12 s of the submit ($(((e - s) / 1000000)) ms)" [ $(((e - s) / 1000000)) -lt 12000 ]
check "Slurm's own limit is the backstop in minutes: TimeLimit=00:02:00" \
    [ "$(slurm_job_field "$(row job_id "$id")" TimeLimit)" = 00:02:00 ]

# ---- the cleanup command in the same job, after the main command ----
id=$(run -w -c 'sh -c "echo status=$BENCHRUNNER_STATUS job=$SLURM_JOB_ID"' -- /bin/sh -c 'exit 2' 2>/dev/null)
job=$(row job_id "$id")
check "cleanup: main exited 2, cleanup exited 0" [ "$(row "exit_code||' '||cleanup_reason||' '||cleanup_exit_code" "$id")" = "2 exited 0" ]
check "the cleanup ran in the same allocation and saw the status" \
    [ "$(as_user $u env BENCHRUNNER_SOCKET="$BR_SOCK" "$abs_top_builddir/br-log" --cleanup "$id")" = "status=exited 2 job=$job" ]
check "the cleanup started after the main command ended" \
    [ "$(row "cleanup_started_at_us >= finished_at_us" "$id")" = 1 ]

# ---- threads: --cpus-per-task, the job pinned to them ----
n=$(sd nproc)
id=$(run -w -j "$n" -- /bin/sh -c 'grep Cpus_allowed_list /proc/self/status' 2>/dev/null)
job=$(row job_id "$id")
check "-j $n: NumCPUs=$n" [ "$(slurm_job_field "$job" NumCPUs)" = "$n" ]
check "the row's CPUs are those the job ran on ($(row cpus "$id"))" \
    eval '[ -n "$(row cpus "$id")" ] && as_user $u env BENCHRUNNER_SOCKET="$BR_SOCK" "$abs_top_builddir/br-log" "$id" | grep -q "$(row cpus "$id")\$"'

# ---- a batch of 50 ----
for i in $(seq 50); do printf '{"argv":["/bin/sh","-c","exit %d"],"name":"b%d"}\n' $((i % 7)) "$i"; done > "$T_TMP/batch"
sd chmod 0644 "$T_TMP/batch" 2>/dev/null; chmod 0644 "$T_TMP/batch"
s=$(date +%s%N)
sd cp "$T_TMP/batch" /tmp/br-slurm-batch && sd chmod 0644 /tmp/br-slurm-batch
run --batch /tmp/br-slurm-batch -w > "$T_TMP/batch.ids" 2>/dev/null
e=$(date +%s%N)
first=$(br_sql "select min(id) from tasks where name like 'b%'")
check "50 tasks: all finished, each with its own exit code" \
    [ "$(br_sql "select count(*) from tasks where name like 'b%' and state='finished' and reason='exited' and exit_code = (cast(substr(name, 2) as integer) % 7)")" = 50 ]
check "50 jobs, 50 job ids" [ "$(br_sql "select count(distinct job_id) from tasks where name like 'b%'")" = 50 ]
echo "  a batch of 50 through Slurm: $(((e - s) / 1000000)) ms"

# ---- cancel: a task queued in Slurm (PENDING) and one that runs ----
big=$(run -j "$n" -- /bin/sleep 60)
small=$(run -- /bin/true)
eventually [ -n "$(row job_id "$small")" ]
eventually [ "$(slurm_job_state "$(row job_id "$big")")" = RUNNING ]
check "the second job waits in Slurm: PENDING" [ "$(slurm_job_state "$(row job_id "$small")")" = PENDING ]
as_user $u env BENCHRUNNER_SOCKET="$BR_SOCK" "$abs_top_builddir/br-cancel" "$small" "$big"
wait_finished "$small" 20; wait_finished "$big" 40
check "the pending one: cancelled, Slurm CANCELLED" \
    eval '[ "$(row reason "$small")" = cancelled ] && [ "$(slurm_job_state "$(row job_id "$small")")" = CANCELLED ]'
check "the running one: cancelled, Slurm CANCELLED" \
    eval '[ "$(row reason "$big")" = cancelled ] && [ "$(slurm_job_state "$(row job_id "$big")")" = CANCELLED ]'
check "and stopped at once (wall $(row wall_us "$big") us < 20 s)" [ "$(row "wall_us < 20000000" "$big")" = 1 ]

# ---- the daemon killed while a job runs, started again ----
id=$(run -- /bin/sh -c 'sleep 12; echo done; exit 7')
eventually [ -n "$(row job_id "$id")" ]
job=$(row job_id "$id")
eventually [ "$(slurm_job_state "$job")" = RUNNING ]
sd systemctl kill -s KILL "$BR_UNIT"
sleep 1
sd systemctl reset-failed "$BR_UNIT" 2>/dev/null
start || exit 1
check "after the restart the task is followed again (still running)" [ "$(row state "$id")" = running ]
wait_finished "$id" 30
check "and recorded with its real end: exited 7, the same job $job" \
    [ "$(row "reason||' '||exit_code||' '||job_id" "$id")" = "exited 7 $job" ]
check "the daemon said it follows the job again" eval 'br_daemon_log | grep -q "following Slurm job $job again"'

# ---- slurmctld restarted while a job runs ----
id=$(run -- /bin/sh -c 'sleep 4; exit 4')
eventually [ "$(slurm_job_state "$(row job_id "$id")")" = RUNNING ]
check "slurmctld restarts" slurm_restart_ctld
wait_finished "$id" 40
check "the job ran on and is recorded: exited 4" [ "$(row "reason||' '||exit_code" "$id")" = "exited 4" ]

# ---- another user may not read a task's directory ----
br_user brslb2
id=$(run -w -- /bin/sh -c 'echo secret' 2>/dev/null)
check "the task's directory is the user's alone" fails as_user brslb2 cat "$(row output_dir "$id")/stdout"
finish
