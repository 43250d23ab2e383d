# slurm.sh: a real one-node Slurm inside the systemd under test, for the
# tests of the daemon's Slurm backend (sourced after tests/lib.sh, not run).
#
#   require_systemd; slurm_require        skip (or fail in CI) without Slurm
#   slurm_start [--no-cgroup] [--tmpfs]   munged + slurmctld + slurmd, node idle
#   slurm_job_state JOBID                 JobState of `scontrol show job`
#   slurm_job_field JOBID KEY             any KEY=VALUE of that line
#   slurm_wait JOBID [SECONDS]            until the job has ended (state printed)
#   slurm_restart_ctld                    restart slurmctld, wait until it answers
#   slurm_stop                            everything down, state removed (also
#                                         on exit: slurm_start chains it before
#                                         t_cleanup; a test that sets its own
#                                         EXIT trap afterwards calls it there)
#
# The cluster: ClusterName=$SLURM_CLUSTER (br), one node "localhost" with the
# container's CPUs and min(2000, MemTotal - 256) MB, partition
# $SLURM_PARTITION (debug, the default), no slurmdbd (sacct knows nothing;
# `scontrol show job` keeps an ended job for MinJobAge=300 s, and the jobcomp
# file $SLURM_JOBCOMP_LOG has a line for every ended job).
# The packages come from the host: the container is an overlay of its /
# (tools/common.sh's BR_PKGS_SLURM); every write here lands in that overlay.
#
# Measured in the v1-tier container (Debian 12, slurm-wlm 22.05.8, 2 CPUs,
# cgroup v1 hybrid, tests/integration/slurm-cluster.sh checks the first four):
# - With proctrack/cgroup + task/cgroup (cgroup.conf below) the job runs in
#   /sys/fs/cgroup/{memory,cpuacct,cpuset,freezer}/slurm_localhost/uid_N/
#   job_J/step_batch; memory.memsw.limit_in_bytes = memory.limit_in_bytes =
#   --mem (swap really off), and the step's Cpus_allowed_list is its -c CPUs
#   (ConstrainCores).  --mem=64 with 200 MB allocated: OUT_OF_MEMORY.
# - See MEASURED below for the rest (filled in from the measurements).

SLURM_CLUSTER=br
SLURM_PARTITION=debug
SLURM_JOBCOMP_LOG=/var/log/slurm/jobcomp.log
export SLURM_CLUSTER SLURM_PARTITION SLURM_JOBCOMP_LOG
# job_container/tmpfs makes each job's /tmp and /dev/shm here (it refuses
# /tmp itself); not under /var/spool/slurmd, which slurm_stop empties while
# the plugin's bind mount may still be on this one
SLURM_TMPFS_BASE=/var/spool/slurm-tmpfs
T_SLURM_UP=
SLURM_CTLD_PORT=
SLURM_SLURMD_PORT=

# slurm_require: after require_systemd.  Exits 77 without the programs, or 1
# where CI demands that the tests run (BR_TEST_REQUIRE_SYSTEMD=1).
slurm_require() {
    local p missing=()
    for p in sbatch scontrol sinfo squeue scancel slurmctld slurmd munged; do
        sd sh -c "PATH=\$PATH:/usr/sbin:/sbin command -v $p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "${BR_TEST_REQUIRE_SYSTEMD:-0}" = 1 ]; then
        echo "FAIL: $T_NAME: Slurm is not installed (missing: ${missing[*]};" \
            "install slurm-wlm munge, tools/common.sh's BR_PKGS_SLURM) and BR_TEST_REQUIRE_SYSTEMD=1" >&2
        exit 1
    fi
    skip "Slurm is not installed (missing: ${missing[*]}; apt-get install slurm-wlm munge)"
}

