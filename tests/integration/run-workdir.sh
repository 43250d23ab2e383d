#!/bin/bash
# run-workdir.sh: where a task runs, as an ordinary user.  By default in a
# fresh directory of its own (the seed's way), so a relative path to a file
# of the submit directory misses: br-run warns before submitting.  With
# --in-submit-dir (or "in_submit_dir" in a batch line) the task and its
# cleanup command run in the submit directory and still get the fresh one
# as $BENCHRUNNER_WORKDIR, which is removed afterwards as always.  A submit
# directory the user may not enter is never entered for them: systemd
# changes into it as the user, so the task fails to start.
. "$(dirname "$0")/../lib.sh"
require_systemd
br_user brwd
uid=$(sd id -u brwd)
br_daemon_start --cpus=1 --memory=1G --owner="$uid" || exit 1
row() { br_sql "select $1 from tasks where id=$2"; }
out_of() { sd cat "$BR_STATE/output/$1/stdout"; }

# the README's example: a solver and its instance in one directory
exp=/home/brwd/exp
sd runuser -u brwd -- sh -c "mkdir -p $exp && printf 'p cnf 1 1\n1 0\n' > $exp/inst.cnf"
in_exp() { sd setpriv --reuid=brwd --regid=brwd --init-groups env BENCHRUNNER_SOCKET="$BR_SOCK" \
    sh -c "cd $exp && exec \"\$@\"" sh "$@"; }

# 1. the default: a fresh directory, and a warning before anything is queued
in_exp "$abs_top_builddir/br-run" -w -- cat inst.cnf > "$T_TMP/ids" 2> "$T_TMP/err"; rc=$?
cat "$T_TMP/err"
id=$(head -n 1 "$T_TMP/ids")
check "without --in-submit-dir: cat inst.cnf finds no file (exit 1, rc=$rc)" [ "$rc" = 1 ]
check "br-run warned, naming the file and the directory" \
    grep -q "^br-run: warning: inst.cnf is relative to $exp, but the task runs in a fresh directory" "$T_TMP/err"
check "the warning came before the task was queued" \
    [ "$(grep -n 'warning: inst.cnf' "$T_TMP/err" | cut -d: -f1)" = 1 ]
check "the row says it ran in its own directory" [ "$(row in_submit_dir "$id")" = 0 ]
in_exp "$abs_top_builddir/br-run" -w -- cat "$exp/inst.cnf" > /dev/null 2> "$T_TMP/err2"; rc=$?
check "an absolute path: exit 0, no warning" eval '[ "$rc" = 0 ] && ! grep -q "is relative to" "$T_TMP/err2"'
in_exp "$abs_top_builddir/br-run" -w -- sh -c 'exit 0' -x > /dev/null 2> "$T_TMP/err3"
check "options and words that name nothing here: no warning" eval '! grep -q "is relative to" "$T_TMP/err3"'

# 2. --in-submit-dir: the task and its cleanup command in the submit directory
in_exp "$abs_top_builddir/br-run" -w --in-submit-dir \
    -c "sh -c 'pwd > cleanup-pwd; test -d \"\$BENCHRUNNER_WORKDIR\" && echo yes > cleanup-scratch'" \
    -- sh -c 'cat inst.cnf; pwd > task-pwd; echo "$BENCHRUNNER_WORKDIR" > task-workdir; test -d "$BENCHRUNNER_WORKDIR" && test -O "$BENCHRUNNER_WORKDIR" && echo yes > task-scratch' \
    > "$T_TMP/ids" 2> "$T_TMP/err"; rc=$?
