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
#   BR_VM_ACCEL         auto (kvm if it works here, else tcg), kvm or tcg
#   BR_VM_CPU           qemu -cpu model: host under kvm; qemu64 under tcg
#                       (SSE2 only, but faster under emulation than "max")
#   BR_VM_FULL_BOOT=1   boot without masking generators and optional units
#   BR_VM_APPEND        more kernel command line
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

# Whether qemu can really start a KVM vCPU here: /dev/kvm can be present and
# open while vCPU set-up still fails (nested virtualization).
kvm_works() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	# a subshell, so that the shell's "Aborted" note goes to /dev/null too
	(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"quit"}' |
		timeout 20 qemu-system-x86_64 -nodefaults -no-user-config -display none \
			-machine q35 -accel kvm -cpu "${BR_VM_CPU:-host}" -m 64 -S -qmp stdio) >/dev/null 2>&1
}

pick_accel() {
	case ${BR_VM_ACCEL:-auto} in
	kvm) accel=(-accel kvm -cpu "${BR_VM_CPU:-host}") ;;
	tcg) accel=(-accel "tcg,thread=multi" -cpu "${BR_VM_CPU:-qemu64}") ;;
	auto) if kvm_works; then BR_VM_ACCEL=kvm; else BR_VM_ACCEL=tcg; fi; pick_accel ;;
	*) msg "BR_VM_ACCEL must be auto, kvm or tcg"; exit 2 ;;
	esac
}

run=
qpid=
tails=()
kept=

cleanup() {
	local i
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		kill -TERM "$qpid" 2>/dev/null
		for i in $(seq 50); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
	fi
	qpid=
	for i in "${tails[@]}"; do kill "$i" 2>/dev/null; done
	tails=()
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

# Sends the end of the guest console (and qemu's messages) to stderr.
show_console() {
	local q
	# qemu's own note that we stopped it is no news
	q=$(grep -v 'terminating on signal' "$run/qemu.log")
	[ -z "$q" ] || { msg "qemu said:"; printf '%s\n' "$q" | sed 's/^/  /' >&2; }
	if [ -s "$run/console.log" ]; then
		msg "last lines of the guest console:"
		tail -n 40 "$run/console.log" | tr -d '\r' | sed 's/^/  /' >&2
	else
		msg "the guest console is empty (BR_VM_VERBOSE=1 shows more)"
	fi
}

run_vm() {
	local script=$1 kernel append a v i rc t0 verdict='' t_up='' state=''
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
	local outdir=${BR_VM_OUTDIR:-$run/out}
	mkdir -p "$outdir" "$run/out" || fail "cannot create $outdir"
	outdir=$(readlink -f "$outdir")
	: >"$run/output"; : >"$run/console.log"

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

	# pdeathsig: if this script is killed outright, qemu goes with it
	local pdeath=()
	setpriv --help 2>/dev/null | grep -q pdeathsig && pdeath=(setpriv --pdeathsig KILL)
	t0=$EPOCHREALTIME
	"${pdeath[@]}" qemu-system-x86_64 -nodefaults -no-user-config -display none \
		-monitor none -no-reboot -machine q35 "${accel[@]}" \
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
	local start=$SECONDS
	while kill -0 "$qpid" 2>/dev/null; do
		if [ -z "$t_up" ] && [ -s "$run/started" ]; then
			t_up=$EPOCHREALTIME
			state=$(cut -d' ' -f1 "$run/started")
		fi
		if [ -z "$t_up" ] && [ $((SECONDS - start)) -ge "$boot_timeout" ]; then
			verdict=boot-timeout; break
		fi
		if [ $((SECONDS - start)) -ge "$timeout" ]; then
			verdict=timeout; break
		fi
		sleep 0.2
	done
	if [ -n "$verdict" ]; then
		kill -TERM "$qpid" 2>/dev/null
	fi
	wait "$qpid" 2>/dev/null
	qpid=
	for i in "${tails[@]}"; do wait "$i" 2>/dev/null; done
	tails=()

	if [ -z "$t_up" ] && [ -s "$run/started" ]; then
		state=$(cut -d' ' -f1 "$run/started")
	fi
	if [ "$verdict" = timeout ]; then
		msg "timed out after ${timeout}s (BR_VM_TIMEOUT)"
		show_console
		rc=124
	elif [ "$verdict" = boot-timeout ]; then
		msg "the guest did not come up within ${boot_timeout}s (BR_VM_BOOT_TIMEOUT)"
		show_console
		rc=125
	elif [ -s "$run/rc" ]; then
		rc=$(cat "$run/rc")
		msg "$(awk -v t0="$t0" -v tu="${t_up:-}" -v t1="$EPOCHREALTIME" -v s="$state" -v rc="$rc" -v a="$BR_VM_ACCEL" 'BEGIN {
			printf "%s: guest %s after %.1f s, script exit %s, %.1f s in all", a, s, tu - t0, rc, t1 - t0 }')"
	else
		msg "the VM stopped without the script's exit status"
		show_console
		rc=125
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
