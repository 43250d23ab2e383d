#!/bin/bash
# hostile-escapes.sh: a user's task whose directory, arguments, cleanup
# command and environment hold terminal escapes (OSC "set the title" ESC ] 0 ;
# x BEL, "clear the screen" ESC [ 2 J, CSI as U+009B) is shown
# to another user by br-show, br-list and br-stats, and to its owner by
# br-run -w and its error lines, without one control byte reaching the
# terminal: only \n and \t, nothing else below 0x20, no DEL, no 0xc2 0x80..0x9f.
# A name with a C1 control is refused, in a line that holds none.  Both in the
# C locale (every byte past ASCII escaped) and in C.UTF-8.
. "$(dirname "$0")/../lib.sh"
require_systemd
sd groupadd -f bresc
br_user bresc1
br_user bresc2
sd usermod -aG bresc bresc1
sd usermod -aG bresc bresc2
br_daemon_start --cpus=0 --memory=512M --group=bresc || exit 1

evil=$'\e]0;x\a\e[2J\xc2\x9b'
dir=/home/bresc1/d$evil
sd mkdir -p "$dir"
sd chown bresc1: "$dir"
# as_user with a working directory
in_dir() { local u=$1; shift; as_user "$u" sh -c 'cd "$1" && shift && exec "$@"' sh "$dir" "$@"; }

# clean FILE: no byte a terminal takes as a control but \n and \t
clean() { perl -0777 -ne 'exit(/[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]/ ? 1 : 0)' "$1"; }
# what perl found, for the log
show_bad() { perl -0777 -ne 'while (/(.{0,20})([\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f])/sg) {
    printf "    control byte 0x%s after \"%s\"\n", unpack("H*", $2), $1 =~ s/[^ -~]/?/gr }' "$1" | head -5; }
# check_clean WHAT FILE
check_clean() {
    local f=$2 n
    n=$(wc -c < "$f")
    show_bad "$f"
    check "$1: no control bytes ($n bytes)" eval '[ "$n" -gt 0 ] && clean "$f"'
}

# 1. a name with a C1 control (U+009B) is refused, and the refusal is clean
in_dir bresc1 "$abs_top_builddir/br-run" -n "x"$'\xc2\x9b'"2J" -- /bin/true > "$T_TMP/name.out" 2>&1; rc=$?
echo "  name with U+009B: rc $rc: $(cat -v "$T_TMP/name.out")"
check "a name with U+009B is refused" eval '[ "$rc" != 0 ] && grep -q "must not contain control characters" "$T_TMP/name.out"'
check_clean "the refusal" "$T_TMP/name.out"

# 2. the owner's br-run -w of a task full of escapes, and its error lines
in_dir bresc1 "$abs_top_builddir/br-run" -w -n plain -e "EVIL=$evil" -c "/bin/echo cleanup$evil" \
    -- /bin/echo "arg$evil" > "$T_TMP/run.out" 2>&1; rc=$?
id=$(head -n 1 "$T_TMP/run.out")
echo "  br-run -w: rc $rc: $(cat -v "$T_TMP/run.out")"
check "the task ran (rc=$rc, id $id)" eval '[ "$rc" = 0 ] && [ -n "$id" ] && [ "$id" -gt 0 ]'
check_clean "br-run -w" "$T_TMP/run.out"
# one that stays queued behind a blocker, for the live views
blocker=$(in_dir bresc1 "$abs_top_builddir/br-run" -n blocker -- /bin/sleep 600)
queued=$(in_dir bresc1 "$abs_top_builddir/br-run" -e "EVIL=$evil" -- /bin/echo "arg$evil")
check "two more tasks queued ($blocker, $queued)" eval '[ -n "$blocker" ] && [ -n "$queued" ]'
: > "$T_TMP/errors.out"
in_dir bresc1 "$abs_top_builddir/br-run" -- "./nothing$evil" >> "$T_TMP/errors.out" 2>&1
in_dir bresc1 "$abs_top_builddir/br-run" -e "NOT_SET_$evil" -- /bin/true >> "$T_TMP/errors.out" 2>&1
in_dir bresc1 "$abs_top_builddir/br-run" -e "A$evil=1" -- /bin/true >> "$T_TMP/errors.out" 2>&1
in_dir bresc1 "$abs_top_builddir/br-run" -m "1$evil" -- /bin/true >> "$T_TMP/errors.out" 2>&1
in_dir bresc1 "$abs_top_builddir/br-list" -u "no$evil" >> "$T_TMP/errors.out" 2>&1
in_dir bresc1 "$abs_top_builddir/br-cancel" "1$evil" >> "$T_TMP/errors.out" 2>&1
echo "  error lines:"; cat -v "$T_TMP/errors.out" | sed 's/^/    /'
check "the error lines quote what was given" eval '[ "$(wc -l < "$T_TMP/errors.out")" -ge 6 ] && grep -q "nothing" "$T_TMP/errors.out"'
check_clean "error lines" "$T_TMP/errors.out"

# the owner sees the environment, escaped once
as_user bresc1 "$abs_top_builddir/br-show" "$id" > "$T_TMP/owner.show" 2>&1
check "br-show as the owner shows the environment, escaped once" \
    grep -qF "\$'EVIL=\\e]0;x\\x07\\e[2J\\xc2\\x9b'" "$T_TMP/owner.show"
check_clean "br-show as the owner" "$T_TMP/owner.show"

# 3. another user looks, in two locales
for loc in C C.UTF-8; do
    o=$T_TMP/other.$loc
    as_user bresc2 env LC_ALL=$loc "$abs_top_builddir/br-show" "$id" "$queued" > "$o.show" 2>&1
    as_user bresc2 env LC_ALL=$loc "$abs_top_builddir/br-list" -a > "$o.list" 2>&1
    as_user bresc2 env LC_ALL=$loc "$abs_top_builddir/br-list" > "$o.list-live" 2>&1
    as_user bresc2 env LC_ALL=$loc "$abs_top_builddir/br-stats" --once > "$o.stats" 2>&1
    as_user bresc2 env LC_ALL=$loc "$abs_top_builddir/br-cancel" "$queued" > "$o.cancel" 2>&1
    echo "  br-show as another user, LC_ALL=$loc:"; cat -v "$o.show" | sed 's/^/    /'
    check "br-show ($loc) shows the directory, escaped" grep -qF '/home/bresc1/d\e]0;x\x07\e[2J\xc2\x9b' "$o.show"
    check "br-show ($loc) shows the command, escaped" grep -qF "\$'arg\\e]0;x\\x07\\e[2J\\xc2\\x9b'" "$o.show"
    check_clean "br-show ($loc)" "$o.show"
    check_clean "br-list -a ($loc)" "$o.list"
    check_clean "br-list ($loc)" "$o.list-live"
    check_clean "br-stats --once ($loc)" "$o.stats"
    check_clean "br-cancel of another's task ($loc)" "$o.cancel"
done

# 4. JSON stays JSON: C0 controls and, since json-c leaves them, DEL and C1
#    as \u escapes
as_user bresc2 "$abs_top_builddir/br-show" --json "$id" > "$T_TMP/show.json" 2>&1
as_user bresc2 "$abs_top_builddir/br-list" -a --json > "$T_TMP/list.json" 2>&1
check_clean "br-show --json" "$T_TMP/show.json"
check_clean "br-list --json" "$T_TMP/list.json"
check "br-show --json has the directory as \\u escapes" \
    grep -qF '"cwd":"/home/bresc1/d\u001b]0;x\u0007\u001b[2J\u009b"' "$T_TMP/show.json"
finish
