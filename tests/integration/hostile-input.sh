#!/bin/bash
# hostile-input.sh: an ordinary local user sends the daemon what a careless
# or hostile client might: truncated and invalid JSON, a 100 MB line, NUL
# bytes, bytes that are not UTF-8, 100 000 levels of nesting, numbers out of
# range, argv of 100 000 and env of 1 000 000 entries, unknown fields, wrong
# types, a uid of its own choosing, another user's task ids, other versions,
# pipelined requests it never reads.  Each case is one line of the table
# below; for each, through tests/helpers/br-send -c, the daemon answers with
# exactly one line that says what is wrong (or refuses and closes, where
# docs/protocol.md says so), stores no row, leaves another user's earlier
# tasks as they were, and answers a ping on the same connection (unless it
# was closed) and on a new one.  Afterwards that other user's tasks still run.
. "$(dirname "$0")/../lib.sh"
require_systemd
sd groupadd -f brhisub
br_user brhi      # the hostile user, who may submit
br_user brhi2     # another user, with tasks of their own
br_user brhi3     # a user who may not submit
sd usermod -aG brhisub brhi
sd usermod -aG brhisub brhi2
# ASan keeps freed memory in quarantine: the RSS would tell about ASan
BR_DAEMON_ASAN_OPTIONS=quarantine_size_mb=0:thread_local_quarantine_size_kb=0
br_daemon_start --cpus=0-1 --memory=1G --group=brhisub || exit 1
send=$abs_top_builddir/tests/helpers/br-send
pid=$(sd systemctl show -P MainPID "$BR_UNIT")
status() { sd sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$pid/status"; }

# brhi2's tasks: one running on one of the two CPUs, one queued behind it
# (two threads, group -1) that must stay queued
a=$(as_user brhi2 "$abs_top_builddir/br-run" -n keep-a -- /bin/sleep 600)
b=$(as_user brhi2 "$abs_top_builddir/br-run" -n keep-b -j 2 -g -1 -- /bin/echo 'keep  b' '$HOME')
for _ in $(seq 100); do
    [ "$(br_sql "select state from tasks where id = ${a:-0}")" = running ] && break
    sleep 0.1
done
# the row count, and brhi2's tasks as they are
snapshot() { br_sql "select count(*) from tasks; select id, uid, state, argv, reason from tasks where id in (${a:-0}, ${b:-0}) order by id"; }
before=$(snapshot)
echo "  before: $(tr '\n' ' ' <<< "$before")"
check "brhi2's tasks are running and queued ($a, $b)" \
    eval '[ "$(br_sql "select state from tasks where id = ${a:-0}")" = running ] &&
          [ "$(br_sql "select state from tasks where id = ${b:-0}")" = queued ]'

# ---- payload generators ----
# sub MEMBERS: a submit of one spec with argv and cwd, and MEMBERS added
sub() { printf '{"v":4,"op":"submit","tasks":[{"argv":["/bin/true"],"cwd":"/tmp"%s}]}\n' "${1:+,$1}"; }
# spec MEMBERS: a submit of one spec of just MEMBERS
spec() { printf '{"v":4,"op":"submit","tasks":[{%s}]}\n' "$1"; }
# req MEMBERS: a request of v 2 and MEMBERS
req() { printf '{"v":4,%s}\n' "$1"; }
raw() { printf "$1"; }
# chars N C: N times the character C
chars() { head -c "$1" /dev/zero | tr '\0' "$2"; }
huge_line() { printf '{"v":4,"op":"ping","tag":"'; chars 100000000 a; printf '"}\n'; }
deep() { printf '{"v":4,"op":"ping","tag":'; chars 100000 '['; chars 100000 ']'; printf '}\n'; }
# objects N: a tag of N empty objects (json-c makes each a hash table)
objects() { printf '{"v":4,"op":"ping","tag":[{}'; chars $(($1 - 1)) x | sed 's/x/,{}/g'; printf ']}\n'; }
deep_objects() { printf '{"v":4,"op":"ping","tag":'; for _ in $(seq 2000); do printf '{"a":'; done; printf 1
    chars 2000 '}'; printf '}\n'; }
many_argv() { printf '{"v":4,"op":"submit","tasks":[{"cwd":"/","argv":["/bin/true"'; chars 100000 x | sed 's/x/,"a"/g'
    printf ']}]}\n'; }
many_env() { printf '{"v":4,"op":"submit","tasks":[{"argv":["/bin/true"],"cwd":"/","env":["A=1"'
    chars 1000000 x | sed 's/x/,"A=1"/g'; printf ']}]}\n'; }
many_tasks() { printf '{"v":4,"op":"submit","tasks":[{"argv":["/bin/true"],"cwd":"/"}'
    chars 1000 x | sed 's/x/,{"argv":["\/bin\/true"],"cwd":"\/"}/g'; printf ']}\n'; }
many_ids() { printf '{"v":4,"op":"cancel","ids":[1'; chars 10000 x | sed 's/x/,1/g'; printf ']}\n'; }
long_arg() { sub "\"name\":\"long\",\"env\":[\"X=$(chars 131072 x)\"]"; }
big_argv() { local x; x=$(chars 120000 x); printf '{"v":4,"op":"submit","tasks":[{"cwd":"/","argv":["/bin/true"'
    for _ in $(seq 9); do printf ',"%s"' "$x"; done; printf ']}]}\n'; }
long_key() { sub "\"$(chars 1000000 k)\":1"; }
huge_name() { sub "\"name\":\"$(chars 7000000 n)\""; }
huge_tag() { req "\"op\":\"ping\",\"tag\":\"$(chars 2000 t)\""; }
long_cwd() { spec "\"argv\":[\"/bin/true\"],\"cwd\":\"/$(chars 5000 c)\""; }
long_name() { sub "\"name\":\"$(chars 300 n)\""; }
# the last "threads" counts (docs/protocol.md), and it is out of range
dup_keys() { printf '{"v":4,"op":"submit","tasks":[{"argv":["/bin/true"],"cwd":"/","threads":1,"threads":0}]}\n'; }
dup_op() { printf '{"v":4,"op":"ping","op":"submit","tasks":[{"argv":["/bin/true"],"cwd":"/","uid":0}]}\n'; }
nul_line() { printf '{"v":4,"op":"submit","tasks":[{"argv":["/bin/true","a\0b"],"cwd":"/"}]}\n'; }
not_utf8() { printf '{"v":4,"op":"submit","tasks":[{"argv":["/bin/true","a\377b"],"cwd":"/"}]}\n'; }
overlong() { printf '{"v":4,"op":"submit","tasks":[{"argv":["/bin/true"],"cwd":"/","name":"\300\257"}]}\n'; }
bad_utf8_op() { printf '{"v":4,"op":"p\377ng"}\n'; }

# hcase USER NAME GENERATOR EXPECT: sends what GENERATOR (shell code)
# prints, as USER, and judges what comes back.  EXPECT is what the one reply
# line holds in its error; "close:TEXT": that, and the daemon closes the
# connection; "ok:TEXT": an "ok":true reply that holds TEXT.
n_cases=0
hcase() {
    local user=$1 name=$2 gen=$3 expect=$4 out=$T_TMP/case.out mode=error lines end ping after why=
    n_cases=$((n_cases + 1))
    case $expect in
        close:*) mode=close; expect=${expect#close:} ;;
        ok:*) mode=ok; expect=${expect#ok:} ;;
    esac
    eval "$gen" | as_user "$user" "$send" -c "$BR_SOCK" > "$out" 2>&1
    lines=$(grep -acv '^END \|^PING ' "$out")
    end=$(sed -n 's/^END //p' "$out")
    ping=$(sed -n 's/^PING //p' "$out")
    after=$(snapshot)
    if [ "$lines" != 1 ]; then why="$lines reply lines"
    elif ! grep -av '^END \|^PING ' "$out" | grep -aqF -- "$expect"; then why="the reply does not say: $expect"
    elif [ "$mode" = ok ] && ! grep -q '^{"v":4,"ok":true' "$out"; then why="not an ok reply"
    elif [ "$mode" != ok ] && ! grep -q '^{"v":4,"ok":false.*"error":"' "$out"; then why="not an error reply"
    elif [ "$mode" = close ] && [ "$end" != closed ]; then why="the connection is $end, not closed"
    elif [ "$mode" != close ] && [ "$end" != answered ]; then why="a ping on the same connection: $end"
    elif [ "$ping" != ok ]; then why="a ping on a new connection: $ping"
    elif grep -av '^END \|^PING ' "$out" | iconv -f UTF-8 -t UTF-8 2>&1 >/dev/null | grep -q .; then
        why="the reply is not UTF-8"
    elif [ "$after" != "$before" ]; then why="the tasks changed: $(tr '\n' ' ' <<< "$after")"
    fi
    echo "  $name: $(grep -av '^END \|^PING ' "$out" | head -n 3 | cut -c 1-220 | tr '\n' ' ')[$end] HWM $(($(status VmHWM) / 1024)) MiB"
    check "$name${why:+ ($why)}" [ -z "$why" ]
}

# ---- the cases: NAME | GENERATOR | EXPECT, as brhi unless NAME says so ----
while IFS='|' read -r name gen expect <&3; do
    name=$(sed 's/^ *//; s/ *$//' <<< "$name") expect=$(sed 's/^ *//; s/ *$//' <<< "$expect")
    [ -n "$name" ] && [ "${name#\#}" = "$name" ] || continue
    user=brhi
    case $name in brhi3:*) user=brhi3 ;; esac
    hcase "$user" "$name" "$gen" "$expect"
