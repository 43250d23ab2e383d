#!/bin/bash
# br-top.sh: br-top's screen, read through tmux, against a real daemon.  A
# fake sysfs tree makes CPUs 0 and 1 the two threads of one core (these
# machines have no SMT); the daemon gets CPU 1, the system keeps CPU 0.  A
# batch runs one task at a time: the screen shows the task on CPU 1 beside
# "sys" on CPU 0, the queue per group, the task's row, and a new frame when
# the task ends and the next one starts.  That next one has a name with
# terminal escapes (a row left by an older daemon, which did not refuse
# them): it shows escaped and the pane's title stays.  Then: the elapsed
# time moves on, a resize cuts the lines to the new width, q, SIGTERM and
# a stopped daemon (one line, exit 1) each give the terminal back; piped,
# the same view once as plain text; the stats reply's new fields.
. "$(dirname "$0")/../lib.sh"
require_systemd
if ! sd sh -c 'command -v tmux' > /dev/null 2>&1; then
    [ "${BR_TEST_REQUIRE_SYSTEMD:-0}" = 1 ] && { echo "FAIL: tmux is not installed (BR_PKGS_CONTAINER)"; exit 1; }
    skip "tmux is not installed (tools/common.sh BR_PKGS_CONTAINER has it)"
fi

TM=br-top-$$
tm() { sd env TERM=xterm tmux -L "$TM" "$@"; }
trap 'rc=$?; tm kill-server > /dev/null 2>&1; (exit $rc); t_cleanup' EXIT

fake=/var/lib/br-test/fake-sysfs-top.$$
sd sh -c "set -e
    d=$fake/devices/system/cpu
    mkdir -p \$d/cpu0/topology \$d/cpu1/topology
    echo 0-1 > \$d/online
    for c in 0 1; do
        echo 0-1 > \$d/cpu\$c/topology/thread_siblings_list
        echo 0 > \$d/cpu\$c/topology/core_id
        echo 0 > \$d/cpu\$c/topology/physical_package_id
    done"
