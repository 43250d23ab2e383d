#!/bin/bash
# tests/vm.sh: run one script as root inside a throw-away qemu VM whose systemd
# (the host's own binaries) runs on a pure cgroup v2 hierarchy, as on users'
# machines; the build machines themselves have a cgroup v1 hybrid setup.
#
# usage:
#   tests/vm.sh setup                install what is missing, fetch the kernel,
#                                    build the initramfs (idempotent, cached)
#   tests/vm.sh run SCRIPT [ARG...]  setup, boot, run SCRIPT as root in the
#                                    guest in the caller's working directory,
#                                    copy its stdout+stderr to our stdout as it
#                                    comes, power off, exit with SCRIPT's status
#
# The guest's / is the host's / shared read-only over virtio-9p under a tmpfs
# overlay, so installed packages, the source and the build tree are all there
# at the same paths, and whatever the guest writes there is thrown away.
# SCRIPT runs as br-vm-run.service (in system.slice) with stdin /dev/null and
# sees BR_TIER=v2 and BR_VM_OUT, a directory whose files reach the host.
#
# environment:
#   BR_VM_CACHE         cache (default /var/cache/benchrunner-tests/vm)
#   BR_VM_SMP, BR_VM_MEM  guest CPUs (2) and memory (2G)
#   BR_VM_TIMEOUT       limit for the whole run in seconds (900): exit 124
#   BR_VM_BOOT_TIMEOUT  limit for the guest to reach SCRIPT (300): exit 125
#   BR_VM_VERBOSE=1     also copy the guest console to stderr
#   BR_VM_KEEP=1        keep the per-run directory (console log, output)
#   BR_VM_OUTDIR=DIR    host directory to show at $BR_VM_OUT (kept); by
#                       default a directory inside the per-run directory
#   BR_VM_ENV="A B"     host variables to pass on to SCRIPT
#   BR_VM_ACCEL         auto (default), kvm or tcg. auto takes KVM where
#                       qemu can start a KVM vCPU, and boots once more
#                       under TCG, saying so in one line, when the KVM
#                       guest fails (qemu's KVM error, qemu exits, or no
#                       kernel sign within BR_VM_KVM_MARKER_TIMEOUT); the
#                       failure is remembered until the host reboots.
#                       kvm: KVM or a loud failure (exit 125); tcg: never KVM.
#                       Details under "the accelerator" below.
#   BR_VM_KVM_MARKER_TIMEOUT  seconds a KVM guest has to show the initramfs
#                       is running (10)
#   BR_VM_CPU           qemu -cpu model: host under kvm; qemu64 under tcg
#                       (SSE2 only, but faster under emulation than "max")
#   BR_VM_TEST_BREAK_KVM=1  (tests) under auto, make the KVM boot fail on any
#                       machine, to exercise the fallback
#   BR_VM_FULL_BOOT=1   boot without masking generators and optional units
#   BR_VM_APPEND        more kernel command line
# A guest that does not boot is reported in one line: the accelerator, what
# was seen, qemu's own words and the console's last line (then the console's
# tail); a qemu that exits or stops its guest is noticed at once.
# exit status: SCRIPT's; 124 timeout; 125 VM or infrastructure failure;
# 2 usage error.
set -u -o pipefail
umask 022

CACHE=${BR_VM_CACHE:-/var/cache/benchrunner-tests/vm}
SELF=$(readlink -f "${BASH_SOURCE[0]}")
PACKAGES="qemu-system-x86 busybox-static kmod dbus systemd"
# what the initramfs needs to reach the 9p root; their dependencies come along
INITRD_MODULES="virtio_pci virtio_rng 9pnet_virtio 9p overlay"
MSIZE=512000

msg() { printf 'vm.sh: %s\n' "$*" >&2; }
fail() { msg "$*"; exit 125; }

usage() {
	sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$SELF" >&2
	exit 2
}

# ---------------------------------------------------------------- setup ----

# Runs "$@" quietly; on failure shows the end of what it printed.
quietly() {
	local log rc
	log=$(mktemp) || return 1
	"$@" >"$log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || { msg "failed ($rc): $*"; tail -n 20 "$log" | sed 's/^/  /' >&2; }
	rm -f "$log"
	return $rc
}

apt_updated=
apt_update() {
	[ -n "$apt_updated" ] && return 0
	msg "apt-get update"
	quietly apt-get -q -o DPkg::Lock::Timeout=300 update && apt_updated=1
}

