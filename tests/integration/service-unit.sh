#!/bin/bash
# service-unit.sh: the packaged service (data/benchrunnerd.service, with its
# hardening), the tmpfiles.d and sysusers.d entries and the settings file,
# as an installation has them: the unit as built, the program copied to
# where it looks for it.  It starts (Type=notify), reads its
# settings file, runs tasks for members of group benchrunner with every
# limit working under the hardening (output, a cleanup, OOM, time limit, the
# working directory's removal, the history copy), refuses others with one
# line, survives a restart with its queue, and does not start with a
# settings file that --check-config refuses.
. "$(dirname "$0")/../lib.sh"
require_systemd

unit_src=$abs_top_builddir/data/benchrunnerd.service
[ -f "$unit_src" ] || { echo "FAIL: $unit_src is not built"; exit 1; }
sbindir=$(sed -n 's|^ExecStart=\(.*\)/benchrunnerd .*|\1|p' "$unit_src")
conf=$(sed -n 's|^# settings in \(.*benchrunnerd\.conf\) .*|\1|p' "$unit_src")
statedir=$(sed -n 's|^ReadWritePaths=\([^ ]*\) .*|\1|p' "$unit_src")
rundir=$(sed -n 's|^ReadWritePaths=[^ ]* \(.*\)|\1|p' "$unit_src")
echo "unit: $unit_src (sbindir $sbindir, settings $conf, state $statedir, run $rundir)"
check "the unit names its paths" eval '[ -n "$sbindir" ] && [ -n "$conf" ] && [ -n "$statedir" ] && [ -n "$rundir" ]'
BR_SOCK=$rundir/benchrunner.sock
BR_DB=$statedir/private/tasks.db

teardown() {
    sd systemctl stop benchrunnerd.service 2>/dev/null
    sd rm -f /run/systemd/system/benchrunnerd.service "$sbindir/benchrunnerd"
    sd rm -rf /run/systemd/system/benchrunnerd.service.d
    sd systemctl daemon-reload
    br_units_clean
}
trap 'rc=$?; teardown; (exit $rc); t_cleanup' EXIT

# as installed: the entries applied, the unit as built
sd systemd-sysusers "$abs_top_srcdir/data/sysusers.d/benchrunner.conf"
sd systemd-tmpfiles --create "$abs_top_builddir/data/tmpfiles.d/benchrunner.conf"
check "sysusers.d made group benchrunner" sd getent group benchrunner
check "tmpfiles.d made the state directory, root's, 0755" \
    [ "$(sd stat -c %U:%a "$statedir")/$(sd stat -c %U:%a "$statedir/private")/$(sd stat -c %U:%a "$rundir")" = "root:755/root:700/root:755" ]
# the program where the unit looks for it, in the container's throw-away
# root (a build tree under /tmp is out of the service's sight: PrivateTmp)
sd mkdir -p "$sbindir"
sd install -m 0755 "$abs_top_builddir/benchrunnerd" "$sbindir/benchrunnerd"
sd install -m 0644 "$unit_src" /run/systemd/system/benchrunnerd.service
# a build with sanitizers: their own settings, nothing else changed
sd mkdir -p /run/systemd/system/benchrunnerd.service.d
sd sh -c "printf '[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n' > /run/systemd/system/benchrunnerd.service.d/asan.conf"
sd systemctl daemon-reload
sd mkdir -p "$(dirname "$conf")"
sd sh -c "printf 'cpus = 1\nmemory = 1G\noutput-cap = 1M\n' > '$conf'"

sd systemctl start benchrunnerd.service; rc=$?
check "systemctl start benchrunnerd exits 0 (Type=notify: ready)" [ "$rc" = 0 ]
[ "$rc" = 0 ] || sd journalctl -u benchrunnerd.service --no-pager -o cat | tail -n 20
check "the service is active" [ "$(sd systemctl is-active benchrunnerd.service)" = active ]
pid=$(sd systemctl show -P MainPID benchrunnerd.service)
check "it read its settings file: CPUs 1, memory 1.0G" \
    eventually eval 'sd journalctl -u benchrunnerd.service -o cat | grep -q "CPUs 1, memory 1.0G"'
for p in ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes NoNewPrivileges=yes \
         RestrictAddressFamilies=AF_UNIX MemoryDenyWriteExecute=yes; do
    check "the service runs with $p" [ "$(sd systemctl show -P "${p%%=*}" benchrunnerd.service)" = "${p#*=}" ]
