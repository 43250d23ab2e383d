#!/bin/bash
# protocol-example.sh: the Python example of docs/protocol.md, as printed
# there (only its socket path pointed at this test's daemon), against the
# real daemon: it pings, submits a task that follows, sees it to its end
# and exits 0, so the document cannot drift from the protocol.
. "$(dirname "$0")/../lib.sh"
require_systemd
command -v python3 > /dev/null || skip "python3 is not installed"
br_daemon_start --cpus=1 --memory=1G || exit 1
doc=$abs_top_srcdir/docs/protocol.md
sed -n '/^## Example: submitting from Python/,/^```$/p' "$doc" | sed '1,/^```python$/d; /^```$/d' \
    | sed 's|^SOCKET = .*|SOCKET = os.environ["BENCHRUNNER_SOCKET"]|' > "$T_TMP/example.py"
check "the example is there ($(wc -l < "$T_TMP/example.py") lines)" [ "$(wc -l < "$T_TMP/example.py")" -gt 40 ]
sd mkdir -p -m 0755 "$BR_STATE/py"
sd cp "$T_TMP/example.py" "$BR_STATE/py/example.py"
out=$(sd sh -c "cd $BR_STATE/py && BENCHRUNNER_SOCKET=$BR_SOCK timeout 60 python3 example.py" 2>&1); rc=$?
printf '%s\n' "$out" | sed 's/^/  /'
check "it exits 0" [ "$rc" = 0 ]
check "the daemon answered its ping" grep -q '^daemon ' <<< "$out"
check "it followed its task to the end" grep -qE '^(finished|cleanup-finished) finished$' <<< "$out"
check "the task exited 0" grep -q '^reason exited exit code 0 ' <<< "$out"
finish
