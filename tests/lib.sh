# lib.sh: shared by the integration tests (sourced, not run).
#
# A test runs on the host and reaches a real systemd through `sd CMD...`:
#   tier v1 (default): a systemd-nspawn container on the host's cgroup v1
#     hybrid, booted by tests/ct.sh.  tools/test boots one for the whole run and
#     passes its name in BR_CT_NAME; a test run alone boots its own and tears it
#     down on exit.
#   tier v2 (BR_TIER=v2): the test already runs inside the qemu VM of
#     tests/vm.sh, whose systemd is PID 1 on cgroup v2; `sd` runs directly.
# Exit status: 0 pass, 77 skip (with the reason on stderr), anything else fail.
# With BR_TEST_REQUIRE_SYSTEMD=1 (CI) a missing systemd is a failure, not a skip.

set -u

: "${abs_top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${abs_top_builddir:=$PWD}"
export abs_top_srcdir abs_top_builddir
BR_TIER=${BR_TIER:-v1}
T_NAME=$(basename "$0" .sh)
T_FAILS=0
T_CT_OWN=
T_CT=

# Scratch space inside the build tree: the container binds the build tree, and
# the container's own /tmp is not the host's.
T_TMP=$abs_top_builddir/tests/tmp/$T_NAME.$$
mkdir -p "$T_TMP"
chmod 0755 "$abs_top_builddir/tests/tmp" "$T_TMP"