done
# the bounding set: exactly the unit's, and the daemon did all of the below with it
capbnd=$(sd sed -n 's/^CapBnd:[[:space:]]*//p' "/proc/$pid/status")
echo "  CapBnd $capbnd; the unit's: $(sd systemctl show -P CapabilityBoundingSet benchrunnerd.service)"
# chown 0, fowner 3, kill 5, setgid 6, setuid 7: nothing else (not even dac_override)
check "the daemon's capability bounding set is within the unit's five" \
    eval '[ -n "$capbnd" ] && [ $(( 0x$capbnd & ~((1<<0)|(1<<3)|(1<<5)|(1<<6)|(1<<7)) )) = 0 ] && [ $(( 0x$capbnd )) != 0 ]'
check "NoNewPrivs in the daemon's status" sd grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$pid/status"
check "the daemon sees /usr read-only" sd nsenter -t "$pid" -m sh -c 'touch /usr/.br-test 2>/dev/null; [ $? != 0 ]'
check "and /home empty" sd nsenter -t "$pid" -m sh -c '[ -z "$(ls -A /home)" ]'

br_user brsvc1
br_user brsvc2
sd usermod -a -G benchrunner brsvc1
F=$statedir/svc-test
sd mkdir -p -m 0777 "$F"

out=$(as_user brsvc1 "$abs_top_builddir/br-run" -w -- true 2>&1); rc=$?
check "a member of group benchrunner: br-run -w -- true exits 0" [ "$rc" = 0 ]
out=$(as_user brsvc2 "$abs_top_builddir/br-run" -w -- true 2>&1); rc=$?
echo "  non-member: rc=$rc: $out"
check "a non-member is refused with one line" eval '[ "$rc" != 0 ] && [ "$(printf "%s\n" "$out" | wc -l)" = 1 ] &&
    printf "%s" "$out" | grep -qi "may not submit\|not allowed\|permission"'

id=$(as_user brsvc1 "$abs_top_builddir/br-run" -w -c "touch $F/cleanup-ran" -- sh -c 'echo hello; pwd > '"$F"'/wd; mkdir -p d/e; echo x > d/e/f' 2>/dev/null | head -n 1)
check "a task's output is kept, its cleanup runs" \
    eval '[ "$(sd cat "$statedir/output/$id/stdout" 2>/dev/null)" = hello ] && sd test -e "$F/cleanup-ran"'
check "its working directory, with the user's files in it, is removed (as the user)" eventually sd test ! -e "$(sd cat "$F/wd")"
as_user brsvc1 "$abs_top_builddir/br-run" -w -m 64M -- tail /dev/zero > /dev/null 2>&1
check "a memory hog ends as oom" [ "$(sd sqlite3 "$BR_DB" "select reason from tasks order by id desc limit 1")" = oom ]
as_user brsvc1 "$abs_top_builddir/br-run" -w -t 1s -- sleep 30 > /dev/null 2>&1
check "a task past its time limit ends as time-limit" \
    [ "$(sd sqlite3 "$BR_DB" "select reason from tasks order by id desc limit 1")" = time-limit ]
check "the history copy is there for users" eventually \
    as_user brsvc2 sqlite3 "$statedir/tasks.db" "select count(*) > 0 from tasks"

# a restart with a task running and one queued: both go on
long=$(as_user brsvc1 "$abs_top_builddir/br-run" -- sleep 4)
queued=$(as_user brsvc1 "$abs_top_builddir/br-run" -- true)
sd systemctl restart benchrunnerd.service; rc=$?
check "systemctl restart exits 0, the service is active" \
    eval '[ "$rc" = 0 ] && [ "$(sd systemctl is-active benchrunnerd.service)" = active ]'
for _ in $(seq 150); do
    [ "$(sd sqlite3 "$BR_DB" "select group_concat(reason) from tasks where id in ($long, $queued)")" = "exited,exited" ] && break
    sleep 0.1
done
check "after the restart the running and the queued task both exited" \
    [ "$(sd sqlite3 "$BR_DB" "select group_concat(reason) from tasks where id in ($long, $queued)")" = "exited,exited" ]

# br-start and the installed service: it says so, changes nothing, never
# runs a second daemon beside it, and starts it as it is when stopped
out=$(sd "$abs_top_builddir/br-start" 2>&1); rc=$?
echo "  br-start: rc=$rc: $out"
check "br-start with the service running: exit 0, says it is the installed service" \
    eval '[ "$rc" = 0 ] && printf "%s" "$out" | grep -q "already running as the installed service benchrunnerd.service"'
