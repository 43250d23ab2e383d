#!/bin/bash
# slurm-cluster.sh: the one-node Slurm of tests/slurm.sh itself, as an
# ordinary user: what the daemon's Slurm backend relies on (exit codes, the
# memory limit ending a job OUT_OF_MEMORY with swap off, pinned CPUs, minutes
# in --time, scancel, job_container/tmpfs).
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
. "$abs_top_srcdir/tests/slurm.sh"
require_systemd
slurm_require

u=brslurm
br_user $u
dir=/home/$u/$T_NAME.$$
slurm_start || exit 1
trap 'rc=$?; sd rm -rf "$dir"; slurm_stop; (exit $rc); t_cleanup' EXIT
as_user $u mkdir "$dir"

# sub SBATCH-ARGS...: submits as the user, prints the job id
sub() { as_user $u sbatch --parsable --chdir="$dir" -o "$dir/%j.out" "$@"; }
out() { sd cat "$dir/$1.out"; }
# field JOB KEY VALUE: a check on `scontrol show job`
field() { [ "$(slurm_job_field "$1" "$2")" = "$3" ] || { echo "  $1: $2=$(slurm_job_field "$1" "$2"), not $3"; false; }; }

# ---- exit codes, memory, CPUs (the node's two CPUs run them two by two) ----
ok_id=$(sub -c1 --mem=64 --wrap 'echo hello')
three=$(sub -c1 --mem=64 --time=1 --wrap 'exit 3')
# 200 MB kept by tail (a line that never ends) under a 64 MB limit
oom=$(sub -c1 --mem=64 --wrap 'head -c 200M /dev/zero | tail -n 1 > /dev/null')
# the job's memory cgroup (step_batch's parent) has the limits
probe=$(sub -c1 --mem=100 --wrap 'grep Cpus_allowed_list /proc/self/status
    m=$(sed -n "s/^[0-9]*:memory://p" /proc/self/cgroup); m=/sys/fs/cgroup/memory${m%%/step_*}
    echo mem=$(cat $m/memory.limit_in_bytes) memsw=$(cat $m/memory.memsw.limit_in_bytes)')
for j in "$ok_id" "$three" "$oom" "$probe"; do
    [ -n "$j" ] || { bad "sbatch printed a job id"; finish; }
    slurm_wait "$j" 20 > /dev/null || bad "job $j ended within 20 s (is $(slurm_job_state "$j"))"
done
check "a job that exits 0: COMPLETED, ExitCode 0:0, its output" \
    eval 'field $ok_id JobState COMPLETED && field $ok_id ExitCode 0:0 && [ "$(out $ok_id)" = hello ]'
check "exit 3: FAILED with ExitCode 3:0" eval 'field $three JobState FAILED && field $three ExitCode 3:0'
check "--time=1 counts minutes: TimeLimit=00:01:00" field "$three" TimeLimit 00:01:00
check "the jobcomp file has the ended job" sd grep -q "^JobId=$three .*JobState=FAILED" "$SLURM_JOBCOMP_LOG"
check "200 MB under --mem=64: OUT_OF_MEMORY" field "$oom" JobState OUT_OF_MEMORY
check "-c1: the step is pinned to one CPU" eval 'out $probe | grep -Eq "^Cpus_allowed_list:[[:space:]]+[0-9]+$"'
check "--mem=100: RAM and RAM+swap limits both 100 MB (swap off)" \
    eval 'out $probe | grep -qx "mem=104857600 memsw=104857600"'

# ---- scancel: of a queued job, of a running one ----
n=$(sd nproc)
busy=$(sub -c"$n" --mem=64 --wrap 'sleep 60')
queued=$(sub -c1 --mem=64 --wrap 'true')
eventually [ "$(slurm_job_state "$busy")" = RUNNING ]
check "a job behind one that takes every CPU is PENDING" field "$queued" JobState PENDING
as_user $u scancel "$queued"
check "scancel of the queued job: CANCELLED" eval '[ "$(slurm_wait $queued 5)" = CANCELLED ]'
as_user $u scancel "$busy"
check "scancel of the running job: CANCELLED" eval '[ "$(slurm_wait $busy 10)" = CANCELLED ]'

# (a restart of slurmctld while a job runs: slurm-backend.sh, through the daemon)

# ---- job_container/tmpfs: a private, empty /tmp per job ----
# Measured (22.05.8 here): when it works, a job's /tmp is a fresh bind of
# BasePath/localhost/JOB/.JOB, empty, and neither the next job nor the
# container sees its files.  But about every second job's batch step fails
# "container_p_join: open failed for BasePath/localhost/JOB/.ns" and the job
# is requeued with a BeginTime 121 s later: then the check is skipped.
sd find "$dir" -name '*.out' -delete    # the new cluster numbers its jobs from 1 again
slurm_start --tmpfs || exit 1
trap 'rc=$?; sd rm -rf "$dir"; slurm_stop; (exit $rc); t_cleanup' EXIT
t1=$(sub -c1 --mem=64 --wrap 'ls -A /tmp | wc -l; echo one > /tmp/br-probe')
s1=$(slurm_wait "$t1" 10)
t2=$(sub -c1 --mem=64 --wrap 'ls -A /tmp | wc -l; cat /tmp/br-probe 2>&1')
s2=$(slurm_wait "$t2" 10)
if [ "$s1" = COMPLETED ] && [ "$s2" = COMPLETED ]; then
    check "tmpfs: the job's /tmp starts empty" eval '[ "$(out $t1)" = 0 ]'
    check "tmpfs: the next job sees neither it nor the first job's file" \
        eval 'out $t2 | head -n 1 | grep -qx 0 && out $t2 | grep -q "No such file"'
    check "tmpfs: nor does the container" fails sd test -e /tmp/br-probe
else
    echo "skip: job_container/tmpfs: jobs ended $s1/$s2 (restarts $(slurm_job_field "$t1" Restarts)/$(slurm_job_field "$t2" Restarts)):" \
        "the batch step raced the extern step's namespace (container_p_join) and was requeued"
    out "$t1" | head -n 2 | sed 's/^/  /'
fi
finish
