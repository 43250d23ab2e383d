#!/bin/bash
# hostile-quota.sh: fair shares between ordinary users.  Priority groups
# above 0 are for root and the daemon's owner; a user's queued tasks may take
# so many bytes; a cancel of 10 000 ids among 20 000 queued tasks is answered
# at once (live tasks are found by id, not by scanning), and another user's
# task runs right after.
. "$(dirname "$0")/../lib.sh"
require_systemd
sd groupadd -f brsub
br_user brq1
br_user brq2
sd usermod -aG brsub brq1
sd usermod -aG brsub brq2
run1() { as_user brq1 "$abs_top_builddir/br-run" "$@"; }
run2() { as_user brq2 "$abs_top_builddir/br-run" "$@"; }
br_daemon_start --cpus=1 --memory=512M --group=brsub --max-queued-bytes=1M || exit 1

# the one CPU is busy: what users submit stays queued
blocker=$(br br-run -- sleep 600)

# 1. priority groups
out=$(run1 -g 1 -- true 2>&1); rc=$?
echo "  group 1: rc $rc: $out"
check "an ordinary user's group 1 is refused" eval '[ "$rc" != 0 ] && grep -q "priority group 1 is above 0" <<< "$out"'
id=$(run1 -g -1 -- true); rc=$?
check "a lower group is open to all (rc=$rc)" [ "$rc" = 0 ]
id=$(br br-run -g 5 -- true); rc=$?
check "root may use group 5 (rc=$rc)" [ "$rc" = 0 ]

# 2. bytes: 100 kB arguments, at most 1M per user
big=$(head -c 100000 /dev/zero | tr '\0' a)
ok=0 out=
for i in $(seq 15); do
    if out=$(run1 -n big -- /bin/echo "$big" 2>&1); then ok=$((ok + 1)); else break; fi
done
echo "  brq1 queued $ok tasks of 100 kB; then: $out"
check "the byte quota stops a user at about 1M ($ok tasks)" between "$ok" 8 10
check "saying why" grep -q 'queued tasks too large' <<< "$out"
id=$(run2 -n big -- /bin/echo "$big"); rc=$?
check "another user still submits (rc=$rc)" [ "$rc" = 0 ]

# 3. a cancel of 10 000 ids among 20 000 queued tasks
br_daemon_stop
br_units_clean
br_daemon_start --cpus=1 --memory=512M --group=brsub --max-queued-bytes=0 || exit 1
blocker=$(br br-run -- sleep 600)
seq 20000 | sed 's|.*|{"argv":["/bin/true"],"name":"many"}|' > "$T_TMP/batch"
as_user brq2 "$abs_top_builddir/br-run" --batch="$T_TMP/batch" > "$T_TMP/ids"; rc=$?
check "brq2 queues 20 000 tasks (rc=$rc, $(wc -l < "$T_TMP/ids") ids)" eval '[ "$rc" = 0 ] && [ "$(wc -l < "$T_TMP/ids")" = 20000 ]'
t0=$(date +%s%N)
as_user brq2 "$abs_top_builddir/br-cancel" $(head -n 10000 "$T_TMP/ids") > "$T_TMP/cancel.out" 2>&1; rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "  cancel of the 10 000 oldest: rc $rc, $ms ms"
check "the cancel succeeds (rc=$rc)" [ "$rc" = 0 ]
n=$(br_sql "select count(*) from tasks where name = 'many' and reason = 'cancelled'")
check "10 000 tasks are cancelled ($n)" [ "$n" = 10000 ]
br br-cancel "$blocker" > /dev/null
as_user brq2 "$abs_top_builddir/br-cancel" $(tail -n 10000 "$T_TMP/ids") > /dev/null 2>&1
t0=$(date +%s%N)
id=$(run1 -w -- true); rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "  brq1's br-run -w -- true afterwards: rc $rc, $ms ms"
check "another user's task runs (rc=$rc)" [ "$rc" = 0 ]
check "and is recorded" [ "$(br_sql "select reason from tasks where id = ${id:-0}")" = exited ]
finish