install_packages() {
	local p missing=()
	for p in $PACKAGES; do
		[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" = "ii " ] ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || { msg "not root, cannot install: ${missing[*]}"; return 1; }
	apt_update || return 1
	msg "apt-get install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive quietly apt-get -q -y -o DPkg::Lock::Timeout=300 \
		install --no-install-recommends "${missing[@]}"
}

# The generic flavour that linux-image-amd64 points at: the cloud flavour has
# no 9p at all.
kernel_package() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}

# Sets kver to the version of the unpacked kernel.
kernel_version() {
	kver=$(cat "$CACHE/kernel/.version" 2>/dev/null) && [ -n "$kver" ]
}

fetch_kernel() {
	local pkg tmp
	kernel_version && return 0
	pkg=$(kernel_package)
	[ -n "$pkg" ] || { apt_update && pkg=$(kernel_package); }
	[ -n "$pkg" ] || { msg "no linux-image-amd64 in the apt lists"; return 1; }
	msg "fetching $pkg"
	tmp=$(mktemp -d "$CACHE/kernel.new.XXXXXX") || return 1
	# apt's download sandbox user must be able to write there
	chown _apt "$tmp" 2>/dev/null
	if ! (cd "$tmp" && quietly apt-get -q download "$pkg") ||
		! quietly dpkg-deb -x "$tmp"/linux-image-*.deb "$tmp/root"; then
		rm -rf "$tmp"
		return 1
	fi
	kver=$(ls "$tmp/root/lib/modules")
	# the guest's modprobe (systemd loads autofs4 and friends) needs
	# modules.dep for this kernel, not the host's
	quietly depmod -b "$tmp/root" "$kver" || { rm -rf "$tmp"; return 1; }
	echo "$kver" >"$tmp/root/.version"
	rm -rf "$CACHE/kernel"
	mv "$tmp/root" "$CACHE/kernel" && rm -rf "$tmp"
}

# The bzImage carries an xz-compressed kernel that takes seconds to unpack
# under emulation on every boot. The kernel has a PVH entry point, so qemu can
# load the plain ELF directly: unpack it once here. The boot protocol header
# says where the compressed payload is (setup_sects at 0x1f1, payload_offset
# and payload_length at 0x248).
unpack_vmlinux() {
	local bz=$CACHE/kernel/boot/vmlinuz-$kver out=$CACHE/vmlinux
	local sects off len start magic dec
	rm -f "$out" "$out.tmp"
	grep -q '^CONFIG_PVH=y' "$CACHE/kernel/boot/config-$kver" || return 1
	u() { od -An -tu"$1" -j "$2" -N "$1" "$bz" | tr -d ' '; }
	sects=$(u 1 $((0x1f1))); off=$(u 4 $((0x248))); len=$(u 4 $((0x24c)))
	[ -n "$len" ] && [ "$len" -gt 0 ] || return 1
	[ "$sects" -gt 0 ] || sects=4
	start=$(( (sects + 1) * 512 + off ))
	magic=$(od -An -tx1 -j "$start" -N 6 "$bz" | tr -d ' \n')
	case $magic in
	fd377a585a00) dec="xz -dcq --single-stream" ;;
	28b52ffd*) dec="zstd -dcq" ;;
	1f8b*) dec="gzip -dcq" ;;
	*) return 1 ;;
	esac
	command -v "${dec%% *}" >/dev/null || return 1
	# the build appends the uncompressed size after the stream: ignore it
	tail -c +$((start + 1)) "$bz" | head -c "$len" | $dec >"$out.tmp" 2>/dev/null
	[ "$(od -An -tx1 -N 4 "$out.tmp" | tr -d ' \n')" = 7f454c46 ] || { rm -f "$out.tmp"; return 1; }
	mv "$out.tmp" "$out"
}