t_cleanup() {
    local rc=$?
    if [ -n "$T_CT" ] || [ "$BR_TIER" = v2 ]; then
        br_teardown
    fi
    if [ -n "$T_CT_OWN" ]; then
        "$abs_top_srcdir/tests/ct.sh" stop "$T_CT_OWN" || true
    fi
    rm -rf "$T_TMP"
    exit $rc
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

skip() { echo "SKIP: $T_NAME: $*" >&2; exit 77; }

# No systemd to test against: a skip, or a failure where CI demands one.
no_systemd() {
    if [ "${BR_TEST_REQUIRE_SYSTEMD:-0}" = 1 ]; then
        echo "FAIL: $T_NAME: no systemd to test against: $* (BR_TEST_REQUIRE_SYSTEMD=1)" >&2
        exit 1
    fi
    skip "no systemd to test against: $*"
}

require_systemd() {
    [ "${BR_TEST_SKIP_INTEGRATION:-0}" = 1 ] && skip "BR_TEST_SKIP_INTEGRATION=1"
    if [ "$BR_TIER" = v2 ]; then
        [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || no_systemd "BR_TIER=v2 but /sys/fs/cgroup is not cgroup2"
        systemctl is-system-running >/dev/null 2>&1 || [ -d /run/systemd/system ] \
            || no_systemd "BR_TIER=v2 but systemd is not running"
        return 0
    fi
    [ "$(id -u)" = 0 ] || no_systemd "booting a container needs root"
    if [ -n "${BR_CT_NAME:-}" ] && "$abs_top_srcdir/tests/ct.sh" leader "$BR_CT_NAME" >/dev/null 2>&1; then
        T_CT=$BR_CT_NAME
    else
        local binds=$abs_top_builddir
        [ "$abs_top_srcdir" = "$abs_top_builddir" ] || binds="$binds $abs_top_srcdir"
        T_CT_OWN=t-$T_NAME-$$
        if ! BR_CT_BINDS="$binds" "$abs_top_srcdir/tests/ct.sh" start "$T_CT_OWN" >/dev/null 2>"$T_TMP/ct.err"; then
            local why; why=$(tail -n 3 "$T_TMP/ct.err" | tr '\n' ' ')
            T_CT_OWN=
            no_systemd "container did not boot: $why"
        fi
        T_CT=$T_CT_OWN
    fi
}

# Runs a command where the systemd under test is PID 1.
sd() {
    if [ "$BR_TIER" = v2 ]; then
        # from /, as nsenter runs commands in the container tier
        (cd / && "$@")
    else
        "$abs_top_srcdir/tests/ct.sh" exec "$T_CT" "$@"
    fi
}

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; T_FAILS=$((T_FAILS + 1)); }
# check DESCRIPTION COMMAND...: one assertion
check() {
    local what=$1; shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
# fails COMMAND...: COMMAND fails (for check)
fails() { ! "$@"; }
# eventually COMMAND...: true within 10 s (for what systemd applies
# asynchronously, such as cgroup attributes)
eventually() {
    local i
    for i in $(seq 100); do "$@" 2>/dev/null && return 0; sleep 0.1; done
    "$@"
}
# value KEY FILE: the VALUE of a KEY=VALUE line
value() { sed -n "s/^$1=//p" "$2" | head -n 1; }
# between N LO HI: integer range check
between() { [ -n "$1" ] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

finish() {
    if [ "$T_FAILS" -gt 0 ]; then
        echo "$T_NAME: $T_FAILS check(s) failed"
        exit 1
    fi
    echo "$T_NAME: all checks passed"
    exit 0
}

# ---- a benchrunner daemon of the test's own ----
# Runs as a transient service of the systemd under test, with private paths
# under $T_TMP.  Tests run one after another in the shared container, and a
# test's daemon numbers its tasks from 1, so every test stops its daemon and
# every unit it left (br_daemon_stop, also on exit).
BR_SOCK=
BR_DB=          # the live database (root's alone)
BR_HISTORY=     # the copy users read
BR_STATE=
BR_UNIT=
BR_UNIT_STARTED=
# The state directory lives inside the systemd under test (its overlay or
# VM root), not under /tmp: tasks get a private tmpfs on /tmp, which would hide
# their working directories.
br_daemon_start() {    # br_daemon_start [benchrunnerd options...]
    BR_STATE=/var/lib/br-test/$T_NAME.$$
    BR_SOCK=$BR_STATE/br.sock
    BR_DB=$BR_STATE/private/tasks.db
    BR_HISTORY=$BR_STATE/tasks.db
    BR_UNIT=br-test-$T_NAME-$$.service
    sd mkdir -p -m 0755 /var/lib/br-test "$BR_STATE"
    [ -n "$BR_UNIT_STARTED" ] || br_units_clean    # what an interrupted earlier test left
    BR_UNIT_STARTED=1
    # BR_DAEMON_RESTART=1: systemd brings a crashed daemon back, as for the
    # unit br-start makes
    local restart=()
    [ "${BR_DAEMON_RESTART:-0}" = 1 ] && restart=(-p Restart=on-failure -p RestartSec=200ms
        -p StartLimitBurst=1000)
    sd systemd-run --quiet --unit="$BR_UNIT" -p Type=notify -p KillMode=mixed "${restart[@]}" \
        --setenv=ASAN_OPTIONS=detect_leaks=0${BR_DAEMON_ASAN_OPTIONS:+:$BR_DAEMON_ASAN_OPTIONS} \
        "$abs_top_builddir/benchrunnerd" --socket="$BR_SOCK" --db="$BR_DB" --history="$BR_HISTORY" \
        --state-dir="$BR_STATE" "$@" \
        || { echo "FAIL: the daemon did not start"; sd journalctl -u "$BR_UNIT" --no-pager | tail -20; return 1; }
}

br_daemon_stop() {
    [ -n "$BR_UNIT" ] || return 0
    sd systemctl stop "$BR_UNIT" 2>/dev/null || true
}

br_daemon_log() { sd journalctl -u "$BR_UNIT" --no-pager -o cat; }

# Stops every unit a daemon of this test left, so the next test starts clean.
br_units_clean() {
    sd sh -c 'for u in $(systemctl list-units --all --plain --no-legend "benchrunner*" | cut -d" " -f1); do
        systemctl stop "$u"; done; systemctl reset-failed "benchrunner*"' >/dev/null 2>&1 || true
}

# br PROGRAM ARGS...: a client program of the build tree, inside, against
# this test's daemon.
br() {
    local p=$1; shift
    sd env BENCHRUNNER_SOCKET="$BR_SOCK" "$abs_top_builddir/$p" "$@"
}

# sqlite3 on this test's live database, as root (inside, so the paths are
# the same).
br_sql() { sd sqlite3 -batch -noheader "$BR_DB" "$@"; }

br_teardown() {
    br_daemon_stop
    br_units_clean
}

# ---- ordinary users ----
# br_user NAME: an ordinary local user inside, with a group of the same name
# (made once; the container's root is a throw-away overlay).
br_user() {
    sd sh -c "id '$1' >/dev/null 2>&1 || useradd --create-home --user-group '$1'" >/dev/null 2>&1 \
        || { echo "FAIL: useradd $1"; exit 1; }
}
# as_user NAME CMD...: CMD inside as that user (its own groups, no root), with
# BENCHRUNNER_SOCKET pointing at this test's daemon.
as_user() {
    local u=$1; shift
    sd setpriv --reuid="$u" --regid="$u" --init-groups env BENCHRUNNER_SOCKET="$BR_SOCK" "$@"
}
