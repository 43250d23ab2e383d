#!/bin/bash
# hostile-privacy.sh: what a user may see and write is theirs alone (issue
# 11, points 1, 2 and 4), each seen by an ordinary user.
# (1) Output files (the cleanup command's too): the owner reads them, another user does not, and nobody
#     but root writes them: an append after the task ended and a
#     fallocate -n (keep size) while it runs both fail, and the blocks a stream holds
#     stay under the cap.
# (2) Env values: another user sees the names only, in br-show, br-list
#     --json, the published copy of the database and the unit's Environment
#     property over D-Bus; the task itself gets its values byte for byte.
# (3) Directories: a symlink planted where a task's working directory will
#     be made is not followed (what it points to keeps its owner), an output
#     directory there already is not taken over (the task fails to start), a
#     state directory others may write is refused, and after the database is
#     lost ids go on above the old ones, so old output is never handed to a
#     new task.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_user brown
br_user brother
ouid=$(sd id -u brown)
run="$abs_top_builddir/br-run"
show="$abs_top_builddir/br-show"
list="$abs_top_builddir/br-list"
opts=(--cpus=1 --memory=1G --owner="$ouid" --group=brother)
br_daemon_start "${opts[@]}" --output-cap=1M --history-interval=200ms || exit 1
submit() { as_user "$1" "$run" "${@:2}" | tail -n 1; }   # the task id
state_of() { br_sql "select state || ' ' || coalesce(reason, '') from tasks where id = $1"; }
wait_state() { local i; for i in $(seq 300); do [ "$(state_of "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }

# ---- 1. output files ----
id=$(submit brown -w -c "sh -c 'echo cout; echo cerr >&2'" -- sh -c 'echo out; echo err >&2')
out=$BR_STATE/output/$id
check "the owner reads stdout" eval '[ "$(as_user brown cat "$out/stdout")" = out ]'
check "the owner reads stderr" eval '[ "$(as_user brown cat "$out/stderr")" = err ]'
check "another user cannot read it" fails as_user brother cat "$out/stdout"
check "the owner reads the cleanup command's" \
    eval '[ "$(as_user brown cat "$out/cleanup-stdout")/$(as_user brown cat "$out/cleanup-stderr")" = cout/cerr ]'
check "... root's files, another user cannot read them" \
    eval '[ "$(sd stat -c %U:%a "$out/cleanup-stdout" "$out/cleanup-stderr" | sort -u)" = root:640 ] &&
          ! as_user brother cat "$out/cleanup-stdout" && ! as_user brother cat "$out/cleanup-stderr"'
as_user brown sh -c "head -c 4194304 /dev/zero >> '$out/stdout'" 2>/dev/null; rc=$?
size=$(sd stat -c %s "$out/stdout")
echo "  append by the owner after the end: rc $rc, stdout now $size bytes"
check "the owner cannot append to its ended task's stdout" eval '[ "$rc" != 0 ] && [ "$size" = 4 ]'
check "nor chmod it" fails as_user brown chmod 0666 "$out/stdout"
# fallocate through the task's own stdout while it runs: by reopening it
# (refused now), and on the descriptor it holds (the cap used to look at the
# size only, and so missed blocks past the end)
id=$(submit brown -w -- sh -c 'fallocate -n -l 512M /proc/self/fd/1 2>/dev/null; echo rc=$? >&2; sleep 3')
blocks=$(sd stat -c '%b*%B' "$BR_STATE/output/$id/stdout"); blocks=$((blocks))
echo "  fallocate -n -l 512M /proc/self/fd/1: $(as_user brown cat "$BR_STATE/output/$id/stderr"), $blocks bytes allocated"
check "a running task cannot reopen its stdout to allocate past the cap ($blocks bytes)" test "$blocks" -le $((2 << 20))
falloc=$abs_top_builddir/tests/helpers/br-falloc
id=$(submit brown -w -- sh -c "'$falloc' 1 536870912; echo rc=\$? >&2; sleep 3")
blocks=$(sd stat -c '%b*%B' "$BR_STATE/output/$id/stdout"); blocks=$((blocks))
echo "  fallocate(1, KEEP_SIZE, 512M) on its own descriptor: $(as_user brown cat "$BR_STATE/output/$id/stderr"), $blocks bytes allocated at the end"
check "blocks allocated on the task's own descriptor count toward the cap ($blocks bytes)" test "$blocks" -le $((2 << 20))

# ---- 2. env values ----
secret=s3cr3t-$RANDOM$RANDOM
odd=$'a"b\\c$d`e\nf \'g\' '
id=$(submit brown -e API_TOKEN="$secret" -e ODD="$odd" -- sh -c 'printf %s "$API_TOKEN" > /dev/null; sleep 30')
wait_state "$id" "running " || bad "task $id did not start: $(state_of "$id")"
seen=$(as_user brother "$show" "$id" 2>&1)
check "another user's br-show: no value" eval '! grep -q "$secret" <<< "$seen"'
check "another user's br-show: the name" grep -q "API_TOKEN" <<< "$seen"
seen=$(as_user brother "$list" --json -a 2>&1)
check "another user's br-list --json -a: no value" eval '! grep -q "$secret" <<< "$seen"'
check "... and it says env_hidden" grep -q '"env_hidden":true' <<< "$seen"
check "the owner's br-show has the value" eval 'as_user brown "$show" "$id" | grep -q "$secret"'
check "root's br-show has the value" eval 'br br-show "$id" | grep -q "$secret"'
unit=benchrunner-task-$id.service
seen=$(as_user brother systemctl show -p Environment "$unit" 2>&1)
echo "  systemctl show -p Environment as another user: ${seen:0:100}"
check "the unit's Environment property (D-Bus, anybody's) holds no value" eval '! grep -q "$secret" <<< "$seen"'
seen=$(as_user brother busctl get-property org.freedesktop.systemd1 \
    "/org/freedesktop/systemd1/unit/benchrunner_2dtask_2d${id}_2eservice" org.freedesktop.systemd1.Service \
    Environment 2>&1)
check "... nor over busctl" eval '! grep -q "$secret" <<< "$seen"'
check "the copy has the task" eventually eval \
    '[ "$(as_user brother sqlite3 -readonly "$BR_HISTORY" "select count(*) from tasks where id = $id")" = 1 ]'
seen=$(as_user brother sqlite3 -readonly "$BR_HISTORY" "select env from tasks where id = $id")
echo "  the copy's env column as another user sees it: $seen"
check "the copy holds the names only" test "$seen" = '["API_TOKEN","ODD"]'
check "no value anywhere in the copy's bytes" eval '! as_user brother grep -qa "$secret" "$BR_HISTORY"'
br br-cancel "$id" > /dev/null
# the values reach the task byte for byte, through the file PID 1 reads
id=$(submit brown -w -e API_TOKEN="$secret" -e ODD="$odd" -- sh -c 'printf "%s|%s" "$API_TOKEN" "$ODD"')
got=$(as_user brown cat "$BR_STATE/output/$id/stdout")
check "the task got its values byte for byte" test "$got" = "$secret|$odd"
check "the environment file is gone once the task ended" sd test ! -e "$BR_STATE/env/$id"

# ---- 3. directories and ids ----
last=$(br_sql "select max(id) from tasks")
next=$((last + 1))
sd mkdir -p /var/lib/br-test/victim-$$
sd ln -s /var/lib/br-test/victim-$$ "$BR_STATE/work/$next"
id=$(submit brown -w -- true)
vowner=$(sd stat -c %U /var/lib/br-test/victim-$$)
echo "  task $id (planted work/$next -> a root directory): $(state_of "$id"); the directory is now ${vowner}'s"
check "a planted symlink is not followed: its target stays root's" test "$vowner" = root
check "... and that task fails to start" eval '[ "$id" = "$next" ] && [ "$(state_of "$id")" = "finished failed-to-start" ]'
sd rm -f "$BR_STATE/work/$next"
sd rmdir /var/lib/br-test/victim-$$
next=$((next + 1))
sd mkdir "$BR_STATE/output/$next"
id=$(submit brown -w -- true)
check "an output directory there already is not taken over" \
    eval '[ "$id" = "$next" ] && [ "$(sd stat -c %U "$BR_STATE/output/$next")" = root ] &&
          [ "$(state_of "$id")" = "finished failed-to-start" ]'
sd rmdir "$BR_STATE/output/$next"
check "the next task runs again" eval '[ "$(state_of "$(submit brown -w -- true)")" = "finished exited" ]'

# the database lost: ids go on, old output stays the old task's
old=$(submit brother -w -- echo brothers-output)
br_daemon_stop
sd rm -f "$BR_DB" "$BR_DB-wal" "$BR_DB-shm" "$BR_STATE/last-id"
st=$BR_STATE
br_daemon_start "${opts[@]}" || exit 1
new=$(submit brown -w -- true)
echo "  after the database was lost: the last id was $old, the next task is $new"
check "ids are not reused after the database was lost ($old, then $new)" test "$new" -gt "$old"
check "the old output is not handed to the new task" \
    eval '[ "$(sd stat -c %U "$st/output/$old/stdout")" = root ] && ! as_user brown cat "$st/output/$old/stdout"'
br_daemon_stop
sd rm -f "$BR_STATE/last-id"
sd rm -f "$BR_DB" "$BR_DB-wal" "$BR_DB-shm"
br_daemon_start "${opts[@]}" || exit 1
new2=$(submit brown -w -- true)
check "... nor with last-id gone too ($new, then $new2)" test "$new2" -gt "$new"
br_daemon_stop

# a state directory others may write
sd chmod 0777 "$BR_STATE"
if br_daemon_start "${opts[@]}" > /dev/null 2>&1; then
    sleep 1
    sd systemctl is-active -q "$BR_UNIT"; rc=$?
else
    rc=1
fi
msg=$(br_daemon_log | grep -m1 "writable by nobody else")
echo "  state directory mode 0777: ${msg:-no message}"
check "a state directory others may write is refused" eval '[ "$rc" != 0 ] && [ -n "$msg" ]'
sd chmod 0755 "$BR_STATE"
finish
