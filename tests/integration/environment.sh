#!/bin/bash
# environment.sh: what a task ran in and beside, against the real daemon:
# the environments row of its start (kernel and CPU model as the machine
# says, unknown values as null, one row while nothing changes and a new one
# when something does), its warnings (a governor other than performance;
# on cgroup v1 that the system could not be kept off its CPUs), its
# group's pressure (cgroup v2; unknown, NULL, on v1), how many tasks ran
# beside it, and br-show printing all of it.  The daemon reads a fake
# sysfs tree (--sysfs-root) whose cpufreq files the test changes.
. "$(dirname "$0")/../lib.sh"
require_systemd
fake=/var/lib/br-test/fake-sysfs-env.$$
sd sh -c "set -e
    d=$fake/devices/system/cpu
    echo 0-1 > \$d/online 2>/dev/null || { mkdir -p \$d; echo 0-1 > \$d/online; }
    for c in 0 1; do
        mkdir -p \$d/cpu\$c/topology \$d/cpu\$c/cpufreq
        echo \$c > \$d/cpu\$c/topology/thread_siblings_list
        echo \$c > \$d/cpu\$c/topology/core_id
        echo 0 > \$d/cpu\$c/topology/physical_package_id
        echo powersave > \$d/cpu\$c/cpufreq/scaling_governor
        echo 800000 > \$d/cpu\$c/cpufreq/scaling_min_freq
        echo 3000000 > \$d/cpu\$c/cpufreq/scaling_max_freq
    done"
trap 'rc=$?; sd rm -rf "$fake"; (exit $rc); t_cleanup' EXIT
br_daemon_start --cpus=0-1 --memory=1G --sysfs-root="$fake" || exit 1
row() { br_sql "select $1 from tasks where id=$2"; }
wait_state() { for _ in $(seq 300); do [ "$(row state "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }
v2=0
sd test -e /sys/fs/cgroup/cgroup.controllers && v2=1
echo "  cgroup v2: $v2"

# two tasks side by side, then one alone
a=$(br br-run -- sh -c 'sleep 1; head -c 50000000 /dev/zero | sha256sum > /dev/null')
b=$(br br-run -- sh -c 'sleep 1; head -c 50000000 /dev/zero | sha256sum > /dev/null')
check "$a and $b finish" eval 'wait_state "$a" finished && wait_state "$b" finished'
check "$a and $b ran side by side: one beside each" [ "$(row tasks_beside "$a") $(row tasks_beside "$b")" = "1 1" ]
c=$(br br-run -- true)
check "$c finishes" wait_state "$c" finished
check "$c ran alone: none beside it" [ "$(row tasks_beside "$c")" = 0 ]

# the environment: one row, what the machine says, unknown as null
env_a=$(row environment_id "$a")
check "every task has an environment ($env_a)" [ -n "$env_a" ] && \
    check "and the same one while nothing changed" [ "$(row environment_id "$b") $(row environment_id "$c")" = "$env_a $env_a" ]
check "one environments row" [ "$(br_sql "select count(*) from environments")" = 1 ]
kernel=$(sd cat /proc/sys/kernel/osrelease)
check "its kernel: $kernel" [ "$(br_sql "select kernel from environment where id = $env_a")" = "$kernel" ]
model=$(sd sh -c "grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: //'")
check "its CPU model: $model" [ "$(br_sql "select cpu_model from environment where id = $env_a")" = "$model" ]
check "its cgroup version" [ "$(br_sql "select cgroup from environment where id = $env_a")" = $((v2 + 1)) ]
check "the governors of benchrunner's CPUs 0 and 1" \
    [ "$(br_sql "select json_extract(record, '\$.cpus[0].governor') || ',' || json_extract(record, '\$.cpus[1].max_khz') from environments")" = "powersave,3000000" ]
check "boost and SMT the fake tree does not say: null, not 0" \
    [ "$(br_sql "select json_type(record, '\$.boost') || ',' || json_type(record, '\$.smt') from environments")" = "null,null" ]

# warnings
w=$(row warnings "$c")
echo "  warnings of $c: $w"
check "a governor other than performance" grep -q "runs the powersave governor, not performance" <<< "$w"
if [ "$v2" = 0 ]; then
    check "cgroup v1: the system could not be kept off its CPUs" grep -q "cgroup v1: the system could not be kept off" <<< "$w"
    check "cgroup v1: pressure unknown (NULL), not 0" [ "$(row "coalesce(cpu_pressure_some_us, 'NULL')" "$a")" = NULL ]
else
    check "cgroup v2: no cgroup warning" eval '! grep -q "cgroup v1" <<< "$w"'
    if sd test -e /proc/pressure/cpu; then
        check "cgroup v2 with PSI: cpu and memory pressure recorded" \
            eval '[ -n "$(row cpu_pressure_some_us "$a")" ] && [ -n "$(row memory_pressure_some_us "$a")" ]'
    else
        check "cgroup v2 without PSI (psi=0): pressure unknown (NULL)" \
            [ "$(row "coalesce(cpu_pressure_some_us, 'NULL')" "$a")" = NULL ]
    fi
fi

# br-run -w says them
out=$(br br-run -w -- true 2>&1 >/dev/null)
echo "$out" | sed 's/^/  /'
check "br-run -w: the end, then each warning" \
    eval 'printf "%s\n" "$out" | head -n 1 | grep -q "exited 0 after" && printf "%s" "$out" | grep -q "^br-run: task [0-9]*: warning: CPU [01] runs the powersave governor, not performance$"'

# a change: a new environments row, and the warning gone
sd sh -c "echo performance > $fake/devices/system/cpu/cpu0/cpufreq/scaling_governor;
          echo performance > $fake/devices/system/cpu/cpu1/cpufreq/scaling_governor"
d=$(br br-run -- true)
check "$d finishes" wait_state "$d" finished
check "the governors changed: a second environments row" [ "$(br_sql "select count(*) from environments")" = 2 ]
check "$d points to it" [ "$(row environment_id "$d")" != "$env_a" ]
check "br-list --environment: the tasks of each" \
    eval '[ "$(br br-list -q --environment "$env_a" | sort -n | tr "\n" " ")" = "$(br_sql "select id from tasks where environment_id = $env_a order by id" | tr "\n" " ")" ] &&
          [ "$(br br-list -q --environment "$env_a" | wc -l)" = 4 ] &&
          [ "$(br br-list -q --environment "$(row environment_id "$d")")" = "$d" ]' 
check "and has no governor warning" eval '! row "coalesce(warnings, \"\")" "$d" | grep -q governor'

# br-show
out=$(br br-show "$c")
echo "$out" | sed -n '/Measured beside it:/,/Output:/p'
check "br-show: the environment" grep -q "Environment: *$env_a" <<< "$out"
check "br-show: the kernel" grep -q "Kernel: *$kernel" <<< "$out"
check "br-show: the warning" grep -q "Warnings: .*powersave governor" <<< "$out"
check "br-show: beside it" grep -q "Beside it ran: *0 other tasks" <<< "$out"
check "br-show --json: environment_id and the record" \
    eval 'br br-show --json "$c" | grep -q "\"environment_id\":$env_a" && br br-show --json "$c" | grep -q "\"environment\":{\"cpu_model\""'
finish