# Prints the module files (relative to lib/modules/KVER) to load for
# INITRD_MODULES, dependencies first.
module_load_order() {
	local dir=$CACHE/kernel/lib/modules/$kver
	awk -v want="$INITRD_MODULES" '
		function name(p) { sub(/.*\//, "", p); sub(/\.ko.*/, "", p); gsub(/-/, "_", p); return p }
		function visit(p,   d, n, i) {
			if (p in seen) return
			seen[p] = 1
			n = split(deps[p], d, " ")
			for (i = 1; i <= n; i++) visit(d[i])
			print p
		}
		FILENAME ~ /builtin$/ { builtin[name($1)] = 1; next }
		{ p = $1; sub(/:$/, "", p); $1 = ""; deps[p] = $0; path[name(p)] = p }
		END {
			n = split(want, w, " ")
			for (i = 1; i <= n; i++) {
				if (w[i] in path) visit(path[w[i]])
				else if (!(w[i] in builtin)) { print "no module " w[i] >"/dev/stderr"; bad = 1 }
			}
			exit bad
		}' "$dir/modules.builtin" "$dir/modules.dep"
}

# The initramfs: busybox, the modules for virtio/9p/overlay, an /init that
# builds the guest's root and hands over to systemd, and the files that init
# lays over the host's tree (our target, the runner unit, the masks).
build_initrd() {
	local d m f b
	d=$(mktemp -d "$CACHE/initrd.new.XXXXXX") || return 1
	mkdir -p "$d"/bin "$d"/dev "$d"/proc "$d"/sys "$d"/lib/br-modules "$d"/over "$d"/trim
	cp /bin/busybox "$d/bin/busybox" || return 1
	for b in $(/bin/busybox --list); do
		[ "$b" = busybox ] || ln -s busybox "$d/bin/$b"
	done
	f=$(module_load_order) || return 1
	for m in $f; do
		b=${m##*/}; b=${b%%.ko*}
		case $m in
		*.ko.xz) xz -dc "$CACHE/kernel/lib/modules/$kver/$m" ;;
		*.ko.zst) zstd -dcq "$CACHE/kernel/lib/modules/$kver/$m" ;;
		*) cat "$CACHE/kernel/lib/modules/$kver/$m" ;;
		esac >"$d/lib/br-modules/$b.ko" || return 1
		echo "$b" >>"$d/lib/br-modules/order"
	done

	cat >"$d/init" <<'EOF'
#!/bin/sh
# PID 1 of the benchrunner test VM's initramfs: root = host's / (9p, read-only)
# under a tmpfs overlay, plus our files; then systemd takes over.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# vm.sh's MARKER: the kernel is up (how a KVM boot that works is told apart)
echo "br-vm: initramfs up"
die() { echo "br-vm initramfs: $*"; poweroff -f; sleep 60; }
while read -r m; do insmod "/lib/br-modules/$m.ko" || echo "br-vm initramfs: cannot load $m"; done </lib/br-modules/order
moddir='' msize=8192 full=''
for a in $(cat /proc/cmdline); do
	case $a in
	br.moddir=*) moddir=${a#*=} ;;
	br.msize=*) msize=${a#*=} ;;
	br.full) full=1 ;;
	esac
done
p9() { mount -t 9p -o "trans=virtio,version=9p2000.L,msize=$msize,$1" "$2" "$3"; }
mkdir -p /lower /rw /root
# the host's tree does not change under a VM: let the guest cache it
p9 ro,cache=loose brroot /lower || die "cannot mount the host's / over 9p"
mount -t tmpfs -o mode=0755 tmpfs /rw || die "no tmpfs"
mkdir /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /root ||
	die "cannot mount the overlay"
# the run directory must not be cached: the host reads the output live
mkdir -p /root/br-vm
p9 cache=none brctl /root/br-vm || die "cannot mount the run directory"
p9 cache=none brout /root/br-vm/out || die "cannot mount the output directory"
# the host's /lib/modules is for the host's kernel, not this one
kver=$(uname -r)
if [ -n "$moddir" ]; then
	mkdir -p "/root/lib/modules/$kver" && mount --bind "/root$moddir" "/root/lib/modules/$kver"
fi
cp -af /over/. /root/
[ -n "$full" ] || cp -af /trim/. /root/
# with /.dockerenv present systemd believes it runs in a container and,
# among others, ignores the kernel command line (cgroup v2 included)
rm -f /root/.dockerenv /root/run/.containerenv
: >/root/etc/fstab
# no machine id means a first boot: presets for every unit, slow
[ -s /root/etc/machine-id ] || tr -d - </proc/sys/kernel/random/uuid >/root/etc/machine-id
umount /proc /sys
mount --move /dev /root/dev
exec switch_root /root /lib/systemd/systemd
EOF
	chmod 755 "$d/init"

	local sys=$d/over/etc/systemd/system
	mkdir -p "$sys" "$d/over/etc/systemd/journald.conf.d" "$d/over/etc/tmpfiles.d" \
		"$d/over/usr/libexec/br-vm"
	cat >"$sys/br-vm.target" <<'EOF'
