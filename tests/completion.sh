#!/bin/bash
# completion.sh: data/bash-completion/benchrunner against the built
# programs: it registers a completion for each, offers exactly the long
# options each program's --usage lists ("=" after those that take an
# argument), completes option values (states, files, groups, users,
# commands), br-run's command and its arguments, and stays quiet when no
# daemon answers for br-show's and br-cancel's task ids (run-cli.sh checks
# the ids against a real daemon).  No container: make check runs it.
set -u
: "${abs_top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${abs_top_builddir:=$abs_top_srcdir}"
script=$abs_top_srcdir/data/bash-completion/benchrunner
programs="benchrunnerd br-run br-start br-stats br-list br-show br-cancel br-log br-release br-top br-summary br-retry br-import"
export PATH="$abs_top_builddir:$PATH"
for p in $programs; do
    [ -x "$abs_top_builddir/$p" ] || { echo "SKIP: $abs_top_builddir/$p is not built"; exit 77; }
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0
ok() { passes=$((passes + 1)); echo "ok: $*"; }
bad() { fails=$((fails + 1)); echo "FAIL: $*"; }
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

# complete LINE [nobreak]: what the completion offers for LINE with the
# cursor at its end, one per line, sorted.  Words split as readline does:
# at blanks, and "=" a word of its own unless nobreak (COMP_WORDBREAKS
# without "=").
complete_line() {
    bash --norc --noprofile -c '
        source "$1" || exit 1
        line=$2 nobreak=$3
        read -ra w <<< "$line"
        words=()
        for x in "${w[@]}"; do
            if [[ -z $nobreak && $x == *=* && $x != =* ]]; then
                words+=("${x%%=*}" "=")
                [[ -n ${x#*=} ]] && words+=("${x#*=}")
            else
                words+=("$x")
            fi
        done
        [[ $line == *" " ]] && words+=("")
        COMP_WORDS=("${words[@]}")
        COMP_CWORD=$((${#words[@]} - 1))
        COMP_LINE=$line
        COMP_POINT=${#line}
        COMPREPLY=()
        _benchrunner "${words[0]}" "${words[COMP_CWORD]}" "${words[COMP_CWORD - 1]:-}"
        printf "%s\n" "${COMPREPLY[@]}"
    ' completion "$script" "$1" "${2:-}" 2>"$tmp/stderr" | sed '/^$/d' | sort
}

# 1. one completion function for every program
for p in $programs; do
    got=$(bash --norc --noprofile -c 'source "$1" && complete -p "$2"' completion "$script" "$p" 2>&1)
    check "complete -p $p: $got" [ "$got" = "complete -F _benchrunner $p" ]
done

# 2. the long options: exactly those of --usage (popt's, not --help's
# table the completion reads)
for p in $programs; do
    # the names: "=" is offered after an option whose argument is not
    # optional (--poll[=DURATION] is offered as --poll), which --usage
    # does not tell apart; br-run --ti below checks the "="
    LC_ALL=C "$p" --usage | tr -s ' \n' '\n\n' | tr -d '[]' | tr '|' '\n' \
        | grep -E '^--[a-z]' | sed -E 's/=.*//' | sort -u > "$tmp/usage"
    complete_line "$p --" | grep -E '^--' | sed 's/=$//' | sort -u > "$tmp/offered"
    if diff "$tmp/usage" "$tmp/offered" > "$tmp/diff"; then
        ok "$p --: the $(wc -l < "$tmp/usage") long options of --usage"
    else
        bad "$p --: not the options of --usage ('<' missing, '>' unknown):"
        cat "$tmp/diff"
    fi
    check "$p --: nothing on stderr" [ ! -s "$tmp/stderr" ]
done
got=$(complete_line "br-run -" | tr '\n' ' ')
check "br-run -: short options too (-j -m -t -w in '$got')" \
    sh -c 'for o in -j -m -t -w; do echo " $1 " | grep -q -- " $o " || exit 1; done' sh "$got"
check "br-run --ti: completes to --time-limit=" [ "$(complete_line "br-run --ti")" = "--time-limit=" ]
check "br-stats --po: --poll (its argument is optional)" [ "$(complete_line "br-stats --po")" = "--poll" ]
check "br-stats --js: --json" [ "$(complete_line "br-stats --js")" = "--json" ]

# 3. option values
check "br-list --state=: the four states" \
    [ "$(complete_line "br-list --state=" | tr '\n' ' ')" = "cleanup finished queued running " ]
check "br-list -s queued,ru: the list's last element" [ "$(complete_line "br-list -s queued,ru")" = "queued,running" ]
check "br-list --reason oom,ti: reasons" [ "$(complete_line "br-list --reason oom,ti")" = "oom,time-limit" ]
check "br-list --state=fin (= not a word break)" [ "$(complete_line "br-list --state=fin" nobreak)" = "--state=finished" ]
mkdir "$tmp/dir" && : > "$tmp/dir/tasks.jsonl" && : > "$tmp/dir/other"
check "br-run --batch=DIR/t: files" [ "$(complete_line "br-run --batch=$tmp/dir/t")" = "$tmp/dir/tasks.jsonl" ]
check "benchrunnerd --state-dir DIR/: directories only" [ -z "$(complete_line "benchrunnerd --state-dir $tmp/dir/")" ]
check "br-start -g roo: groups" sh -c 'echo "$1" | grep -qx root' sh "$(complete_line "br-start -g roo")"
check "br-list -u roo: users" sh -c 'echo "$1" | grep -qx root' sh "$(complete_line "br-list -u roo")"
check "br-run -m: a size, nothing offered" [ -z "$(complete_line "br-run -m ")" ]
check "br-run -e: a variable, nothing offered" [ -z "$(complete_line "br-run -e ")" ]

# 4. br-run: options, then the command, then its arguments
check "br-run -j 2 -m 1G tru: a command" sh -c 'echo "$1" | grep -qx true' sh "$(complete_line "br-run -j 2 -m 1G tru")"
check "br-run -w -j2 --name=x tru: a command" sh -c 'echo "$1" | grep -qx true' sh "$(complete_line "br-run -w -j2 --name=x tru")"
check "br-run -- tru: a command" sh -c 'echo "$1" | grep -qx true' sh "$(complete_line "br-run -- tru")"
check "br-run true DIR/o: the command's arguments are files" \
    [ "$(complete_line "br-run true $tmp/dir/o")" = "$tmp/dir/other" ]
check "br-run true --ver: an option after the command is the command's" \
    [ -z "$(complete_line "br-run true --ver")" ]

# 5. task ids: no daemon on this socket, no ids and no noise
check "br-show (no daemon): nothing offered" [ -z "$(complete_line "br-show --socket=$tmp/none ")" ]
check "br-show (no daemon): nothing on stderr" [ ! -s "$tmp/stderr" ]
check "br-cancel (no daemon): nothing offered" [ -z "$(complete_line "br-cancel --socket $tmp/none ")" ]

# 6. the script is plain bash: no bash-completion helper it would need
if grep -nE '\b_(init_completion|get_comp_words_by_ref|filedir|parse_help)\b' "$script"; then
    bad "the script calls bash-completion's helpers"
else
    ok "the script needs no bash-completion helper"
fi

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
