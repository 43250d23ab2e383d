#!/bin/sh
# po-complete.sh: every translation in po/LINGUAS is complete and current:
# msgfmt -c accepts it (c-format checks) with no fuzzy or untranslated
# message, and it translates every message the sources mark now (xgettext
# over po/POTFILES.in into a fresh template, msgcmp against it), so a new
# _("...") without its translation fails here, not in a user's terminal.
# Also: every file under src/ that marks a message is in po/POTFILES.in.
# No container, no installation: make check runs it.
set -u
: "${abs_top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
po=$abs_top_srcdir/po
for p in xgettext msgfmt msgcmp; do
    command -v "$p" >/dev/null 2>&1 || { echo "SKIP: $p is not installed (gettext)"; exit 77; }
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# the sources that mark messages (_cleanup_( is no message), all listed
listed=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$po/POTFILES.in")
(cd "$abs_top_srcdir" && grep -lE '(^|[^A-Za-z0-9_])(N_|_|ngettext)\("' $(find src -name '*.c' | sort)) > "$tmp/marked"
while read -r f; do
    printf '%s\n' "$listed" | grep -qxF "$f" || bad "$f marks messages but is not in po/POTFILES.in"
done < "$tmp/marked"
for f in $listed; do
    [ -f "$abs_top_srcdir/$f" ] || bad "po/POTFILES.in lists $f, which is not there"
done

# the template as the sources are now, with po/Makevars' keywords
keywords=$(sed -n 's/^XGETTEXT_OPTIONS *= *//p' "$po/Makevars")
(cd "$abs_top_srcdir" && xgettext --default-domain=benchrunner --add-comments=TRANSLATORS: \
    $keywords --keyword=ngettext:1,2 -o "$tmp/benchrunner.pot" $listed) || bad "xgettext failed"
n=$(grep -c '^msgid ' "$tmp/benchrunner.pot")
echo "sources: $((n - 1)) messages in $(printf '%s\n' "$listed" | wc -l) files"

langs=$(sed -e 's/#.*//' "$po/LINGUAS")
[ -n "$(echo $langs)" ] || bad "po/LINGUAS names no language"
for lang in $langs; do
    f=$po/$lang.po
    [ -f "$f" ] || { bad "po/LINGUAS names $lang but po/$lang.po is not there"; continue; }
    stats=$(LC_ALL=C msgfmt -c --statistics -o /dev/null "$f" 2>&1) || bad "msgfmt -c refuses $lang.po: $stats"
    echo "$lang.po: $stats"
    case $stats in
        *fuzzy*|*untranslated*) bad "$lang.po has fuzzy or untranslated messages: $stats" ;;
    esac
    grep -q '^"Plural-Forms: nplurals=' "$f" || bad "$lang.po has no Plural-Forms header"
    grep -q '^"Content-Type: text/plain; charset=UTF-8' "$f" || bad "$lang.po is not UTF-8"
    # every message of the sources, translated (untranslated and fuzzy count as missing)
    LC_ALL=C msgcmp "$f" "$tmp/benchrunner.pot" > "$tmp/msgcmp" 2>&1 \
        || { bad "$lang.po lacks messages of the sources (make update-po, then translate):"; head -n 20 "$tmp/msgcmp"; }
done
[ "$fails" = 0 ] || { echo "po-complete: $fails check(s) failed"; exit 1; }
echo "po-complete: all checks passed"
