#!/bin/bash
# transient-units.sh: src/daemon/unit.c against a real systemd, through
# tests/helpers/transient-driver:
# every way a command can end (exit, exit code, OOM, time limit, cancel, bad
# executable), the task's properties as the process sees them (user and
# groups, CPUs, working directory, environment, arguments byte for byte, a
# private tmpfs /tmp that counts toward the memory limit, output files),
# plausible measurements, restart recovery with unit_attach() after the client
# was SIGKILLed, and that nothing is left behind.  Both tiers; what differs
# between cgroup v1 and v2 is checked where it differs.
. "$(dirname "$0")/../lib.sh"
require_systemd

U=$abs_top_builddir/tests/helpers/transient-driver
[ -x "$U" ] || { echo "FAIL: $U not built"; exit 1; }
ncpu=$(sd nproc --all)
cpu=$((ncpu - 1))
# software emulation in the v2 tier: starting a unit costs ~0.5 s more
slow=0; [ "$BR_TIER" = v2 ] && slow=1

# run NAME ARGS...: one unit; its KEY=VALUE result in $T_TMP/NAME
run() {
    local name=$1; shift
    sd "$U" --name "benchrunner-ut-$name.service" "$@" > "$T_TMP/$name" 2> "$T_TMP/$name.err"
    echo "--- $name: $(tr '\n' ' ' < "$T_TMP/$name") $(cat "$T_TMP/$name.err")"
}
v() { value "$2" "$T_TMP/$1"; }

# a user with supplementary groups (the tiers' /etc is a throw-away overlay)
if ! sd id br-unit >/dev/null 2>&1; then
    sd groupadd -f br-unit-extra
    sd useradd -M -d /nonexistent -s /bin/sh -G br-unit-extra br-unit
fi
uid=$(sd id -u br-unit); gid=$(sd id -g br-unit)
# inside the systemd under test and not under /tmp: the command's private
# /tmp would hide a directory there (the build tree may live under /tmp)
work=/var/lib/br-test/unit.$$; sd mkdir -p "$work"; sd chown "$uid:$gid" "$work"
fetch() { sd cat "$work/$1" > "$T_TMP/$1" 2>/dev/null; }

sd "$U" --limitations > "$T_TMP/lim"
cat "$T_TMP/lim"
if [ "$BR_TIER" = v2 ]; then
    check "cgroup v2 detected" [ "$(value CGROUP "$T_TMP/lim")" = v2 ]
    check "v2: AllowedCPUs= not named as a limitation" sh -c "! grep -q AllowedCPUs '$T_TMP/lim'"
else
    check "cgroup v1 detected" [ "$(value CGROUP "$T_TMP/lim")" = v1 ]
    check "v1: AllowedCPUs=/MemorySwapMax= named as limitations" \
        sh -c "grep -q AllowedCPUs '$T_TMP/lim' && grep -q MemorySwapMax '$T_TMP/lim'"
fi

# 1. ends
run true -- /bin/true
check "true: exited 0" [ "$(v true REASON)/$(v true EXIT_CODE)" = exited/0 ]
check "true: start/finish times and wall time" \
    sh -c "[ $(v true STARTED_USEC) -gt 0 ] && [ $(v true FINISHED_USEC) -ge $(v true STARTED_USEC) ] && [ $(v true WALL_USEC) -lt 5000000 ]"
run exit3 -- /bin/sh -c 'exit 3'
check "exit 3: exited 3" [ "$(v exit3 REASON)/$(v exit3 EXIT_CODE)" = exited/3 ]
run badexe -- /nonexistent/program
check "bad executable: failed-to-start, status 203" [ "$(v badexe REASON)/$(v badexe EXIT_CODE)" = failed-to-start/203 ]
run baddir --workdir /nonexistent -- /bin/true
check "missing working directory: failed-to-start, status 200" \
    [ "$(v baddir REASON)/$(v baddir EXIT_CODE)" = failed-to-start/200 ]

# 2. the task's properties, as its process sees them
out=$work/props.out
run props --uid "$uid" --workdir "$work" --stdout "$out" --stderr "$work/props.err" --cpus "$cpu" \
    --memory 100M --oom-score-adjust 300 --env 'FOO=a b $HOME' --env BENCHRUNNER_TASK=7 \
    -- /bin/sh -c 'id -un; id -Gn; pwd; grep Cpus_allowed_list /proc/self/status
        echo "adj=$(cat /proc/self/oom_score_adj)"; echo "FOO=$FOO TASK=$BENCHRUNNER_TASK"
        echo "tmpfs=$(findmnt -n -o FSTYPE /tmp) mode=$(stat -c %a /tmp) files=$(ls -A /tmp | wc -l)"
        touch /tmp/mine && echo tmp-writable
        printf "<%s>" "$@"; echo; echo to-stderr >&2' \
    sh 'a b' '$HOME' '%n' 'back\slash' "q'\"" ''