# The only target the test VM boots: early system, D-Bus, and the runner.
[Unit]
Description=benchrunner test VM
Requires=sysinit.target dbus.socket
Wants=dbus.service br-vm-run.service
After=sysinit.target dbus.socket
AllowIsolate=yes
EOF
	cat >"$sys/br-vm-run.service" <<'EOF'
[Unit]
Description=benchrunner test VM: the script
After=sysinit.target dbus.socket dbus.service

[Service]
Type=exec
ExecStart=/usr/libexec/br-vm/run
Environment=HOME=/root TERM=dumb
StandardInput=null
StandardOutput=journal+console
StandardError=inherit
EOF
	cat >"$d/over/etc/systemd/journald.conf.d/br-vm.conf" <<'EOF'
[Journal]
Storage=volatile
ForwardToConsole=no
EOF
	# Debian's tmp.conf says "D /tmp": systemd-tmpfiles would empty the
	# host's /tmp as seen through the overlay (slow over 9p, and the build
	# tree may be there)
	echo 'd /tmp 1777 root root -' >"$d/over/etc/tmpfiles.d/tmp.conf"
	# The host's Slurm and munge (tools/test installs them for the Slurm
	# tests of the container tier) stay off in the VM: slurmd's unit has
	# Delegate=yes, and its cpuset controller keeps system.slice's cpuset
	# files after benchrunner lifts AllowedCPUs= (system-cpus.sh)
	for f in slurmd.service slurmctld.service slurmdbd.service munge.service; do
		ln -sf /dev/null "$sys/$f"
	done

	cat >"$d/over/usr/libexec/br-vm/run" <<'EOF'
#!/bin/sh
# Runs the host's script once the guest is up, then powers off at once.
# /br-vm is the host's per-run directory: env (cwd, args, variables), output,
# rc; /br-vm/out is the directory handed to the script.
cd /br-vm || exit 1
systemctl is-system-running --wait >/dev/null 2>&1
echo "$(systemctl is-system-running) $(cut -d' ' -f1 /proc/uptime)" >started
. ./env
export BR_TIER=v2 BR_VM_OUT=/br-vm/out
cd "$BR_VM_CWD" || { echo "vm.sh: cannot enter $BR_VM_CWD in the guest" >>/br-vm/output; cd /; }
unset BR_VM_CWD OLDPWD
if [ -x "$BR_VM_SCRIPT" ]; then
	"$BR_VM_SCRIPT" "$@" >>/br-vm/output 2>&1 </dev/null
else
	/bin/sh "$BR_VM_SCRIPT" "$@" >>/br-vm/output 2>&1 </dev/null
fi
echo $? >/br-vm/rc.new && mv /br-vm/rc.new /br-vm/rc
sync
systemctl poweroff --force --force
EOF
	chmod 755 "$d/over/usr/libexec/br-vm/run"

	# Masks (left out with BR_VM_FULL_BOOT=1). Generators cost about 0.3 s
	# of CPU each under emulation and produce nothing needed here (empty
	# fstab, no getty, no SysV scripts); these units only cost time in a
	# VM that lives for one script.
	mkdir -p "$d/trim/etc/systemd/system-generators" "$d/trim/etc/systemd/system"
	for f in /lib/systemd/system-generators/* /usr/lib/systemd/system-generators/*; do
		[ -e "$f" ] && ln -sf /dev/null "$d/trim/etc/systemd/system-generators/${f##*/}"
	done
	for f in systemd-timesyncd.service systemd-pstore.service systemd-firstboot.service \
		systemd-repart.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
		systemd-journal-flush.service systemd-journal-catalog-update.service \
		systemd-machine-id-commit.service systemd-update-done.service \
		systemd-pcrphase.service systemd-pcrphase-sysinit.service \
		systemd-update-utmp.service systemd-random-seed.service \
		systemd-modules-load.service kmod-static-nodes.service modprobe@.service \
		systemd-remount-fs.service systemd-sysusers.service systemd-hwdb-update.service \
		ldconfig.service sys-kernel-debug.mount sys-kernel-tracing.mount \
		sys-kernel-config.mount sys-fs-fuse-connections.mount dev-hugepages.mount; do
		ln -s /dev/null "$d/trim/etc/systemd/system/$f"
	done

	# uncompressed: unpacking gzip under emulation costs more than loading
	# the few extra megabytes
	if ! (cd "$d" && find . | /bin/busybox cpio -o -H newc 2>/dev/null) >"$CACHE/initrd.img.new"; then
		rm -rf "$d" "$CACHE/initrd.img.new"
		return 1
	fi
	rm -rf "$d"
	mv "$CACHE/initrd.img.new" "$CACHE/initrd.img"
}