pid=$(sd systemctl show -P MainPID benchrunnerd.service)
out=$(sd "$abs_top_builddir/br-start" -j 1 -m 2G 2>&1); rc=$?
echo "  br-start -j 1 -m 2G: rc=$rc: $out"
check "br-start -m 2G with the service at 1G: refused, pointing at the settings file" \
    eval '[ "$rc" = 1 ] && printf "%s" "$out" | grep -q "set threads and memory in $conf"'
check "and the service runs on as it was (same main PID, not transient)" \
    eval '[ "$(sd systemctl show -P MainPID benchrunnerd.service)" = "$pid" ] &&
          [ "$(sd systemctl show -P Transient benchrunnerd.service)" = no ]'
sd systemctl stop benchrunnerd.service
out=$(sd "$abs_top_builddir/br-start" -j 1 2>&1); rc=$?
echo "  br-start -j 1, service stopped: rc=$rc: $out"
check "br-start -j 1 with the service stopped: refused, nothing started" \
    eval '[ "$rc" = 1 ] && printf "%s" "$out" | grep -q "is installed: its settings are in $conf" &&
          [ "$(sd systemctl is-active benchrunnerd.service)" != active ]'
out=$(sd "$abs_top_builddir/br-start" 2>&1); rc=$?
echo "  br-start, service stopped: rc=$rc: $out"
check "br-start with the service stopped starts the installed service as it is" \
    eval '[ "$rc" = 0 ] && printf "%s" "$out" | grep -q "started as the installed service benchrunnerd.service: 1 CPU thread, memory 1.0G" &&
          [ "$(sd systemctl is-active benchrunnerd.service)" = active ] &&
          [ "$(sd systemctl show -P Transient benchrunnerd.service)" = no ]'
out=$(as_user brsvc1 "$abs_top_builddir/br-run" -w -- true 2>&1); rc=$?
check "and a member's task runs on it" [ "$rc" = 0 ]

# settings --check-config refuses: the service does not start, and says why
sd sh -c "printf 'memory = 12Q\n' > '$conf'"
sd systemctl restart benchrunnerd.service 2>/dev/null; rc=$?
check "with memory = 12Q the service does not start" [ "$rc" != 0 ]
check "and the journal says why" eval 'sd journalctl -u benchrunnerd.service -o cat | grep -q "Invalid memory size: 12Q"'
sd sh -c "printf 'cpus = 0-1\n' > '$conf'"
out=$(sd env ASAN_OPTIONS=detect_leaks=0 "$sbindir/benchrunnerd" --check-config 2>&1); rc=$?
echo "  every CPU: rc=$rc: $out"
check "benchrunnerd --check-config refuses giving away every core" \
    eval '[ "$rc" != 0 ] && printf "%s" "$out" | grep -q "every core"'
sd sh -c "printf 'cpus = 1\n' > '$conf'"
out=$(sd env ASAN_OPTIONS=detect_leaks=0 "$sbindir/benchrunnerd" --check-config 2>&1); rc=$?
check "and accepts cpus = 1 with one line: $out" eval '[ "$rc" = 0 ] && [ "$(printf "%s\n" "$out" | wc -l)" = 1 ]'
sd sh -c "printf 'threads = 64\n' > '$conf'"
out=$(sd env ASAN_OPTIONS=detect_leaks=0 "$sbindir/benchrunnerd" --check-config 2>&1); rc=$?
echo "  threads = 64: rc=$rc: $out"
check "--check-config refuses more threads than there are" \
    eval '[ "$rc" != 0 ] && printf "%s" "$out" | grep -q "threads 64: this machine has [0-9]* CPU threads online"'
sd sh -c "printf 'threads = 1\n' > '$conf'"
out=$(sd env ASAN_OPTIONS=detect_leaks=0 "$sbindir/benchrunnerd" --check-config 2>&1); rc=$?
check "threads = 1 gives one CPU thread, not CPU 0: $out" eval '[ "$rc" = 0 ] && printf "%s" "$out" | grep -q "^CPUs [1-9][0-9]*,"'
out=$(sd env ASAN_OPTIONS=detect_leaks=0 "$sbindir/benchrunnerd" --cpus=1 --check-config 2>&1); rc=$?
check "--cpus on the command line wins over threads in the file: $out" \
    eval '[ "$rc" = 0 ] && printf "%s" "$out" | grep -q "^CPUs 1,"'

finish