fetch props.out; fetch props.err
cat "$T_TMP/props.out"
check "props: exited 0" [ "$(v props REASON)/$(v props EXIT_CODE)" = exited/0 ]
check "runs as the user" grep -qx br-unit "$T_TMP/props.out"
check "with the user's supplementary groups" grep -qw br-unit-extra "$T_TMP/props.out"
check "in its working directory" grep -qx "$work" "$T_TMP/props.out"
check "pinned to CPU $cpu (CPUAffinity=)" grep -Eq "^Cpus_allowed_list:[[:space:]]+$cpu\$" "$T_TMP/props.out"
check "OOMScoreAdjust=300" grep -qx adj=300 "$T_TMP/props.out"
check "environment passed as is" grep -qx 'FOO=a b $HOME TASK=7' "$T_TMP/props.out"
check "/tmp is a private, empty, sticky tmpfs" grep -qx 'tmpfs=tmpfs mode=1777 files=0' "$T_TMP/props.out"
check "/tmp writable by the user" grep -qx tmp-writable "$T_TMP/props.out"
check "arguments byte for byte (no \$VAR, no % expansion)" grep -qxF "<a b><\$HOME><%n><back\\slash><q'\"><>" "$T_TMP/props.out"
check "stderr to its file" grep -qx to-stderr "$T_TMP/props.err"
check "the private /tmp is gone afterwards" sd test ! -e /tmp/mine
if [ "$BR_TIER" = v2 ]; then
    run v2props --cpus "$cpu" --memory 64M --stdout "$work/v2.out" -- /bin/sh -c \
        'cg=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)
         echo "eff=$(cat $cg/cpuset.cpus.effective) max=$(cat $cg/memory.max) swap=$(cat $cg/memory.swap.max)"'
    fetch v2.out; cat "$T_TMP/v2.out"
    check "v2: AllowedCPUs=$cpu, MemoryMax=64M, MemorySwapMax=0 on the service" \
        grep -qx "eff=$cpu max=67108864 swap=0" "$T_TMP/v2.out"
else
    run v1props --memory 64M --stdout "$work/v1.out" -- /bin/sh -c \
        'cg=$(sed -n "s/^[0-9]*:memory://p" /proc/self/cgroup)
         echo "slice=$(cat /sys/fs/cgroup/memory${cg%/*}/memory.limit_in_bytes)"'
    fetch v1.out; cat "$T_TMP/v1.out"
    check "v1: MemoryMax=64M on the command's slice" grep -qx slice=67108864 "$T_TMP/v1.out"
fi

# 3. OOM: the hog dies as oom, a unit beside it is unharmed
sd "$U" --name benchrunner-ut-beside.service --memory 64M -- /bin/sh -c 'sleep 3; echo alive' \
    > "$T_TMP/beside" 2>&1 &
beside=$!
sleep 0.5
run hog --memory 64M --time-limit 60 -- /usr/bin/tail /dev/zero
check "hog: oom, SIGKILL" [ "$(v hog REASON)/$(v hog SIGNAL)" = oom/9 ]
check "hog: peak memory about 64M ($(v hog PEAK_MEMORY_BYTES))" between "$(v hog PEAK_MEMORY_BYTES)" 60000000 68157440
wait $beside
check "the unit beside it exited 0" [ "$(v beside REASON)/$(v beside EXIT_CODE)" = exited/0 ]
# the whole group dies, not only the process the kernel picked
run hogchild --memory 64M --time-limit 60 -- /bin/sh -c '/usr/bin/tail /dev/zero & sleep 50; wait'
check "hog child beside a sleeper: oom" [ "$(v hogchild REASON)" = oom ]
check "and the sleeper died with it ($(v hogchild WALL_USEC) us)" between "$(v hogchild WALL_USEC)" 0 30000000
run tmpfill --memory 64M -- /bin/sh -c 'head -c 100000000 /dev/zero > /tmp/fill; sleep 1'
check "100M into /tmp under MemoryMax=64M: oom (the tmpfs counts)" [ "$(v tmpfill REASON)" = oom ]

