#!/bin/bash
# hostile-rmdir.sh: an ordinary user cannot stop the daemon through the
# removal of their task's working directory, which runs as that user.
# (a) A task leaves 300 000 files in its working directory; while they are
# removed, tasks of the same user and of another one start and finish at
# once and the daemon answers.  (b) The user SIGSTOPs the process that
# removes them; tasks still run, the daemon answers, and after
# --remove-time-limit the daemon kills the remover.  (c) The removal does
# not cross a mount point in the working directory.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_user brslow
br_user brother
suid=$(sd id -u brslow)
# the code before the fix has no --remove-time-limit (its removal has none)
limit=()
"$abs_top_builddir/benchrunnerd" --help 2>/dev/null | grep -q remove-time-limit && limit=(--remove-time-limit=8s)
br_daemon_start --cpus=1 --memory=2G --owner="$suid" --group=brother "${limit[@]}" || exit 1
run="$abs_top_builddir/br-run"
mnt=
trap 'rc=$?; [ -z "$mnt" ] || sd umount "$mnt" 2>/dev/null; (exit $rc); t_cleanup' EXIT

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# The attacker's processes in the daemon's cgroup: the remover.  (Task
# processes are in benchrunner-task-* units; what the test runs comes from
# outside the container's systemd.)  As the attacker sees them, with ps.
removers_sh="for p in \$(ps -o pid= -u brslow); do
    grep -qF '$BR_UNIT' /proc/\$p/cgroup 2>/dev/null && echo \$p; done"
removers() { as_user brslow sh -c "$removers_sh"; }
# the first remover's pid, within 30 s
wait_remover() {
    as_user brslow sh -c "for i in \$(seq 600); do p=\$($removers_sh); [ -n \"\$p\" ] && { echo \$p; exit 0; }
        sleep 0.05; done; exit 1" | head -n 1
}
# timed USER CMD...: "rc ms" of CMD as USER, 10 s at most
timed() {
    local u=$1 t0 rc; shift
    t0=$(date +%s%N)
    as_user "$u" timeout 10 "$@" > /dev/null; rc=$?
    echo "$rc $(ms_since "$t0")"
}
task_end() { br_sql "select state || ' ' || reason || ' ' || exit_code from tasks where id = ${1:-0}"; }
# what the daemon does meanwhile: a task of each user and a br-stats, each
# prompt (CONTEXT for the messages)
meanwhile() {
    local rc1 ms1 rc2 ms2 rc3 ms3
    read -r rc1 ms1 < <(timed brslow "$run" -w -- true)
    read -r rc2 ms2 < <(timed brother "$run" -w -- true)
    read -r rc3 ms3 < <(timed brother "$abs_top_builddir/br-stats" --once)
    echo "  $1: br-run -w -- true of the same user rc $rc1 in $ms1 ms, of another user rc $rc2 in $ms2 ms;" \
        "br-stats --once rc $rc3 in $ms3 ms"
    check "$1: the same user's task starts and finishes ($rc1, $ms1 ms)" test "$rc1" = 0 -a "$ms1" -lt 2000
    check "$1: another user's task starts and finishes ($rc2, $ms2 ms)" test "$rc2" = 0 -a "$ms2" -lt 2000
    check "$1: the daemon answers br-stats at once ($rc3, $ms3 ms)" eval '[ "$rc3" = 0 ] && [ "$ms3" -lt 1000 ]'
}

as_user brslow "$run" -w -- true > /dev/null; rc1=$?
as_user brother "$run" -w -- true > /dev/null; rc2=$?
check "both users' tasks run ($rc1, $rc2)" eval '[ "$rc1" = 0 ] && [ "$rc2" = 0 ]'

# (a) 300 000 files in the task's working directory (its cwd)
t0=$(date +%s%N)
id=$(as_user brslow "$run" -n many -- sh -c 'seq 300000 | xargs touch')
p=$(wait_remover)
t1=$(date +%s%N)
echo "  the task made its files; their removal started $(ms_since "$t0") ms after the submit (remover ${p:-none})"
check "the removal of 300 000 files runs as the user" [ -n "$p" ]
meanwhile "while 300 000 files are removed"
alive=no; [ -n "$(removers)" ] && alive=yes
echo "  the removal still ran after that: $alive"
check "the many-files task is recorded" [ "$(task_end "$id")" = "finished exited 0" ]
for _ in $(seq 300); do [ -z "$(removers)" ] && break; sleep 0.1; done
echo "  the removal took about $(ms_since "$t1") ms"
check "the working directory is gone" eventually sd test ! -e "$BR_STATE/work/$id"

# (b) the user stops the remover as soon as it appears
as_user brslow sh -c "for i in \$(seq 600); do for p in \$($removers_sh); do
    kill -STOP \$p && { echo \$p; exit 0; }; done; sleep 0.02; done; exit 1" > "$T_TMP/stopped" &
stopper=$!
id=$(as_user brslow "$run" -n stopped -- sh -c 'seq 100000 | xargs touch')
wait "$stopper"
stopped=$(date +%s%N)
p=$(cat "$T_TMP/stopped")
check "the user stopped the remover (${p:-none})" [ -n "$p" ]
echo "  $(sd grep State: /proc/"${p:-0}"/status 2>&1)"
meanwhile "with the remover stopped"
gone=
for _ in $(seq 150); do
    sd test -e /proc/"${p:-0}" || { gone=$(ms_since "$stopped"); break; }
    sleep 0.1
done
echo "  the stopped remover was gone ${gone:-more than 15 000} ms after it was stopped (limit: ${limit[*]:-none})"
check "the daemon killed the stopped remover after its time limit" [ -n "$gone" ]
check "and logged it" grep -q "work/${id:-0} as uid $suid .*: killed" <<< "$(br_daemon_log)"
# the code before the fix waits for ever: let it go
[ -n "$gone" ] || as_user brslow kill -KILL "${p:-0}" 2>/dev/null
check "the stopped task is recorded" [ "$(task_end "$id")" = "finished exited 0" ]

# (c) a file system mounted in the working directory (root mounts it for
# the user: what a user's FUSE mount would be) stays as it is
id=$(as_user brslow "$run" -n mounted -- sh -c 'mkdir mnt; touch ready; while [ ! -e go ]; do sleep 0.1; done')
w=$BR_STATE/work/$id
check "the mounting task runs" eventually sd test -e "$w/ready"
sd mount -t tmpfs -o "uid=$suid,mode=0700,size=1M" br-test "$w/mnt" && mnt=$w/mnt
as_user brslow touch "$w/mnt/keep" "$w/go"
for _ in $(seq 100); do [ "$(task_end "$id")" = "finished exited 0" ] && break; sleep 0.1; done
check "it is recorded" [ "$(task_end "$id")" = "finished exited 0" ]
for _ in $(seq 100); do [ -z "$(removers)" ] && break; sleep 0.1; done
check "the removal left the mounted file system alone" sd test -e "$w/mnt/keep"
check "and said so" grep -q "work/$id as uid $suid left" <<< "$(br_daemon_log)"
sd umount "$w/mnt" && mnt=
sd rm -rf "$w"

id=$(as_user brother "$run" -w -- true); rc=$?
check "tasks run afterwards (rc=$rc)" [ "$rc" = 0 ]
check "the daemon never restarted" [ "$(sd systemctl show -P NRestarts "$BR_UNIT")" = 0 ]
finish