# The node line: the topology slurmd -C sees (so --hint=nomultithread and
# --threads-per-core mean something), unless the container's cpuset gives it
# fewer CPUs than the machine has: then just CPUs=nproc.
slurm_node_line() {
    local n mem c s cps tpc
    n=$(sd nproc)
    mem=$(sd awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
    mem=$((mem - 256))
    [ "$mem" -gt 2000 ] && mem=2000
    c=$(sd slurmd -C 2>/dev/null | head -n 1)
    s=$(echo "$c" | sed -n 's/.* SocketsPerBoard=\([0-9]*\).*/\1/p')
    cps=$(echo "$c" | sed -n 's/.* CoresPerSocket=\([0-9]*\).*/\1/p')
    tpc=$(echo "$c" | sed -n 's/.* ThreadsPerCore=\([0-9]*\).*/\1/p')
    if [ -n "$s" ] && [ -n "$cps" ] && [ -n "$tpc" ] && [ $((s * cps * tpc)) -eq "$n" ]; then
        echo "NodeName=localhost NodeAddr=127.0.0.1 CPUs=$n Sockets=$s CoresPerSocket=$cps ThreadsPerCore=$tpc RealMemory=$mem State=UNKNOWN"
    else
        echo "NodeName=localhost NodeAddr=127.0.0.1 CPUs=$n RealMemory=$mem State=UNKNOWN"
    fi
}

# Two free loopback ports, for slurmctld and slurmd: the v1-tier containers
# share the host's network namespace, so two clusters booted side by side (a
# parallel test run, another container) must not both take 6817/6818.
slurm_ports() {
    local p=$((20000 + ($$ % 5000) * 2)) i
    for i in $(seq 100); do
        if [ -z "$(sd ss -Hltn "( sport = :$p or sport = :$((p + 1)) )" 2>/dev/null)" ]; then
            echo "$p $((p + 1))"
            return 0
        fi
        p=$((p + 2)); [ $p -ge 30000 ] && p=20000
    done
    return 1
}

slurm_logs() {
    local f
    for f in slurmctld slurmd; do
        echo "--- /var/log/slurm/$f.log"
        sd tail -n 20 /var/log/slurm/$f.log 2>&1
    done
    sd journalctl --no-pager -n 30 -u munge -u slurmctld -u slurmd 2>&1
}

slurm_start() {
    local cgroup=yes tmpfs=no a pt tp gather over cgv
    for a; do
        case $a in
            --no-cgroup) cgroup=no ;;
            --tmpfs) tmpfs=yes ;;
            *) echo "slurm_start: unknown option $a" >&2; return 2 ;;
        esac
    done
    [ -z "$T_SLURM_UP" ] || slurm_stop
    T_SLURM_UP=1
    trap 'rc=$?; slurm_stop; (exit $rc); t_cleanup' EXIT
    # a stale cluster of an interrupted earlier test in the same container
    slurm_clean_state

    # a fresh key: the host's own (if any) is no business of the tests
    sd sh -c 'install -d -o munge -g munge -m 0700 /etc/munge &&
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none &&
        chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key &&
        install -d -o slurm -g slurm /var/spool/slurmctld /var/log/slurm &&
        install -d /var/spool/slurmd /etc/slurm' \
        || { echo "FAIL: slurm_start: munge key or directories"; return 1; }

    if [ $cgroup = yes ]; then
        # (no OverMemoryKill: 22.05 refuses it next to task/cgroup's limit)
        pt=proctrack/cgroup; tp=task/cgroup,task/affinity; gather=jobacct_gather/cgroup; over=
        # v1 is what was measured; v2 (the VM tier) is untried
        cgv=cgroup/v1
        [ "$(sd stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && cgv=cgroup/v2
        # ConstrainSwapSpace + AllowedSwapSpace=0: memsw limit = RAM limit,
        # so a job over --mem is killed (OUT_OF_MEMORY) instead of swapping
        sd sh -c 'cat > /etc/slurm/cgroup.conf' <<EOF
CgroupPlugin=$cgv
ConstrainCores=yes
ConstrainRAMSpace=yes
ConstrainSwapSpace=yes
AllowedSwapSpace=0
EOF
    else
        # no cgroups: memory only polled (OverMemoryKill), no OUT_OF_MEMORY
        pt=proctrack/linuxproc; tp=task/affinity; gather=jobacct_gather/linux
        over=JobAcctGatherParams=OverMemoryKill
    fi
    local ports contain=
    ports=$(slurm_ports) || { echo "FAIL: slurm_start: no two free ports"; return 1; }
    SLURM_CTLD_PORT=${ports% *}
    SLURM_SLURMD_PORT=${ports#* }
    if [ $tmpfs = yes ]; then
        contain="JobContainerType=job_container/tmpfs
PrologFlags=Contain"
        sd sh -c 'cat > /etc/slurm/job_container.conf' <<EOF
AutoBasePath=true
BasePath=$SLURM_TMPFS_BASE
EOF
    fi
    # Loopback only: NodeAddr and SlurmctldHost 127.0.0.1, and the
    # CommunicationParameters bind the daemons (and srun, slurmstepd) to it,
    # not to every address (the default).
    # Why the timing knobs: sched_interval=1 (default 60) retries pending
    # jobs every second; a submission itself triggers scheduling at once.
    # KillWait=2 (default 30): SIGTERM to SIGKILL on scancel or time limit.
    # MinJobAge=300: scontrol keeps an ended job 5 minutes (no slurmdbd).
    sd sh -c 'cat > /etc/slurm/slurm.conf' <<EOF
ClusterName=$SLURM_CLUSTER
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$SLURM_CTLD_PORT
SlurmdPort=$SLURM_SLURMD_PORT
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=slurm
AuthType=auth/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=$pt
TaskPlugin=$tp
$contain
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
JobAcctGatherType=$gather
JobAcctGatherFrequency=1
$over
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$SLURM_JOBCOMP_LOG
SchedulerParameters=sched_interval=1
MinJobAge=300
KillWait=2
InactiveLimit=0
$(slurm_node_line)
PartitionName=$SLURM_PARTITION Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
    sd systemctl restart munge \
        || { echo "FAIL: slurm_start: munge did not start"; slurm_logs; return 1; }
    sd systemctl restart slurmctld slurmd \
        || { echo "FAIL: slurm_start: slurmctld/slurmd did not start"; slurm_logs; return 1; }
    local i
    for i in $(seq 200); do
        [ "$(sd sinfo -h -n localhost -o %T 2>/dev/null)" = idle ] && return 0
        sd systemctl -q is-failed slurmctld slurmd && break    # fatal config error
        sleep 0.1
    done
    echo "FAIL: slurm_start: the node is not idle (20 s at most):"
    sd sinfo 2>&1
    sd scontrol show node localhost 2>&1
    slurm_logs
    return 1
}

# Empties what a cluster left: state, logs, the job cgroups and tmpfs mounts.
slurm_clean_state() {
    # with proctrack/cgroup a job's processes live in slurm_localhost, outside
    # slurmd.service: kill them (by PID) and remove the groups, deepest first
    sd sh -c '
        for h in /sys/fs/cgroup/*/slurm_localhost /sys/fs/cgroup/slurm_localhost; do
            [ -d "$h" ] || continue
            for i in 1 2 3 4 5 6 7 8 9 10; do
                left=$(find "$h" -name cgroup.procs -exec cat {} + 2>/dev/null)
                [ -z "$left" ] && break
                kill -9 $left 2>/dev/null; sleep 0.2
            done
            find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
        done
        # the tmpfs plugin bind-mounts its base and mounts per job below it
        for m in $(awk -v b='"$SLURM_TMPFS_BASE"' "index(\$5, b) == 1 { print \$5 }" /proc/self/mountinfo | sort -r); do
            umount -l "$m"
        done
        rm -rf /var/spool/slurmctld/* /var/spool/slurmd/* /var/log/slurm/* '"$SLURM_TMPFS_BASE"' \
            /etc/slurm/slurm.conf /etc/slurm/cgroup.conf /etc/slurm/job_container.conf
        true' 2>/dev/null || true
}

slurm_stop() {
    [ -n "$T_SLURM_UP" ] || return 0
    T_SLURM_UP=
    # jobs first, while slurmctld still answers, so none outlives the test
    sd sh -c 'systemctl -q is-active slurmctld || exit 0
        ids=$(squeue -h -o %i 2>/dev/null)
        [ -n "$ids" ] && scancel $ids
        for i in $(seq 50); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.2; done' \
        >/dev/null 2>&1 || true
    # slurmd.service has KillMode=process: its slurmstepds would stay
    sd systemctl kill --signal=KILL slurmd.service >/dev/null 2>&1 || true
    sd systemctl stop slurmd slurmctld munge >/dev/null 2>&1 || true
    sd systemctl reset-failed slurmd slurmctld munge >/dev/null 2>&1 || true
    slurm_clean_state
}

# slurmctld answers `scontrol ping` again (its state is reloaded from
# StateSaveLocation; running jobs go on under slurmstepd meanwhile).
slurm_restart_ctld() {
    sd systemctl restart slurmctld || { echo "FAIL: slurmctld did not restart"; slurm_logs; return 1; }
    local i
    for i in $(seq 200); do
        sd scontrol ping 2>/dev/null | grep -q 'is UP' && return 0
        sleep 0.1
    done
    echo "FAIL: slurmctld does not answer 20 s after its restart"
    slurm_logs
    return 1
}

# slurm_job_field JOBID KEY: VALUE of KEY=VALUE in `scontrol show job -o`
slurm_job_field() {
    sd scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
slurm_job_state() { slurm_job_field "$1" JobState; }

# slurm_wait JOBID [SECONDS]: waits (10 s by default) until the job has ended;
# prints its last state, fails on timeout
slurm_wait() {
    local id=$1 n=$((${2:-10} * 10)) s i
    for i in $(seq "$n"); do
        s=$(slurm_job_state "$id")
        case $s in
            PENDING|CONFIGURING|RUNNING|COMPLETING|SUSPENDED|REQUEUED|RESIZING|"") ;;
            *) echo "$s"; return 0 ;;
        esac
        sleep 0.1
    done
    echo "$s"
    return 1
}
