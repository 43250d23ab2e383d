#!/bin/bash
# deb-install.sh: the Debian package (tools/package) as an administrator
# meets it, in the container's throw-away root: apt-get install of the
# .deb, the group and directories made by its scripts, the service neither
# enabled nor started until its settings are set; then threads and memory
# in the settings file, systemctl enable --now, a member's task runs, a
# non-member is refused with one line, the service survives a restart, and
# apt-get purge leaves none of the package's files, settings or state.
# The .deb comes from $BR_DEB_DIR (default: deb/ in the build tree), where
# tools/test has tools/package put it.
. "$(dirname "$0")/../lib.sh"
require_systemd
[ "$BR_TIER" = v2 ] && skip "the container tier installs the package; the VM tier shares the host's root read-only"

deb_dir=${BR_DEB_DIR:-$abs_top_builddir/deb}
deb=$(ls "$deb_dir"/benchrunner_*.deb 2>/dev/null | head -n 1)
if [ -z "$deb" ]; then
    if [ "${BR_TEST_REQUIRE_SYSTEMD:-0}" = 1 ]; then
        echo "FAIL: $T_NAME: no benchrunner_*.deb in $deb_dir (tools/package $deb_dir makes it)"
        exit 1
    fi
    skip "no benchrunner_*.deb in $deb_dir: run tools/package $deb_dir first (tools/test does)"
fi
echo "package: $deb"
conf=/etc/benchrunner/benchrunnerd.conf
BR_SOCK=/run/benchrunner/benchrunner.sock

teardown() {
    sd sh -c 'dpkg -s benchrunner >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq benchrunner' \
        >/dev/null 2>&1
    br_units_clean
    sd sh -c '[ -e /usr/sbin/policy-rc.d.br-test ] && mv /usr/sbin/policy-rc.d.br-test /usr/sbin/policy-rc.d'
}
trap 'rc=$?; teardown; (exit $rc); t_cleanup' EXIT

# as on a machine that never had benchrunner: what earlier tests in this
# container left (service-unit.sh uses the same directories) goes first
sd systemctl stop benchrunnerd.service 2>/dev/null
sd rm -rf /var/lib/benchrunner /run/benchrunner /etc/benchrunner
# a container image's policy-rc.d (exit 101: no service may be started or
# stopped by a package) is no part of a machine: set aside while this runs
sd sh -c '[ -e /usr/sbin/policy-rc.d ] && mv /usr/sbin/policy-rc.d /usr/sbin/policy-rc.d.br-test'