setup() {
	local stamp
	[ "$(id -u)" = 0 ] || { msg "must run as root (the guest's root is the host's whole /)"; return 1; }
	install_packages || return 1
	mkdir -p "$CACHE/runs" 2>/dev/null || { msg "cannot create $CACHE (BR_VM_CACHE)"; return 1; }
	exec 8>"$CACHE/setup.lock" && flock 8 || return 1
	fetch_kernel || return 1
	kernel_version || return 1
	if [ ! -e "$CACHE/vmlinux" ] && [ ! -e "$CACHE/vmlinux.none" ]; then
		if unpack_vmlinux; then
			msg "unpacked the PVH vmlinux"
		else
			msg "no PVH vmlinux: booting the slower bzImage"
			touch "$CACHE/vmlinux.none"
		fi
	fi
	# rebuilt whenever this file changes
	stamp="$kver $(sha256sum <"$SELF" | cut -c1-16)"
	if [ "$(cat "$CACHE/initrd.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -s "$CACHE/initrd.img" ]; then
		build_initrd || { msg "cannot build the initramfs"; return 1; }
		echo "$stamp" >"$CACHE/initrd.stamp"
	fi
	exec 8>&-
	return 0
}

# ------------------------------------------------------------------ run ----

# POSIX-sh single quoting, for the env file the guest's dash reads.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# ------------------------------------------------------ the accelerator ----
#
# KVM is used when it can boot this guest; it cannot everywhere /dev/kvm
# opens. Under nested virtualization seen here, qemu starts a KVM vCPU fine,
# then the guest kernel's first cmpxchg16b ends in "KVM internal error ...
# emulation failure" (qemu keeps running with the guest paused), or, with
# other -cpu models, the guest just never prints anything. So "auto" is:
#  1. KVM if /dev/kvm is usable, qemu can create a vCPU with it (kvm_works),
#     and no KVM boot failed on this host since it last booted (the verdict
#     is cached in $CACHE/kvm-failed, keyed by boot id, qemu and kernel);
#     otherwise TCG;
#  2. a KVM guest that does not print the initramfs's marker within
#     BR_VM_KVM_MARKER_TIMEOUT seconds (10; a KVM guest prints it within a
#     second or two), or whose qemu reports a KVM error or exits first, is
#     stopped at once and the run is booted once more under TCG, with one
#     line saying so.
# BR_VM_ACCEL=kvm forces KVM: the same checks then fail the run (exit 125)
# with qemu's own words. BR_VM_ACCEL=tcg never tries KVM.

# Printed by the initramfs's /init as its first act: the kernel is up.
MARKER="br-vm: initramfs up"

# Whether qemu can start a KVM vCPU here at all (necessary, not sufficient:
# see above).
kvm_works() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	# a subshell, so that the shell's "Aborted" note goes to /dev/null too
	(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"quit"}' |
		timeout 20 qemu-system-x86_64 -nodefaults -no-user-config -display none \
			-machine q35 -accel kvm -cpu "${BR_VM_CPU:-host}" -m 64 -S -qmp stdio) >/dev/null 2>&1
}

# What a KVM boot failure is remembered by: it holds until the host reboots
# or qemu, the guest kernel or the CPU model change.
kvm_key() {
	printf '%s %s %s %s\n' "$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)" \
		"$(qemu-system-x86_64 --version 2>/dev/null | head -n 1)" "$kver" "${BR_VM_CPU:-host}"
}
kvm_failed_before() {
	[ -z "${BR_VM_TEST_BREAK_KVM:-}" ] && [ -s "$CACHE/kvm-failed" ] &&
		[ "$(head -n 1 "$CACHE/kvm-failed")" = "$(kvm_key)" ]
}
remember_kvm_failed() {  # $1 = why
	[ -n "${BR_VM_TEST_BREAK_KVM:-}" ] && return 0
	printf '%s\n%s\n' "$(kvm_key)" "$1" >"$CACHE/kvm-failed.new" &&
		mv "$CACHE/kvm-failed.new" "$CACHE/kvm-failed"
}

