#!/bin/bash
# hostile-dispatch.sh: a long chain of tasks that cannot start does not
# overflow the daemon's stack.  Bytes systemd refuses (not UTF-8) are
# refused at submit now; the chain comes from a database an older daemon
# filled with such tasks: 25 000 of them, each recorded failed-to-start, and
# the daemon lives on and runs the next user's task.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_user brsubmit
suid=$(sd id -u brsubmit)
sgid=$(sd id -g brsubmit)
N=25000
br_daemon_start --cpus=1 --memory=512M --owner="$suid" || exit 1

# 1. an ordinary user's submit with bytes that are not UTF-8: refused, saying where
out=$(printf '{"v":4,"op":"submit","tasks":[{"argv":["/bin/echo","a\xff"],"cwd":"/"}]}\n' \
    | as_user brsubmit "$abs_top_builddir/tests/helpers/br-send" "$BR_SOCK")
echo "  reply: $out"
check "non-UTF-8 argv is refused at submit" grep -q '"ok":false' <<< "$out"
check "naming the field" grep -q 'tasks\[0\].argv\[1\]: not valid UTF-8' <<< "$out"
out=$(printf '{"v":4,"op":"submit","tasks":[{"argv":["/bin/true"],"cwd":"/tmp/\xfe"}]}\n' \
    | as_user brsubmit "$abs_top_builddir/tests/helpers/br-send" "$BR_SOCK")
check "and so is a non-UTF-8 cwd" grep -q 'cwd: not valid UTF-8' <<< "$out"
check "nothing was stored" [ "$(br_sql 'select count(*) from tasks')" = 0 ]

# 2. the chain: an older daemon's database with N queued tasks whose argv
# systemd refuses
id=$(as_user brsubmit "$abs_top_builddir/br-run" -w -- true); rc=$?
check "a first task runs (rc=$rc)" [ "$rc" = 0 ]
br_daemon_stop
br_sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
    INSERT INTO tasks (name, state, user, uid, gid, command, argv, submit_dir, threads, memory_bytes, queued_at_us)
    SELECT 'bad', 'queued', 'brsubmit', $suid, $sgid, '/bin/echo ?',
           '[\"/bin/echo\",\"' || CAST(X'61FF' AS TEXT) || '\"]', '/', 1, 67108864, 1700000000000000 FROM n;"
check "$N queued tasks are in the database" [ "$(br_sql "select count(*) from tasks where state = 'queued'")" = $N ]
t0=$SECONDS
br_daemon_start --cpus=1 --memory=512M --owner="$suid" || exit 1
pid=$(sd systemctl show -P MainPID "$BR_UNIT")
t1=$(date +%s%N)
br br-stats --once > /dev/null; rc=$?
ms=$((($(date +%s%N) - t1) / 1000000))
echo "  br-stats --once during the chain: rc $rc, $ms ms"
check "the daemon answers during the chain ($ms ms)" eval '[ "$rc" = 0 ] && [ "$ms" -lt 1000 ]'
for _ in $(seq 900); do
    n=$(br_sql "select count(*) from tasks where name = 'bad' and state = 'finished'")
    [ "$n" = $N ] && break
    sd systemctl is-active -q "$BR_UNIT" || break
    sleep 0.1
done
echo "  $n of $N recorded finished in $((SECONDS - t0)) s"
check "the daemon lives on" sd systemctl is-active -q "$BR_UNIT"
check "as the same process" [ "$(sd systemctl show -P MainPID "$BR_UNIT")" = "$pid" ]
f=$(br_sql "select count(*) from tasks where name = 'bad' and reason = 'failed-to-start'")
check "every one is recorded failed-to-start ($f of $N)" [ "$f" = $N ]
id=$(as_user brsubmit "$abs_top_builddir/br-run" -w -- true); rc=$?
check "the next task of an ordinary user runs (rc=$rc)" [ "$rc" = 0 ]
check "and is recorded exited 0" [ "$(br_sql "select reason || ' ' || exit_code from tasks where id = ${id:-0}")" = "exited 0" ]
finish
