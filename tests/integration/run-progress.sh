#!/bin/bash
# run-progress.sh: br-run --batch -w draws a progress line on a terminal
# (submitted, queued, running, done, failed, ETA from the finished tasks'
# pace), redrawn in place and ended with a newline, and stays quiet when
# stderr is not a terminal or for a single task.  script(1) gives br-run a
# terminal.
. "$(dirname "$0")/../lib.sh"
require_systemd
command -v script > /dev/null || skip "script(1) is not installed (util-linux)"
br_daemon_start --cpus=1 --memory=1G || exit 1
F=$BR_STATE/progress
sd mkdir -p -m 0755 "$F"
{ for i in 1 2 3 4; do echo '{"argv":["/bin/sleep","0.5"]}'; done; echo '{"argv":["/bin/false"]}'; } > "$T_TMP/b.jsonl"
sd cp "$T_TMP/b.jsonl" "$F/b.jsonl"

# on a terminal (stdout and stderr both the pty, as a user at a prompt)
sd sh -c "cd / && BENCHRUNNER_SOCKET=$BR_SOCK TERM=dumb script -qfec '$abs_top_builddir/br-run --batch $F/b.jsonl -w' /dev/null" \
    > "$T_TMP/tty" 2>&1; rc=$?
tr '\r' '\n' < "$T_TMP/tty" | sed 's/\x1b\[K//g' | grep -v '^$' > "$T_TMP/lines"
cat "$T_TMP/lines"
check "on a terminal: the line is drawn over itself (carriage returns)" grep -q $'\r' "$T_TMP/tty"
check "it counts submitted, queued, running and done" \
    grep -qE '^br-run: submitted 5/5, queued [0-9]+, running [01], done [0-9]/5' "$T_TMP/lines"
check "it ends with all done, the failed one counted, and a newline" \
    eval 'grep -qx "br-run: submitted 5/5, queued 0, running 0, done 5/5 (1 failed)" "$T_TMP/lines" &&
          [ "$(tail -c 2 "$T_TMP/tty" | od -An -c | tr -d " ")" = "\\r\\n" ]'
check "an ETA once tasks have finished" grep -qE 'done [1-4]/5.*, ETA [0-9.]+(ms|s)$' "$T_TMP/lines"
check "never more than 5 done" eval '! grep -qE "done ([6-9]|[1-9][0-9])/5" "$T_TMP/lines"'

# not a terminal: nothing but the ids on stdout and nothing on stderr
br br-run --batch "$F/b.jsonl" -w > "$T_TMP/ids" 2> "$T_TMP/err"
check "stderr not a terminal: no progress line" [ ! -s "$T_TMP/err" ]
check "stdout: the five ids" [ "$(wc -l < "$T_TMP/ids")" = 5 ]
# one task on a terminal: its own line, no progress
sd sh -c "cd / && BENCHRUNNER_SOCKET=$BR_SOCK TERM=dumb script -qfec '$abs_top_builddir/br-run -w -- /bin/true' /dev/null" \
    > "$T_TMP/one" 2>&1
check "one task: no progress line" eval '! grep -q "submitted" "$T_TMP/one" && grep -q "exited 0 after" "$T_TMP/one"'
finish
