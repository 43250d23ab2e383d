#!/bin/bash
# placement.sh: SMT-aware placement through the real daemon and systemd.
# These machines have no SMT, so the daemon reads a fake sysfs tree
# (--sysfs-root) that makes CPUs 0 and 1 the two threads of one core, and
# the pinning that follows is real.  An even task gets the whole core; two
# 1-thread tasks pair up on it; --whole-cores keeps the sibling idle; and
# br-start refuses to give away the machine's only core.
. "$(dirname "$0")/../lib.sh"
require_systemd
ncpu=$(sd nproc --all)
[ "$ncpu" -ge 2 ] || skip "needs 2 CPUs, the machine has $ncpu"
row() { br_sql "select $1 from tasks where id=$2"; }
wait_state() { for _ in $(seq 300); do [ "$(row state "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }
pinned() {   # pinned ID: the CPUs its process was allowed (it printed them)
    sd sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$BR_STATE/output/$1/stdout"
}

fake=/var/lib/br-test/fake-sysfs.$$
sd sh -c "set -e
    d=$fake/devices/system/cpu
    mkdir -p \$d/cpu0/topology \$d/cpu1/topology
    echo 0-1 > \$d/online
    for c in 0 1; do
        echo 0-1 > \$d/cpu\$c/topology/thread_siblings_list
        echo 0 > \$d/cpu\$c/topology/core_id
        echo 0 > \$d/cpu\$c/topology/physical_package_id
    done"

# br-start on a machine of one core: nothing may be given away
sd env BENCHRUNNER_SOCKET=/run/br-place.sock "$abs_top_builddir/br-start" -j 1 -m 64M --sysfs-root "$fake" \
    --daemon "$abs_top_builddir/benchrunnerd" --unit br-place-start > "$T_TMP/start" 2>&1; rc=$?
cat "$T_TMP/start"
check "br-start -j 1 on one 2-thread core is refused" eval '[ "$rc" != 0 ] && grep -q "core" "$T_TMP/start"'

br_daemon_start --cpus=0-1 --memory=1G --sysfs-root="$fake" || exit 1
show='grep Cpus_allowed_list /proc/self/status; sleep 3'

# an even task takes the whole core: a 1-thread task waits for it
a=$(br br-run -j 2 -- sh -c "$show"); wait_state "$a" running
b=$(br br-run -- sh -c "$show")
sleep 1
check "the 2-thread task has the whole core ($(row cpus "$a"))" [ "$(row cpus "$a")" = 0-1 ]
check "a 1-thread task does not share its core: it waits" [ "$(row state "$b")" = queued ]
wait_state "$a" finished
check "the 2-thread task's process was pinned to 0-1" [ "$(pinned "$a")" = 0-1 ]

# two 1-thread tasks pair up on the core, one thread each
c=$(br br-run -- sh -c "$show")
wait_state "$b" running; wait_state "$c" running
cb=$(row cpus "$b"); cc=$(row cpus "$c")
check "two 1-thread tasks run side by side on the two threads ($cb, $cc)" \
    [ -n "$cb" ] && [ -n "$cc" ] && [ "$cb" != "$cc" ] && [ "${#cb}" = 1 ] && [ "${#cc}" = 1 ]
wait_state "$b" finished; wait_state "$c" finished
check "each process was pinned to its one thread" eval '[ "$(pinned "$b")" = "$cb" ] && [ "$(pinned "$c")" = "$cc" ]'

# --whole-cores: one thread of the core, and its sibling stays idle
e=$(br br-run --whole-cores -- sh -c "$show"); wait_state "$e" running
f=$(br br-run -- sh -c "$show")
sleep 1
ce=$(row cpus "$e")
check "--whole-cores runs on one thread ($ce)" [ "${#ce}" = 1 ]
check "nothing runs on its sibling meanwhile: the next task waits" [ "$(row state "$f")" = queued ]
wait_state "$e" finished
check "its process was pinned to that one thread" [ "$(pinned "$e")" = "$ce" ]
wait_state "$f" finished
sd rm -rf "$fake"

finish