# Sets accel (kvm or tcg) and auto (1 when the choice may still fall back).
# BR_VM_TEST_BREAK_KVM=1 (tests of the fallback): take KVM whatever
# kvm_works says, and keep that guest from ever starting (-S), so that the
# first boot fails on any machine.
pick_accel() {
	auto=
	case ${BR_VM_ACCEL:-auto} in
	kvm|tcg) accel=$BR_VM_ACCEL ;;
	auto)
		auto=1
		if [ -n "${BR_VM_TEST_BREAK_KVM:-}" ]; then
			accel=kvm
		elif kvm_failed_before; then
			msg "tcg: KVM could not boot the guest on this host earlier ($(sed -n 2p "$CACHE/kvm-failed"))"
			accel=tcg
		elif kvm_works; then
			accel=kvm
		else
			accel=tcg
		fi
		;;
	*) msg "BR_VM_ACCEL must be auto, kvm or tcg"; exit 2 ;;
	esac
}

accel_args() {  # $1 = kvm or tcg
	case $1 in
	kvm) printf '%s\n' -accel kvm -cpu "${BR_VM_CPU:-host}"
	     [ -n "${BR_VM_TEST_BREAK_KVM:-}" ] && printf '%s\n' -S ;;
	tcg) printf '%s\n' -accel "tcg,thread=multi" -cpu "${BR_VM_CPU:-qemu64}" ;;
	esac
}

# ------------------------------------------------------------------ run ----

# POSIX-sh single quoting, for the env file the guest's dash reads.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

run=
qpid=
qexit=
tails=()
kept=

# Sets qexit to qemu's exit status if it ended by itself, else empty.
stop_qemu() {
	local i
	qexit=
	[ -n "$qpid" ] || return 0
	if kill -0 "$qpid" 2>/dev/null; then
		kill -TERM "$qpid" 2>/dev/null
		for i in $(seq 50); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
	else
		wait "$qpid" 2>/dev/null
		qexit=$?
	fi
	qpid=
}

stop_tails() {
	local i
	for i in "${tails[@]}"; do kill "$i" 2>/dev/null; wait "$i" 2>/dev/null; done
	tails=()
}

cleanup() {
	stop_qemu
	stop_tails
	if [ -n "$run" ] && [ -d "$run" ]; then
		if [ "${BR_VM_KEEP:-0}" = 1 ]; then
			touch "$run/kept"
			[ -n "$kept" ] || msg "run directory kept: $run"
			kept=1
		else
			rm -rf "$run"
		fi
	fi
}

# qemu's messages that are news (its note that we stopped it is not).
qemu_said() {
	grep -v -e 'terminating on signal' -e '^ *$' "$run/qemu.log" 2>/dev/null
}

# One line: why the guest did not come up, in qemu's own words and the
# console's last line. $1 = what we saw.
boot_failure() {
	local q c
	q=$(qemu_said | grep -m 1 -e 'KVM internal error' -e 'error' -e 'Error' -e 'fail')
	[ -n "$q" ] || q=$(qemu_said | grep -v -e warning -e '^  *[A-Z]' | tail -n 1)
	# KVM's report ends with the reason a few lines down
	if [[ $q == *'KVM internal error'* ]]; then
		c=$(qemu_said | grep -m 1 -i -e 'emulation failure' -e 'failure' -e 'unhandled')
		[ -z "$c" ] || q="$q ... $c"
	fi
	c=$(tr -d '\r' <"$run/console.log" 2>/dev/null | grep -v '^ *$' | tail -n 1)
	printf '%s: the guest did not boot: %s; qemu said: %s; console: %s' "$accel" "$1" \
		"${q:-nothing}" "${c:-empty}"
}

# Sends the end of the guest console (and qemu's messages) to stderr.
show_console() {
	local q
	q=$(qemu_said)
	[ -z "$q" ] || { msg "qemu said:"; printf "%s\n" "$q" | head -n 8 | sed 's/^/  /' >&2; }
	if [ -s "$run/console.log" ]; then
		msg "last lines of the guest console:"
		tail -n 40 "$run/console.log" | tr -d '\r' | sed 's/^/  /' >&2
	else
		msg "the guest console is empty (BR_VM_VERBOSE=1 shows more)"
	fi
}

