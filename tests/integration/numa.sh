#!/bin/bash
# numa.sh: on a machine of several NUMA nodes a task's memory is bound to
# the nodes of its CPUs: the unit has NUMAPolicy=bind and NUMAMask= those
# nodes on the real systemd.  These machines have one node, so the daemon
# reads a fake sysfs tree (--sysfs-root) where CPU 0 is in node 3 and CPU
# 1 in node 0: the task runs on CPU 1, and its memory bound to node 0 is
# memory the real kernel has, so it runs.  On the machine's own (one-node)
# tree the unit keeps the default policy.
. "$(dirname "$0")/../lib.sh"
require_systemd
fake=/var/lib/br-test/fake-sysfs-numa.$$
sd sh -c "set -e
    d=$fake/devices/system/cpu
    mkdir -p \$d/cpu0/topology \$d/cpu1/topology $fake/devices/system/node/node3 $fake/devices/system/node/node0
    echo 0-1 > \$d/online
    for c in 0 1; do
        echo \$c > \$d/cpu\$c/topology/thread_siblings_list
        echo \$c > \$d/cpu\$c/topology/core_id
        echo 0 > \$d/cpu\$c/topology/physical_package_id
    done
    echo 0 > $fake/devices/system/node/node3/cpulist
    echo 1 > $fake/devices/system/node/node0/cpulist"
trap 'rc=$?; sd rm -rf "$fake"; (exit $rc); t_cleanup' EXIT
br_daemon_start --cpus=1 --memory=1G --sysfs-root="$fake" || exit 1
row() { br_sql "select $1 from tasks where id=$2"; }
wait_state() { for _ in $(seq 300); do [ "$(row state "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }

id=$(br br-run -- sh -c 'grep -E "^Mems_allowed_list" /proc/self/status; exec sleep 30')
check "task $id runs" wait_state "$id" running
unit=benchrunner-task-$id.service
props=$(sd systemctl show -p NUMAPolicy -p NUMAMask -p CPUAffinity "$unit")
echo "$props" | sed 's/^/  /'
check "its CPU is 1" [ "$(row cpus "$id")" = 1 ]
check "NUMAPolicy=bind" grep -qx 'NUMAPolicy=bind' <<< "$props"
check "NUMAMask=0, the node of CPU 1" grep -qx 'NUMAMask=0' <<< "$props"
check "the row says which node" [ "$(row numa_nodes "$id")" = 0 ]
check "br-show says which" eval 'br br-show "$id" | grep -q "NUMA nodes: *0 (its memory is bound to them)"' 
br br-cancel "$id" > /dev/null
check "$id ends" wait_state "$id" finished
br_daemon_stop

# the machine's own tree: one node, the default policy
br_daemon_start --cpus=1 --memory=1G || exit 1
id=$(br br-run -- sleep 30)
check "on one node: task $id runs" wait_state "$id" running
props=$(sd systemctl show -p NUMAPolicy -p NUMAMask "benchrunner-task-$id.service")
echo "$props" | sed 's/^/  /'
check "one node: no NUMA policy set" eval '! grep -qx "NUMAPolicy=bind" <<< "$props"'
br br-cancel "$id" > /dev/null
finish