# 4. time limit and cancel
hi=4000000; [ $slow = 1 ] && hi=7000000
run limit --time-limit 2 -- /bin/sleep 30
check "sleep 30, limit 2 s: time-limit" [ "$(v limit REASON)" = time-limit ]
check "after about 2 s ($(v limit WALL_USEC) us)" between "$(v limit WALL_USEC)" 1800000 $hi
run cancel --cancel-after 1 -- /bin/sleep 30
check "cancel: stop sent" [ "$(v cancel STOP_SENT)" = 1 ]
check "cancel: SIGTERM after about 1 s" \
    sh -c "[ '$(v cancel REASON)/$(v cancel SIGNAL)' = signaled/15 ] && [ $(v cancel WALL_USEC) -lt $hi ]"

# 5. measurements
run peak --memory 256M -- /bin/sh -c 'head -c 40000000 /dev/zero | tail -c 24000000 > /dev/null'
check "peak memory of tail -c 24MB: $(v peak PEAK_MEMORY_BYTES)" between "$(v peak PEAK_MEMORY_BYTES)" 24000000 100000000
run busy -- /usr/bin/timeout 1.5 /bin/sh -c 'while :; do :; done'
# (the v2 tier's emulation adds the slow start of sh and timeout)
check "1.5 s busy loop: user CPU $(v busy CPU_USER_USEC) us" \
    between "$(v busy CPU_USER_USEC)" 1000000 $((1600000 + 1000000 * slow))
run sys -- /bin/dd if=/dev/zero of=/dev/null bs=1 count=300000
check "dd bs=1: system CPU $(v sys CPU_SYSTEM_USEC) us > 0" between "$(v sys CPU_SYSTEM_USEC)" 1 100000000

# 6. restart recovery: the client is SIGKILLed, a new one attaches
kill_after() { sd timeout -s KILL "$1" "$U" --name "benchrunner-ut-$2.service" "${@:3}" >/dev/null 2>&1 || true; }
attach() { sd "$U" --attach "benchrunner-ut-$1.service" > "$T_TMP/$1" 2>&1; echo "--- attach $1: $(tr '\n' ' ' < "$T_TMP/$1")"; }
kill_after 1 running -- /bin/sh -c 'sleep 3; exit 4'
attach running
check "attach to a running unit: exited 4 at its end" [ "$(v running REASON)/$(v running EXIT_CODE)" = exited/4 ]
kill_after 1 ended -- /bin/sh -c 'sleep 1.5'
sleep 2
attach ended
check "attach to a unit that ended well meanwhile: exited 0" [ "$(v ended REASON)/$(v ended EXIT_CODE)" = exited/0 ]
kill_after 1 oomed --memory 64M -- /bin/sh -c 'sleep 1.5; exec /usr/bin/tail /dev/zero'
sleep $((3 + 3 * slow))
attach oomed
check "attach to a unit that was OOM-killed meanwhile: oom" [ "$(v oomed REASON)" = oom ]
kill_after 1 timedout --time-limit 2 -- /bin/sleep 30
sleep $((2 + 2 * slow))
attach timedout
check "attach to a unit that hit its time limit meanwhile: time-limit" [ "$(v timedout REASON)" = time-limit ]
rc=0; sd "$U" --attach benchrunner-ut-never.service > "$T_TMP/never" 2>&1 || rc=$?
check "attach to a unit that is gone: interrupted (exit 3)" [ "$rc/$(v never REASON)" = 3/interrupted ]

# 7. AllowedCPUs= of a slice at runtime
# (on cgroup v1 systemd records the property without applying it)
sd "$U" --allowed-cpus "user.slice=$cpu" > "$T_TMP/ac" 2>&1
check "user.slice AllowedCPUs=$cpu" [ "$(sd systemctl show -P AllowedCPUs user.slice)" = "$cpu" ]
sd "$U" --allowed-cpus "user.slice=" > "$T_TMP/ac" 2>&1
check "user.slice AllowedCPUs= back to all" [ -z "$(sd systemctl show -P AllowedCPUs user.slice)" ]

# 8. nothing left behind but benchrunner.slice
sleep 0.5
left=$(sd systemctl list-units --all --plain --no-legend 'benchrunner-ut*' | awk '{print $1}' | tr '\n' ' ')
check "no unit or slice left behind (${left:-none})" [ -z "$left" ]

finish