cat "$T_TMP/err"
id=$(head -n 1 "$T_TMP/ids")
check "--in-submit-dir: cat inst.cnf exits 0 (rc=$rc)" [ "$rc" = 0 ]
check "--in-submit-dir: no warning" eval '! grep -q "is relative to" "$T_TMP/err"'
check "--in-submit-dir: the task read the instance" [ "$(out_of "$id" | head -n 1)" = "p cnf 1 1" ]
check "--in-submit-dir: the task ran in $exp" [ "$(sd cat "$exp/task-pwd")" = "$exp" ]
check "--in-submit-dir: the cleanup command too" [ "$(sd cat "$exp/cleanup-pwd")" = "$exp" ]
check "\$BENCHRUNNER_WORKDIR is the fresh directory, the user's, during the task" \
    eval '[ "$(sd cat "$exp/task-workdir")" = "$BR_STATE/work/$id" ] && [ "$(sd cat "$exp/task-scratch")" = yes ]'
check "and during the cleanup command" [ "$(sd cat "$exp/cleanup-scratch")" = yes ]
check "the files the task wrote are the user's" [ "$(sd stat -c %U "$exp/task-pwd")" = brwd ]
check "the row says so" [ "$(row in_submit_dir "$id")" = 1 ]
check "the fresh directory is removed afterwards" eventually sd test ! -e "$BR_STATE/work/$id"
check "the submit directory is not" sd test -f "$exp/inst.cnf"
out=$(sd env BENCHRUNNER_SOCKET="$BR_SOCK" "$abs_top_builddir/br-show" "$id")
check "br-show says where it ran" grep -q "Runs in: *the directory it was submitted from (--in-submit-dir)" <<< "$out"
check "br-list --json carries in_submit_dir" \
    eval 'sd env BENCHRUNNER_SOCKET="$BR_SOCK" "$abs_top_builddir/br-list" --json -n 1 | grep -q "\"in_submit_dir\":true"'

# 3. batch lines: the field, and --in-submit-dir for every line
printf '{"argv":["cat","inst.cnf"],"in_submit_dir":true}\n{"argv":["cat","inst.cnf"]}\n' > "$T_TMP/b.jsonl"
sd install -o brwd -m 0644 "$T_TMP/b.jsonl" "$exp/b.jsonl"
in_exp "$abs_top_builddir/br-run" -w --batch b.jsonl > "$T_TMP/ids" 2> "$T_TMP/err"; rc=$?
read -r b1 b2 < <(tr '\n' ' ' < "$T_TMP/ids")
check "batch: the line with in_submit_dir reads the file" [ "$(row "reason || exit_code" "$b1")" = exited0 ]
check "batch: the line without it does not (and br-run warned)" \
    eval '[ "$(row "reason || exit_code" "$b2")" = exited1 ] && grep -q "warning: inst.cnf" "$T_TMP/err"'
in_exp "$abs_top_builddir/br-run" -x --in-submit-dir --batch b.jsonl > /dev/null 2> "$T_TMP/err"; rc=$?
check "batch --in-submit-dir: both read it (-x exits 0, rc=$rc)" [ "$rc" = 0 ]

# 4. a directory the user may not enter, named in a batch line's cwd:
# never entered for them
sd mkdir -p -m 0700 /root/br-wd-private
sd sh -c 'echo secret > /root/br-wd-private/secret'
printf '{"argv":["/bin/cat","secret"],"cwd":"/root/br-wd-private","in_submit_dir":true}\n' > "$T_TMP/h.jsonl"
sd install -o brwd -m 0644 "$T_TMP/h.jsonl" "$exp/h.jsonl"
in_exp "$abs_top_builddir/br-run" -w --batch h.jsonl > "$T_TMP/ids" 2> "$T_TMP/err"; rc=$?
id=$(head -n 1 "$T_TMP/ids")
echo "  root-only submit directory: rc=$rc, $(row "reason || ',' || coalesce(exit_code, '-')" "$id")"
check "a submit directory only root may enter: the task does not start there" \
    [ "$(row reason "$id")" = failed-to-start ]
check "and nothing of it reached the output" eval '! out_of "$id" | grep -q secret'
sd rm -rf /root/br-wd-private

finish
