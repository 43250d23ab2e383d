# tools/common.sh: the set-up that tools/test, tools/fuzz, tools/demo and bench/lib.sh
# share (sourced, not run): the Debian packages, the build, one throw-away
# systemd container.  The caller sets PROG (its name, for messages) and top
# (the source tree).

# What building, the container tier and the VM tier need.
BR_PKGS_BUILD=(gcc make autoconf automake autopoint gettext pkg-config
               libsystemd-dev libsqlite3-dev libpopt-dev libjson-c-dev sqlite3)
# tools/fuzz (and tools/test, which runs it): clang and libFuzzer
BR_PKGS_FUZZ=(clang libfuzzer-14-dev)
# tmux: tests/integration/br-top.sh reads br-top's screen through it
BR_PKGS_CONTAINER=(systemd systemd-container dbus util-linux procps tmux)
BR_PKGS_VM=(qemu-system-x86 busybox-static kmod xz-utils)
# tests/slurm.sh: a real one-node Slurm (munged, slurmctld, slurmd) booted
# inside the test container for the daemon's Slurm backend.  Only the tests
# need it: the container is an overlay of the host's /, so the host must
# have it installed; the package (debian/control) does not depend on it.
BR_PKGS_SLURM=(slurm-wlm munge)
# tools/package: the Debian package's build and lintian
BR_PKGS_DEB=(dpkg-dev debhelper lintian fakeroot bash-completion)

# br_install PACKAGE...: installs those not installed yet.
br_install() {
    local p missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "$PROG: installing ${missing[*]}"
    apt-get update -qq >/dev/null || { echo "$PROG: apt-get update failed" >&2; return 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        >/dev/null || { echo "$PROG: apt-get install failed" >&2; return 1; }
}

# br_build BUILDDIR LOG [CONFIGURE-ARG...]: autoreconf, configure, make; on
# failure shows the end of LOG.
br_build() {
    local build=$1 log=$2
    shift 2
    mkdir -p "$build" || return 1
    if ! { (cd "$top" && autoreconf -fi) && (cd "$build" && "$top/configure" "$@") \
            && make -C "$build" -j"$(nproc)"; } > "$log" 2>&1; then
        tail -n 40 "$log" >&2
        return 1
    fi
}

# br_ct_start NAME BUILDDIR: boots container NAME (tests/ct.sh) with the
# source and build trees bound in, and stops it when the caller exits.
br_ct_name=
br_ct_stop() {
    [ -n "$br_ct_name" ] && "$top/tests/ct.sh" stop "$br_ct_name" >/dev/null 2>&1
    br_ct_name=
    return 0
}
br_ct_start() {
    local build=$2 binds=$top
    br_ct_name=$1
    trap br_ct_stop EXIT
    trap 'br_ct_stop; exit 130' INT TERM
    case $build in "$top"|"$top"/*) ;; *) binds="$top $build" ;; esac
    BR_CT_BINDS="$binds" "$top/tests/ct.sh" start "$br_ct_name" > /dev/null
}

# in_ct CMD...: runs CMD in the container.
in_ct() { "$top/tests/ct.sh" exec "$br_ct_name" "$@"; }