done 3<<'EOF'
truncated JSON            | raw '{"v":4,"op":"submit","tasks":[{"argv":["/bin/true"]\n' | invalid JSON: the request ends inside a value
invalid JSON (trailing ,) | raw '{"v":4,"op":"ping",}\n'                      | invalid JSON at byte
not JSON at all           | raw 'hello benchrunner\n'                         | invalid JSON at byte
single quotes             | raw "{'v':2,'op':'ping'}\n"                       | invalid JSON at byte
two objects on a line     | raw '{"v":4,"op":"ping"}{"v":4,"op":"ping"}\n'    | invalid JSON at byte 19
a 100 MB line             | huge_line                                         | close:request longer than 8388608 bytes
brhi3: a 100 MB line      | huge_line                                         | request refused: only those who may submit tasks may send requests longer than 1048576 bytes
brhi3: a submit           | sub                                               | permission denied
NUL byte in a line        | nul_line                                          | NUL byte at byte
\u0000 in argv            | sub '"name":"a\u0000b"'                           | tasks[0].name: must not contain NUL
not UTF-8 in argv         | not_utf8                                          | tasks[0].argv[1]: not valid UTF-8 (byte 1)
overlong UTF-8 in name    | overlong                                          | tasks[0].name: not valid UTF-8 (byte 0)
not UTF-8 in op           | bad_utf8_op                                       | op: unknown op \"p?ng\"
lone surrogate escape     | sub '"name":"\udcff"'                             | lone UTF-16 surrogate \\udcff at byte
100000 nested [           | deep                                              | request refused: more than 8192 objects and arrays
33 nested [               | raw '{"v":4,"op":"ping","tag":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}\n' | nesting too deep
2.8 million empty objects | objects 2796000                                   | more than 8192 objects and arrays
brhi3: 349 000 objects    | objects 349000                                    | more than 8192 objects and arrays
2000 nested objects       | deep_objects                                      | nesting too deep
threads 0                 | sub '"threads":0'                                 | tasks[0].threads: must be between 1 and 4096, got 0
threads 2^63              | sub '"threads":9223372036854775808'               | tasks[0].threads: must be between 1 and 4096
threads -1                | sub '"threads":-1'                                | tasks[0].threads: must be between 1 and 4096, got -1
threads 1.5               | sub '"threads":1.5'                               | tasks[0].threads: must be an integer
threads 2^64              | sub '"threads":18446744073709551616'              | tasks[0].threads
threads more than given   | sub '"threads":64'                                | threads
memory 1e999              | sub '"memory":1e999'                              | tasks[0].memory
memory -1                 | sub '"memory":-1'                                 | tasks[0].memory: must be between 0 and
memory 2^62               | sub '"memory":4611686018427387904'                | memory
time "-1s"                | sub '"time_limit_us":"-1s"'                       | tasks[0].time_limit_us: must be an integer
time_limit_us -1          | sub '"time_limit_us":-1'                          | tasks[0].time_limit_us: must be between 1 and
time_limit_us 0           | sub '"time_limit_us":0'                           | tasks[0].time_limit_us: must be between 1 and
time_limit_us 2^63-1      | sub '"time_limit_us":9223372036854775807'         | tasks[0].time_limit_us: must be between 1 and
cleanup_time_limit_us -5  | sub '"cleanup":["/bin/true"],"cleanup_time_limit_us":-5' | tasks[0].cleanup_time_limit_us: must be between 1
priority 2000000          | sub '"priority":2000000'                          | tasks[0].priority: must be between -1000000 and 1000000
group 1 (not root)        | sub '"group":1'                                   | priority group 1 is above 0
argv of 100 000           | many_argv                                         | tasks[0].argv: 100001 entries, at most 4096
env of 1 000 000          | many_env                                          | tasks[0].env: 1000001 entries, at most 256
1001 tasks                | many_tasks                                        | tasks: 1001 tasks in one request, at most 1000
10001 ids to cancel       | many_ids                                          | ids: 10001 ids in one request, at most 10000
an argument of 128 KiB    | long_arg                                          | tasks[0].env[0]: 131074 bytes long, at most 131071
argv of 1 MiB             | big_argv                                          | tasks[0]: argv and env take
argv empty                | spec '"argv":[],"cwd":"/"'                        | tasks[0].argv: must not be empty
argv[0] empty             | spec '"argv":[""],"cwd":"/"'                      | tasks[0].argv[0]: must be an absolute path
argv[0] relative          | spec '"argv":["true"],"cwd":"/"'                  | tasks[0].argv[0]: must be an absolute path (the client resolves the command against PATH), got \"true\"
argv an object            | spec '"argv":{"0":"/bin/true"},"cwd":"/"'         | tasks[0].argv: must be an array of strings
argv a string             | spec '"argv":"/bin/true","cwd":"/"'               | tasks[0].argv: must be an array of strings
argv of numbers           | spec '"argv":["/bin/true",5],"cwd":"/"'           | tasks[0].argv[1]: must be a string
argv missing              | spec '"cwd":"/"'                                  | tasks[0].argv: missing
cwd not absolute          | spec '"argv":["/bin/true"],"cwd":"tmp"'           | tasks[0].cwd: must be an absolute path, got \"tmp\"
cwd missing               | spec '"argv":["/bin/true"]'                       | tasks[0].cwd: missing
cwd of 5000 bytes         | long_cwd                                          | tasks[0].cwd: path too long
cwd a number              | spec '"argv":["/bin/true"],"cwd":7'               | tasks[0].cwd: must be a string
threads a string          | sub '"threads":"4"'                               | tasks[0].threads: must be an integer
whole_cores a string      | sub '"whole_cores":"yes"'                         | tasks[0].whole_cores: must be true or false
env an object             | sub '"env":{"A":"1"}'                             | tasks[0].env: must be an array of strings
env BENCHRUNNER_TASK      | sub '"env":["BENCHRUNNER_TASK=7"]'                | tasks[0].env[0]: BENCHRUNNER_TASK: variables starting with BENCHRUNNER_ are set by benchrunner
env not VAR=VALUE         | sub '"env":["=x"]'                                | tasks[0].env[0]: must be VAR=VALUE
name empty                | sub '"name":""'                                   | tasks[0].name: must not be empty
name of 300 bytes         | long_name                                         | tasks[0].name: 300 bytes long, at most 255
name of 7 MB              | huge_name                                         | tasks[0].name: 7000000 bytes long, at most 255
name with a newline       | sub '"name":"a\nb"'                               | tasks[0].name: must not contain control characters
tasks an object           | req '"op":"submit","tasks":{"argv":["/bin/true"],"cwd":"/"}' | tasks: must be an array of task specs
tasks empty               | req '"op":"submit","tasks":[]'                    | tasks: must not be empty
a spec a string           | req '"op":"submit","tasks":["/bin/true"]'         | tasks[0]: must be an object
unknown field in a spec   | sub '"sudo":true'                                 | tasks[0]: unknown field \"sudo\"
unknown field in ping     | req '"op":"ping","verbose":true'                  | ping: unknown field \"verbose\"
a uid of its own (spec)   | sub '"uid":0'                                     | tasks[0]: unknown field \"uid\"
a gid of its own (spec)   | sub '"gid":0'                                     | tasks[0]: unknown field \"gid\"
a uid of its own (submit) | req '"op":"submit","uid":0,"tasks":[{"argv":["/bin/true"],"cwd":"/"}]' | submit: unknown field \"uid\"
state and id in a spec    | sub '"id":1,"state":"finished"'                   | unknown field
duplicate keys            | dup_keys                                          | tasks[0].threads: must be between 1 and 4096, got 0
duplicate op              | dup_op                                            | tasks[0]: unknown field \"uid\"
bad token                 | req '"op":"submit","token":"../x","tasks":[{"argv":["/bin/true"],"cwd":"/"}]' | token: may hold only
follow a string           | req '"op":"submit","follow":"yes","tasks":[{"argv":["/bin/true"],"cwd":"/"}]' | follow: must be true or false
a tag of 2000 bytes       | huge_tag                                          | tag: 2002 bytes, at most 1024
an unknown field of 1 MB  | long_key                                          | tasks[0]: unknown field \"kkkk
unknown op                | req '"op":"shutdown"'                             | op: unknown op \"shutdown\"
op missing                | raw '{"v":4}\n'                                   | op: missing
op a number               | req '"op":1'                                      | op: must be a string
v missing                 | raw '{"op":"ping"}\n'                             | missing \"v\"
v too new                 | raw '{"v":5,"op":"ping"}\n'                       | protocol version mismatch: the request has version 5, benchrunnerd speaks version 4
v negative                | raw '{"v":-1,"op":"ping"}\n'                      | protocol version mismatch: the request has version -1
v 2^64                    | raw '{"v":18446744073709551616,"op":"ping"}\n'    | protocol version mismatch: the request's version is out of range
v 2^63-1                  | raw '{"v":9223372036854775807,"op":"ping"}\n'     | the request has version 9223372036854775807, benchrunnerd speaks version 4
v a string                | raw '{"v":"2","op":"ping"}\n'                     | v: must be an integer
v 2.0                     | raw '{"v":4.0,"op":"ping"}\n'                     | v: must be an integer
empty line                | raw '\n'                                          | empty request
CR LF only                | raw '\r\n'                                        | empty request
only whitespace           | raw ' \t  \n'                                     | empty request
a JSON array              | raw '[{"v":4,"op":"ping"}]\n'                     | a request must be a JSON object
a JSON number             | raw '2\n'                                         | a request must be a JSON object
null                      | raw 'null\n'                                      | a request must be a JSON object
show id a string          | req '"op":"show","id":"1"'                        | id: must be an integer
show id 0                 | req '"op":"show","id":0'                          | id: must be between 1 and
cancel id -1              | req '"op":"cancel","ids":[-1]'                    | ids[0]: must be between 1 and
list uid -1               | req '"op":"list","uid":-1'                        | uid: must be between 0 and 4294967294
list unknown state        | req '"op":"list","states":["zombie"]'             | states[0]: unknown state \"zombie\"
EOF

# Another user's tasks: show is allowed (TASK is visible), cancel is not.
hcase brhi "show of brhi2's task" "req '\"op\":\"show\",\"id\":${a:-0}'" "ok:\"state\":\"running\""
hcase brhi "cancel of brhi2's tasks" "req '\"op\":\"cancel\",\"ids\":[${a:-0},${b:-0}]'" \
    "ok:{\"id\":${a:-0},\"ok\":false,\"error\":\"task ${a:-0} belongs to another user\"},{\"id\":${b:-0},\"ok\":false,\"error\":\"task ${b:-0} belongs to another user\"}"
hcase brhi3 "brhi3: cancel of brhi2's task" "req '\"op\":\"cancel\",\"ids\":[${b:-0}]'" "ok:belongs to another user"
echo "  $n_cases cases"
hwm=$(status VmHWM)
check "the daemon's peak RSS stayed under 256 MiB ($((hwm / 1024)) MiB)" [ "$hwm" -lt $((256 << 10)) ]

# Pipelining without reading: 200 000 requests written, none read for 3 s.
# The daemon stops reading once replies wait (one line read ahead), so the
# bytes it takes are bounded; it answers others meanwhile, and every
# request gets its reply once the client reads.
rss0=$(status VmRSS)
req '"op":"show","id":'"${a:-0}" | as_user brhi "$send" -p 200000 3 "$BR_SOCK" > "$T_TMP/pipe.out" 2>&1
echo "  pipelined: $(tr '\n' ';' < "$T_TMP/pipe.out")"
rss1=$(status VmRSS)
unread=$(sed -n 's/^accepted unread: \([0-9]*\) bytes.*/\1/p' "$T_TMP/pipe.out")
slowest=$(sed -n 's/.*slowest \([0-9]*\) ms.*/\1/p' "$T_TMP/pipe.out")
check "pipelined: the bytes taken unread stay bounded (${unread:-?} bytes, under 24 MiB)" \
    eval '[ -n "$unread" ] && [ "$unread" -gt 0 ] && [ "$unread" -lt $((24 << 20)) ]'
check "pipelined: others' pings are answered meanwhile (slowest ${slowest:-?} ms)" \
    eval 'grep -q "failed 0," "$T_TMP/pipe.out" && [ -n "$slowest" ] && [ "$slowest" -lt 1000 ]'
check "pipelined: each of the 200 000 requests gets its reply" grep -q '^requests 200000, replies 200000$' "$T_TMP/pipe.out"
echo "  daemon VmRSS before $((rss0 / 1024)) MiB, after $((rss1 / 1024)) MiB, peak $(($(status VmHWM) / 1024)) MiB"
check "pipelined: nothing stored, brhi2's tasks unchanged" [ "$(snapshot)" = "$before" ]

# Afterwards: brhi2's tasks are as they were, and brhi2's work still runs.
check "the daemon never restarted" [ "$(sd systemctl show -P NRestarts "$BR_UNIT")" = 0 ]
check "brhi2's running task still runs" [ "$(sd systemctl is-active "benchrunner-task-${a:-0}.service")" = active ]
id=$(as_user brhi2 "$abs_top_builddir/br-run" -w -- true); rc=$?
check "brhi2's br-run -w -- true succeeds (rc=$rc)" [ "$rc" = 0 ]
check "and is recorded as exited 0" \
    [ "$(br_sql "select reason || ' ' || exit_code from tasks where id = ${id:-0}")" = "exited 0" ]
finish