out=$(sd env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb" 2>&1); rc=$?
printf '%s\n' "$out" | tail -n 5 | sed 's/^/  apt-get: /'
check "apt-get install ./benchrunner_*.deb exits 0" [ "$rc" = 0 ]
check "dpkg says it is installed" eval 'sd dpkg -s benchrunner | grep -q "^Status: install ok installed"'
files=$(sd sh -c 'dpkg -L benchrunner | while read -r f; do [ -d "$f" ] || echo "$f"; done')
echo "  installed files:"; printf '    %s\n' $files
for f in /usr/sbin/benchrunnerd /usr/bin/br-run /usr/bin/br-start /usr/bin/br-stats /usr/bin/br-list \
         /usr/bin/br-show /usr/bin/br-cancel /usr/bin/br-log /usr/bin/br-release /usr/bin/br-top /usr/bin/br-summary /usr/bin/br-retry /lib/systemd/system/benchrunnerd.service "$conf" \
         /usr/lib/tmpfiles.d/benchrunner.conf /usr/lib/sysusers.d/benchrunner.conf \
         /usr/share/man/man1/br-run.1.gz /usr/share/man/man1/br-log.1.gz /usr/share/man/man1/br-release.1.gz /usr/share/man/man1/br-top.1.gz /usr/share/man/man1/br-retry.1.gz /usr/share/man/man5/benchrunnerd.conf.5.gz \
         /usr/share/man/man8/benchrunnerd.8.gz /usr/share/locale/de/LC_MESSAGES/benchrunner.mo \
         /usr/share/bash-completion/completions/br-run; do
    check "the package installed $f" eval 'printf "%s\n" $files | grep -qx "$f"'
done
comp=/usr/share/bash-completion/completions
for p in benchrunnerd br-start br-stats br-list br-show br-cancel br-log br-release br-top br-summary br-retry; do
    check "the package links the completion for $p" eval '[ "$(sd readlink "$comp/$p")" = br-run ]'
done
out=$(sd bash --norc -c "source $comp/br-run && complete -p br-run" 2>&1)
check "bash -c 'source $comp/br-run; complete -p br-run': $out" [ "$out" = "complete -F _benchrunner br-run" ]
out=$(sd env LANGUAGE=de LC_ALL=C.UTF-8 br-run -m bogus -- true 2>&1); rc=$?
check "the installed br-run speaks German under LANGUAGE=de: $out" \
    eval '[ "$rc" = 2 ] && [ "$out" = "br-run: --memory: keine Größe: bogus (512M, 2G, ... verwenden)" ]'
check "its scripts made the group benchrunner (sysusers.d)" sd getent group benchrunner
check "and the state and runtime directories (tmpfiles.d): root's, 0755, private/ 0700" \
    [ "$(sd stat -c %U:%a /var/lib/benchrunner /var/lib/benchrunner/private /run/benchrunner | tr '\n' ' ')" \
      = "root:755 root:700 root:755 " ]
check "the service is neither enabled nor running after installation" \
    eval '[ "$(sd systemctl is-enabled benchrunnerd.service)" = disabled ] &&
          [ "$(sd systemctl is-active benchrunnerd.service)" != active ]'

# the administrator's part: threads and memory, checked, then enable --now
sd sed -i -e 's/^#threads =.*/threads = 1/' -e 's/^#memory =.*/memory = 1G/' "$conf"
check "the settings file now sets threads and memory" \
    eval '[ "$(sd grep -cE "^(threads = 1|memory = 1G)$" "$conf")" = 2 ]'
out=$(sd benchrunnerd --check-config 2>&1); rc=$?
check "benchrunnerd --check-config accepts them: $out" eval '[ "$rc" = 0 ] && printf "%s" "$out" | grep -q "memory 1.0G"'
sd systemctl enable --now benchrunnerd.service > /dev/null 2>&1; rc=$?
check "systemctl enable --now benchrunnerd exits 0, the service is active and enabled" \
    eval '[ "$rc" = 0 ] && [ "$(sd systemctl is-active benchrunnerd.service)" = active ] &&
          [ "$(sd systemctl is-enabled benchrunnerd.service)" = enabled ]'
[ "$rc" = 0 ] || sd journalctl -u benchrunnerd.service --no-pager -o cat | tail -n 20
out=$(sd br-stats --once 2>&1)
check "br-stats: one thread, memory 1.0G, as set ($out)" eval 'printf "%s" "$out" | grep -q "threads 0/1, memory 0B/1.0G"'

br_user brdeb1
br_user brdeb2
sd usermod -a -G benchrunner brdeb1
out=$(as_user brdeb1 br-run -w -- true 2>&1); rc=$?
check "a member of group benchrunner: br-run -w -- true exits 0" [ "$rc" = 0 ]
out=$(as_user brdeb2 br-run -w -- true 2>&1); rc=$?
echo "  non-member: rc=$rc: $out"
check "a non-member is refused with one clear line" \
    eval '[ "$rc" != 0 ] && [ "$(printf "%s\n" "$out" | wc -l)" = 1 ] && printf "%s" "$out" | grep -q "permission denied"'

# a restart with a task running: the service comes back, the task ends as exited
id=$(as_user brdeb1 br-run -- sleep 3)
sd systemctl restart benchrunnerd.service; rc=$?
check "systemctl restart exits 0, the service is active" \
    eval '[ "$rc" = 0 ] && [ "$(sd systemctl is-active benchrunnerd.service)" = active ]'
out=$(as_user brdeb1 br-run -w -- true 2>&1); rc=$?
check "after the restart a member's task runs" [ "$rc" = 0 ]
for _ in $(seq 100); do
    [ "$(sd sqlite3 /var/lib/benchrunner/private/tasks.db "select reason from tasks where id = ${id:-0}")" = exited ] && break
    sleep 0.1
done
check "the task that ran across the restart ended as exited" \
    [ "$(sd sqlite3 /var/lib/benchrunner/private/tasks.db "select reason from tasks where id = ${id:-0}")" = exited ]

# purge: nothing of the package stays
out=$(sd env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q benchrunner 2>&1); rc=$?
printf '%s\n' "$out" | tr '\r' '\n' | tail -n 3 | sed 's/^/  apt-get: /'
check "apt-get purge benchrunner exits 0" [ "$rc" = 0 ]
check "dpkg no longer knows it" eval '! sd dpkg -s benchrunner 2>/dev/null | grep -q "^Status: install ok"'
left=$(sd sh -c 'for f; do [ -e "$f" ] || [ -L "$f" ] && echo "$f"; done' sh $files)
check "none of its files is left (${left:-none})" [ -z "$left" ]
check "its settings, state and runtime directories are gone" \
    eval '! sd test -e /etc/benchrunner && ! sd test -e /var/lib/benchrunner && ! sd test -e /run/benchrunner'
check "the service is gone: not loaded, not enabled, no daemon running" \
    eval '[ "$(sd systemctl show -P LoadState benchrunnerd.service)" = not-found ] &&
          ! sd test -e /etc/systemd/system/multi-user.target.wants/benchrunnerd.service &&
          ! sd pgrep -x benchrunnerd > /dev/null'

finish
