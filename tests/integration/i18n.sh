#!/bin/bash
# i18n.sh: translations from po/ to the terminal.  The catalogs installed
# where the programs look (make -C po install, into the container's
# throw-away root), LANGUAGE=de with the C.UTF-8 locale (no de_DE locale
# needed: glibc ignores LANGUAGE only under "C"/"POSIX") makes br-run's
# errors and --help German, and without LANGUAGE they stay English.  The
# daemon translates its command line and --check-config for whoever typed
# them, but speaks English in the journal and on the socket, whatever
# locale it is given (docs/i18n.md).
. "$(dirname "$0")/../lib.sh"
require_systemd

de=(env LANGUAGE=de LC_ALL=C.UTF-8)

# installed as make install does it: staged on the host, copied into the
# container's root (its overlay is thrown away with it)
make -s -C "$abs_top_builddir/po" install DESTDIR="$T_TMP/root" >/dev/null \
    || { echo "FAIL: make -C po install"; exit 1; }
mo=$(cd "$T_TMP/root" 2>/dev/null && find . -path '*/de/LC_MESSAGES/benchrunner.mo' | sed 's|^\.||')
check "make -C po install installs the German catalog: $mo" [ -n "$mo" ]
sd cp -a "$T_TMP/root/." /
trap 'rc=$?; sd rm -f "$mo"; (exit $rc); t_cleanup' EXIT

run=$abs_top_builddir/br-run
out=$(sd "${de[@]}" "$run" -m bogus -- true 2>&1); rc=$?
echo "  LANGUAGE=de: rc=$rc: $out"
check "LANGUAGE=de LC_ALL=C.UTF-8: br-run -m bogus says it in German, exit status 2" \
    eval '[ "$rc" = 2 ] && [ "$out" = "br-run: --memory: keine Größe: bogus (512M, 2G, ... verwenden)" ]'
out=$(sd env LC_ALL=C.UTF-8 "$run" -m bogus -- true 2>&1); rc=$?
check "without LANGUAGE it is English: $out" \
    eval '[ "$rc" = 2 ] && [ "$out" = "br-run: --memory: not a size: bogus (use 512M, 2G, ...)" ]'
out=$(sd env LANGUAGE=de LC_ALL=C "$run" -m bogus -- true 2>&1)
check "and under LC_ALL=C LANGUAGE is ignored (glibc): $out" grep -q 'not a size' <<< "$out"
sd "${de[@]}" "$run" --help > "$T_TMP/help" 2>&1
check "br-run --help: German option descriptions" grep -q 'CPU-Threads der Aufgabe (Vorgabe: 1)' "$T_TMP/help"
check "and usage line" grep -q 'BEFEHL \[ARG...\]' "$T_TMP/help"
# a batch line's error comes from src/shared/protocol.c
printf '{"argv":["/bin/true"],"threads":0}\n' > "$T_TMP/batch"
out=$(sd "${de[@]}" "$run" --batch "$T_TMP/batch" 2>&1)
check "a bad batch line, German: $out" grep -q 'threads: muss zwischen 1 und .* liegen, ist aber 0' <<< "$out"

# the daemon: its command line German, the journal's stream English
d=$abs_top_builddir/benchrunnerd
out=$(sd "${de[@]}" ASAN_OPTIONS=detect_leaks=0 "$d" --config= --memory=12Q --check-config 2>&1); rc=$?
check "benchrunnerd --check-config, German: $out" \
    eval '[ "$rc" != 0 ] && [ "$out" = "Ungültige Speichergröße: 12Q" ]'
out=$(sd "${de[@]}" ASAN_OPTIONS=detect_leaks=0 "$d" --help 2>&1)
check "benchrunnerd --help, German" grep -q 'die Version anzeigen und beenden' <<< "$out"
# stderr a stream JOURNAL_STREAM names, as systemd connects it
out=$(sd "${de[@]}" ASAN_OPTIONS=detect_leaks=0 sh -c \
    'exec 2>"$1"; JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) "$2" --config= --memory=12Q --check-config;
     cat "$1"' sh "$T_TMP/journal" "$d" 2>&1)
check "with stderr the journal it is English: $out" grep -q '^<3>Invalid memory size: 12Q$' <<< "$out"

# a daemon given a German locale: its replies and log lines stay English
sd systemctl set-environment LANGUAGE=de LC_ALL=C.UTF-8
br_daemon_start --cpus=1 --memory=256M; started=$?
sd systemctl unset-environment LANGUAGE LC_ALL
check "a daemon started with LANGUAGE=de" [ "$started" = 0 ]
pid=$(sd systemctl show -P MainPID "$BR_UNIT")
check "it runs with LANGUAGE=de" eval 'sd cat "/proc/$pid/environ" | tr "\\0" "\\n" | grep -qx LANGUAGE=de'
out=$(printf '{"v":4,"op":"submit","tasks":[{"argv":["true"],"cwd":"/"}]}\n' \
    | sd "$abs_top_builddir/tests/helpers/br-send" "$BR_SOCK")
echo "  reply: $out"
check "its error reply is English (a message de.po translates)" \
    grep -q 'tasks\[0\]\.argv\[0\]: must be an absolute path' <<< "$out"
out=$(printf '{"v":4,"op":"show","id":999}\n' | sd "$abs_top_builddir/tests/helpers/br-send" "$BR_SOCK")
check "and so is every other: $out" grep -q '"error":"no task 999"' <<< "$out"
check "the journal: English" eventually eval 'br_daemon_log | grep -q "benchrunnerd .*: CPUs 1, memory 256"'
check "the journal has no German" eval '! br_daemon_log | grep -q "Speicher\|Ungültig"'
# through br-run in German: the client's words German, the daemon's English
out=$(sd "${de[@]}" BENCHRUNNER_SOCKET="$BR_SOCK" "$run" -j 64 -- /bin/true 2>&1); rc=$?
echo "  br-run -j 64: rc=$rc: $out"
check "br-run shows the daemon's refusal as the daemon said it" \
    eval '[ "$rc" = 1 ] && [ "$out" = "br-run: 64 threads requested, but benchrunner was given only 1 CPU thread" ]'

finish