# Boots the prepared run directory once under $accel and waits for it.
# Returns SCRIPT's status, 124 (timeout) or 125; sets noboot to one line
# when the guest never reached the initramfs (so another accelerator may
# do better), and t_boot, t_up to the times it took.
boot() {
	local kernel=$1 append=$2 a i t0 verdict='' state='' t_marker=''
	local -a aargs
	mapfile -t aargs < <(accel_args "$accel")
	noboot= t_boot= t_up=
	rm -f "$run/started" "$run/rc" "$run/rc.new"
	: >"$run/output"; : >"$run/console.log"; : >"$run/qemu.log"

	# pdeathsig: if this script is killed outright, qemu goes with it
	local pdeath=()
	setpriv --help 2>/dev/null | grep -q pdeathsig && pdeath=(setpriv --pdeathsig KILL)
	t0=$EPOCHREALTIME
	"${pdeath[@]}" qemu-system-x86_64 -nodefaults -no-user-config -display none \
		-monitor none -no-reboot -machine q35 "${aargs[@]}" \
		-smp "${BR_VM_SMP:-2}" -m "${BR_VM_MEM:-2G}" \
		-kernel "$kernel" -initrd "$CACHE/initrd.img" -append "$append" \
		-serial "file:$run/console.log" -device virtio-rng-pci \
		-virtfs local,path=/,mount_tag=brroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$run,mount_tag=brctl,security_model=none" \
		-virtfs "local,path=$outdir,mount_tag=brout,security_model=none" \
		</dev/null >"$run/qemu.log" 2>&1 &
	qpid=$!

	tail -n +1 -s 0.2 -f --pid="$qpid" "$run/output" 9>&- &
	tails+=($!)
	if [ "${BR_VM_VERBOSE:-0}" = 1 ]; then
		tail -n +1 -s 0.2 -f --pid="$qpid" "$run/console.log" 9>&- >&2 &
		tails+=($!)
	fi

	local timeout=${BR_VM_TIMEOUT:-900} boot_timeout=${BR_VM_BOOT_TIMEOUT:-300}
	local marker_timeout=${BR_VM_KVM_MARKER_TIMEOUT:-10}
	local start=$SECONDS
	while kill -0 "$qpid" 2>/dev/null; do
		if [ -z "$t_marker" ] && grep -qF "$MARKER" "$run/console.log"; then
			t_marker=$EPOCHREALTIME
		fi
		if [ -z "$t_up" ] && [ -s "$run/started" ]; then
			t_up=$EPOCHREALTIME
			state=$(cut -d' ' -f1 "$run/started")
		fi
		# a KVM error leaves qemu running with the guest stopped for good
		if grep -q 'KVM internal error' "$run/qemu.log"; then
			verdict=kvm-error; break
		fi
		if [ "$accel" = kvm ] && [ -z "$t_marker" ] &&
			[ $((SECONDS - start)) -ge "$marker_timeout" ]; then
			verdict=no-marker; break
		fi
		if [ -z "$t_up" ] && [ $((SECONDS - start)) -ge "$boot_timeout" ]; then
			verdict=boot-timeout; break
		fi
		if [ $((SECONDS - start)) -ge "$timeout" ]; then
			verdict=timeout; break
		fi
		sleep 0.2
	done
	[ -z "$t_marker" ] && grep -qF "$MARKER" "$run/console.log" && t_marker=$EPOCHREALTIME
	stop_qemu
	stop_tails
	if [ -z "$t_up" ] && [ -s "$run/started" ]; then
		t_up=$EPOCHREALTIME
		state=$(cut -d' ' -f1 "$run/started")
	fi
	[ -n "$t_marker" ] && t_boot=$(awk -v a="$t0" -v b="$t_marker" 'BEGIN { printf "%.1f", b - a }')
	[ -n "$t_up" ] && t_up=$(awk -v a="$t0" -v b="$t_up" 'BEGIN { printf "%.1f", b - a }')

	case $verdict in
	timeout)
		msg "timed out after ${timeout}s (BR_VM_TIMEOUT)"
		show_console
		return 124 ;;
	kvm-error)
		noboot=$(boot_failure "qemu stopped the guest")
		return 125 ;;
	no-marker)
		noboot=$(boot_failure "no sign of the kernel within ${marker_timeout}s (BR_VM_KVM_MARKER_TIMEOUT)")
		return 125 ;;
	boot-timeout)
		if [ -z "$t_marker" ]; then
			noboot=$(boot_failure "no sign of the kernel within ${boot_timeout}s (BR_VM_BOOT_TIMEOUT)")
		else
			msg "$accel: the guest did not come up within ${boot_timeout}s (BR_VM_BOOT_TIMEOUT)"
			show_console
		fi
		return 125 ;;
	esac
	if [ -s "$run/rc" ]; then
		a=$(cat "$run/rc")
		msg "$(awk -v t1="$EPOCHREALTIME" -v t0="$t0" -v s="$state" -v rc="$a" -v acc="$accel" \
			-v tb="${t_boot:-?}" -v tu="${t_up:-?}" 'BEGIN {
			printf "%s: kernel up after %s s, guest %s after %s s, script exit %s, %.1f s in all", acc, tb, s, tu, rc, t1 - t0 }')"
		return "$a"
	fi
	if [ -z "$t_marker" ]; then
		noboot=$(boot_failure "qemu exited${qexit:+ with status $qexit}")
	else
		msg "$accel: the VM stopped without the script's exit status"
		show_console
	fi
	return 125
}

