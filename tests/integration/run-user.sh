#!/bin/bash
# run-user.sh: a task submitted by a non-root user runs as that user (uid,
# gid, groups), never as root; its working directory belongs to the user.
. "$(dirname "$0")/../lib.sh"
require_systemd
sd sh -c 'id brtest >/dev/null 2>&1 || useradd --create-home --user-group brtest' || { echo "FAIL: useradd"; exit 1; }
uid=$(sd id -u brtest)
gid=$(sd id -g brtest)
br_daemon_start --cpus=0-1 --memory=1G --owner="$uid" || exit 1
row() { br_sql "select $1 from tasks where id=$2"; }

as_user() { sd setpriv --reuid="$uid" --regid="$gid" --init-groups env BENCHRUNNER_SOCKET="$BR_SOCK" "$@"; }
id=$(as_user "$abs_top_builddir/br-run" -w -- sh -c 'id -u; id -g; stat -c %u .; ps -o user= -p $$' 2> "$T_TMP/err"); rc=$?
cat "$T_TMP/err"
check "the user's task exits 0" [ "$rc" = 0 ]
sd cat "$BR_STATE/output/$id/stdout" > "$T_TMP/out"
cat "$T_TMP/out"
check "the row records uid $uid" [ "$(row uid "$id")" = "$uid" ]
check "the row records the user name" [ "$(row user "$id")" = brtest ]
check "the process ran as uid $uid" [ "$(sed -n 1p "$T_TMP/out")" = "$uid" ]
check "with gid $gid" [ "$(sed -n 2p "$T_TMP/out")" = "$gid" ]
check "in a working directory owned by the user" [ "$(sed -n 3p "$T_TMP/out")" = "$uid" ]
check "ps shows the user, not root" [ "$(sed -n 4p "$T_TMP/out" | tr -d ' ')" = brtest ]

# a user who is neither root, the owner nor in the group may not submit
sd sh -c 'id brother >/dev/null 2>&1 || useradd --user-group brother'
ouid=$(sd id -u brother)
sd setpriv --reuid="$ouid" --regid="$ouid" --init-groups env BENCHRUNNER_SOCKET="$BR_SOCK" \
    "$abs_top_builddir/br-run" -- true > /dev/null 2> "$T_TMP/err2"; rc=$?
cat "$T_TMP/err2"
check "another user is refused" eval '[ "$rc" != 0 ] && grep -q "permission denied" "$T_TMP/err2"'
# nor send long requests (only a submit needs them)
{ printf '{"v":4,"op":"ping","tag":"'; head -c 2000000 /dev/zero | tr '\0' a; printf '"}\n'; } > "$T_TMP/big"
sd setpriv --reuid="$ouid" --regid="$ouid" --init-groups "$abs_top_builddir/tests/helpers/br-send" "$BR_SOCK" \
    < "$T_TMP/big" > "$T_TMP/bigr" 2>&1
cut -c1-200 "$T_TMP/bigr"
check "a 2 MB request from a user who may not submit is refused unparsed" grep -q 'refused: only those who may submit' "$T_TMP/bigr"
# and may not cancel the owner's task
id=$(as_user "$abs_top_builddir/br-run" -- sleep 30)
echo "{\"v\":4,\"op\":\"cancel\",\"ids\":[$id]}" | sd setpriv --reuid="$ouid" --regid="$ouid" --init-groups \
    "$abs_top_builddir/tests/helpers/br-send" "$BR_SOCK" > "$T_TMP/c" 2>&1
cat "$T_TMP/c"
check "another user cannot cancel it" grep -q "another user" "$T_TMP/c"
echo "{\"v\":4,\"op\":\"cancel\",\"ids\":[$id]}" | as_user "$abs_top_builddir/tests/helpers/br-send" "$BR_SOCK" > "$T_TMP/c2"
for _ in $(seq 100); do [ "$(row state "$id")" = finished ] && break; sleep 0.1; done
check "its owner can: reason cancelled" [ "$(row reason "$id")" = cancelled ]

finish