opts=(--cpus=1 --memory=1G --sysfs-root="$fake")
br_daemon_start "${opts[@]}" || exit 1
row() { br_sql "select $1 from tasks where id=$2"; }
wait_state() { for _ in $(seq 300); do [ "$(row state "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }

# the first task runs until $go exists; the others wait behind it, the
# highest group first
go=$BR_STATE/go
cat > "$T_TMP/batch" <<EOF
{"name":"first","group":5,"argv":["/bin/sh","-c","while [ ! -e $go ]; do sleep 0.1; done"]}
{"name":"second","group":1,"argv":["/bin/sleep","600"],"time_limit_us":3600000000}
{"name":"third","argv":["/bin/sleep","600"]}
{"argv":["/bin/sleep","600"]}
EOF
sd sh -c "cd / && BENCHRUNNER_SOCKET=$BR_SOCK $abs_top_builddir/br-run --batch -" < "$T_TMP/batch" > "$T_TMP/ids"
read -r t1 t2 t3 t4 <<< "$(tr '\n' ' ' < "$T_TMP/ids")"
check "four tasks submitted ($t1 $t2 $t3 $t4)" [ -n "$t4" ]
check "task $t1 runs" wait_state "$t1" running

# task 2's name as a daemon from before the name rules could have stored
# it: OSC "set the title", "clear the screen", and an e-acute (escaped in
# the C locale).  The daemon is stopped for the write and finds task 1's
# unit again when it is back.
br_daemon_stop
br_sql "update tasks set name = 'evil' || char(27) || ']0;pwned' || char(7) || char(27) || '[2J' || char(233)
        where id = $t2"
br_daemon_start "${opts[@]}" || exit 1
for _ in $(seq 100); do br br-stats --once > /dev/null 2>&1 && break; sleep 0.1; done
check "task $t1 still runs after the restart" [ "$(row state "$t1")" = running ]

# run-top.sh NAME: br-top in a tmux pane, its stderr and exit status in
# files; the pane stays to show what br-top left on the terminal
cat > "$T_TMP/run-top.sh" <<EOF
#!/bin/sh
BENCHRUNNER_SOCKET=$BR_SOCK LC_ALL=C \\
    $abs_top_builddir/br-top --sysfs-root=$fake 2> $T_TMP/\$1.err
echo \$? > $T_TMP/\$1.rc
exec sleep 600
EOF
chmod +x "$T_TMP/run-top.sh"
start_top() { rm -f "$T_TMP/$1.rc"; tm new-session -d -x 120 -y 40 -s "$1" "$T_TMP/run-top.sh $1"; }
screen() { tm capture-pane -p -t "$1"; }
# wait_screen SESSION ERE: the pane shows a line matching ERE within 10 s
wait_screen() {
    for _ in $(seq 100); do screen "$1" | grep -Eq -- "$2" && return 0; sleep 0.1; done
    return 1
}
wait_rc() { for _ in $(seq 100); do [ -s "$T_TMP/$1.rc" ] && return 0; sleep 0.1; done; return 1; }
# top_pid SESSION: br-top, the child of the pane's shell
top_pid() { sd pgrep -P "$(tm display-message -p -t "$1" '#{pane_pid}')" -x br-top; }

# 1. the first frame: task 1 on CPU 1, the system on CPU 0, the queue
start_top main
check "the screen shows task $t1 on CPU 1 beside the system's CPU 0" wait_screen main "^  0 sys +1 $t1\$"
screen main > "$T_TMP/screen1"
echo "---- br-top, 120x40, task $t1 running:"; sed 's/^/| /' "$T_TMP/screen1"; echo "----"
check "the counters" grep -qx "tasks: 1 running, 0 cleaning up, 3 queued" "$T_TMP/screen1"
check "the queue per group, highest first" grep -qx "queue by group: group 1: 1, group 0: 2" "$T_TMP/screen1"
check "which CPUs are whose" grep -qx "CPUs: 2 online, 1 benchrunner's (1), 1 the system's" "$T_TMP/screen1"
check "task $t1's row: name, user, state, CPU, no limit, memory" \
    grep -Eq "^ *$t1  first +root +running +1 +0:00:[0-9]{2} +- +1.0G +-\$" "$T_TMP/screen1"

# 2. task 1 ends: a new frame with task 2 on CPU 1, its name escaped
sd touch "$go"
check "task $t1 finished" wait_state "$t1" finished
check "a new frame: task $t2 on CPU 1" wait_screen main "^  0 sys +1 $t2\$"
sleep 0.3
screen main > "$T_TMP/screen2"
echo "---- br-top after task $t1 ended:"; sed 's/^/| /' "$T_TMP/screen2"; echo "----"
check "the counters moved on" grep -qx "tasks: 1 running, 0 cleaning up, 2 queued" "$T_TMP/screen2"
check "the queue per group moved on" grep -qx "queue by group: group 0: 2" "$T_TMP/screen2"
check "task $t1's row is gone" fails grep -q " first " "$T_TMP/screen2"
check "task $t2's hostile name shows escaped, its limit 1h" \
    grep -Fq "$t2  evil\\e]0;pwned\\x07\\e[2J\\xc3\\xa9  root" "$T_TMP/screen2"
check "task $t2's limit is 1h" grep -Eq "^ *$t2  .* 0:00:[0-9]{2} +1h +" "$T_TMP/screen2"
title=$(tm display-message -p -t main '#{pane_title}')
check "the pane's title is not the task's ($title)" [ "$title" != pwned ]

# 3. the elapsed time moves on without any change in the daemon
e1=$(grep -Eo "^ *$t2  .*" "$T_TMP/screen2" | grep -Eo '0:00:[0-9]{2}')
sleep 2.2
e2=$(screen main | grep -E "^ *$t2  " | grep -Eo '0:00:[0-9]{2}')
check "task $t2's elapsed time moved on by itself ($e1, then $e2)" eval '[ -n "$e1" ] && [ -n "$e2" ] && [ "$e1" != "$e2" ]'

# 4. a smaller terminal: redrawn, every line cut to its width
tm resize-window -t main -x 50 -y 8
check "resized: the legend cut at 50 columns" wait_screen main '^\(a core.{43}$'
screen main > "$T_TMP/screen3"
w=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$T_TMP/screen3")
check "no line wider than 50 columns ($w)" [ "$w" -le 50 ]
check "8 rows, the last one says what did not fit" eval \
    '[ "$(wc -l < "$T_TMP/screen3")" -le 8 ] && grep -Eq "^\([0-9]+ more lines\)" "$T_TMP/screen3"'

# 5. q: exit 0, nothing on stderr, the terminal's own screen back
tm send-keys -t main q
check "q: br-top exits 0" eval 'wait_rc main && [ "$(cat "$T_TMP/main.rc")" = 0 ]'
check "q: nothing on stderr" [ ! -s "$T_TMP/main.err" ]
check "q: the main screen is back" eval '! screen main | grep -q "tasks:"'

# 6. SIGTERM: exit 0, the screen back
start_top term
wait_screen term "^  0 sys +1 $t2\$"
pid=$(top_pid term)
check "br-top runs in the second pane ($pid)" [ -n "$pid" ]
sd kill -TERM "$pid"
check "SIGTERM: br-top exits 0" eval 'wait_rc term && [ "$(cat "$T_TMP/term.rc")" = 0 ]'
check "SIGTERM: the main screen is back" eval '! screen term | grep -q "tasks:"'

# 7. piped: the same view once, plain text
br br-top --sysfs-root="$fake" > "$T_TMP/plain" 2>&1; rc=$?
check "piped: exit 0" [ "$rc" = 0 ]
check "piped: the view" eval 'grep -qx "tasks: 1 running, 0 cleaning up, 2 queued" "$T_TMP/plain" &&
    grep -Eq "^  0 sys +1 $t2\$" "$T_TMP/plain"'
check "piped: no escape sequences, no control bytes" eval '! grep -q "[[:cntrl:]]" "$T_TMP/plain"'
check "piped: the hostile name escaped" grep -Fq 'evil\e]0;pwned\x07\e[2J' "$T_TMP/plain"

# 8. the stats reply carries the daemon's CPUs and the queue per group
reply=$(echo '{"v":4,"op":"stats"}' | sd "$abs_top_builddir/tests/helpers/br-send" "$BR_SOCK")
echo "  stats: $reply"
check "stats: cpus and queued_by_group" eval 'printf "%s" "$reply" |
    grep -q "\"cpus\":\"1\",\"queued_by_group\":\[{\"group\":0,\"queued\":2}\],\"queued_other_groups\":0"'

# 9. the daemon goes: one line, exit 1, the screen back
start_top gone
wait_screen gone "^  0 sys +1 $t2\$"
br_daemon_stop
check "daemon gone: br-top exits 1" eval 'wait_rc gone && [ "$(cat "$T_TMP/gone.rc")" = 1 ]'
check "daemon gone: one line on stderr ($(cat "$T_TMP/gone.err"))" \
    eval '[ "$(wc -l < "$T_TMP/gone.err")" = 1 ] && grep -qx "br-top: the daemon stopped" "$T_TMP/gone.err"'
check "daemon gone: the main screen is back" eval '! screen gone | grep -q "tasks:"'

finish