run_vm() {
	local script=$1 kernel append a v rc
	shift
	pick_accel

	# one VM at a time: two at once take more than twice as long
	exec 9>"$CACHE/run.lock" || fail "cannot open $CACHE/run.lock"
	flock -n 9 || { msg "waiting for another VM run to finish"; flock 9; }
	# what a killed run left behind (kept ones are marked)
	for a in "$CACHE"/runs/run.*; do
		[ -d "$a" ] && [ ! -e "$a/kept" ] && rm -rf "$a"
	done

	run=$(mktemp -d "$CACHE/runs/run.XXXXXX") || fail "cannot create a run directory"
	outdir=${BR_VM_OUTDIR:-$run/out}
	mkdir -p "$outdir" "$run/out" || fail "cannot create $outdir"
	outdir=$(readlink -f "$outdir")

	# The script runs from where it is (its own directory may matter to it);
	# anything but a plain file (a pipe, say) is copied.
	if [ -f "$script" ]; then
		script=$(readlink -f "$script")
	else
		cat "$script" >"$run/script" || fail "cannot read $script"
		chmod 755 "$run/script"
		script=/br-vm/script
	fi
	{
		printf 'BR_VM_CWD=%s\n' "$(shq "$PWD")"
		printf 'BR_VM_SCRIPT=%s\n' "$(shq "$script")"
		for v in ${BR_VM_ENV:-}; do
			[[ $v =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || fail "BR_VM_ENV: bad name $v"
			[ -n "${!v+set}" ] && printf 'export %s=%s\n' "$v" "$(shq "${!v}")"
		done
		printf 'set --'
		for a in "$@"; do printf ' %s' "$(shq "$a")"; done
		printf '\n'
	} >"$run/env"

	kernel=$CACHE/kernel/boot/vmlinuz-$kver
	[ -s "$CACHE/vmlinux" ] && kernel=$CACHE/vmlinux
	append="console=ttyS0 panic=-1 mitigations=off cryptomgr.notests"
	append+=" systemd.unified_cgroup_hierarchy=1 systemd.unit=br-vm.target"
	append+=" br.moddir=$CACHE/kernel/lib/modules/$kver br.msize=$MSIZE"
	if [ "${BR_VM_VERBOSE:-0}" = 1 ]; then
		append+=" loglevel=6 systemd.show_status=1 SYSTEMD_COLORS=0"
	else
		append+=" quiet loglevel=3 systemd.show_status=error"
	fi
	[ "${BR_VM_FULL_BOOT:-0}" = 1 ] && append+=" br.full"
	append+=" ${BR_VM_APPEND:-}"

	boot "$kernel" "$append"
	rc=$?
	if [ -n "$noboot" ] && [ -n "$auto" ] && [ "$accel" = kvm ]; then
		msg "$noboot; retrying once under tcg"
		remember_kvm_failed "$noboot"
		accel=tcg
		boot "$kernel" "$append"
		rc=$?
	fi
	if [ -n "$noboot" ]; then
		msg "$noboot"
		show_console
	fi
	return "$rc"
}

# ----------------------------------------------------------------- main ----

case ${1:-} in
setup)
	[ $# -eq 1 ] || usage
	setup || exit 125
	;;
run)
	[ $# -ge 2 ] || usage
	shift
	[ -r "$1" ] || { msg "cannot read $1"; exit 2; }
	trap cleanup EXIT
	trap 'msg "interrupted"; exit 130' INT
	trap 'msg "terminated"; exit 143' TERM
	trap 'msg "hung up"; exit 129' HUP
	setup || exit 125
	run_vm "$@"
	exit
	;;
*)
	usage
	;;
esac
