#!/bin/bash
# tests/vm-accel.sh: how tests/vm.sh picks the accelerator, on any machine.
# BR_VM_TEST_BREAK_KVM=1 makes the KVM boot fail here whether or not KVM
# works (a stopped vCPU where it does, qemu's own refusal where it does not),
# so this tests the fallback everywhere:
#  1. under BR_VM_ACCEL=auto the failed KVM boot is named in one line, the
#     run is booted once more under TCG, and the script's output and exit
#     status come through;
#  2. under BR_VM_ACCEL=kvm the same failure ends the run (exit 125) within
#     seconds, with no retry;
#  3. a qemu that exits at once (an unknown -cpu model) is reported in one
#     line with qemu's words, and nothing waits out a timeout.
# Exit 0 pass, 77 skip, 1 fail.  BR_TEST_SKIP_VM=1 skips; with
# BR_TEST_REQUIRE_SYSTEMD=1 a machine that cannot run the VM fails.
set -u
top=${abs_top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
vm=$top/tests/vm.sh
cannot() {
	if [ "${BR_TEST_REQUIRE_SYSTEMD:-0}" = 1 ]; then
		echo "FAIL: vm-accel: $* (BR_TEST_REQUIRE_SYSTEMD=1)" >&2; exit 1
	fi
	echo "SKIP: vm-accel: $*" >&2; exit 77
}
[ "${BR_TEST_SKIP_VM:-0}" = 1 ] && [ "${BR_TEST_REQUIRE_SYSTEMD:-0}" != 1 ] && cannot "BR_TEST_SKIP_VM=1"
[ "$(id -u)" = 0 ] || cannot "needs root (the VM's root is the host's whole /)"
out=$("$vm" setup 2>&1) || cannot "cannot set up the VM: $(printf '%s\n' "$out" | tail -n 1)"

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
check() {  # check WHAT CMD...
	local what=$1; shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
nonce=vm-accel-$$-$RANDOM
printf '#!/bin/sh\necho "%s $(cat /sys/fs/cgroup/cgroup.controllers >/dev/null && echo v2)"\nexit 7\n' \
	"$nonce" >"$tmp/script"
chmod 755 "$tmp/script"
unset BR_VM_ACCEL BR_VM_CPU

# 1. auto: the broken KVM boot falls back to TCG
t0=$SECONDS
BR_VM_TEST_BREAK_KVM=1 BR_VM_KVM_MARKER_TIMEOUT=5 "$vm" run "$tmp/script" >"$tmp/1.out" 2>"$tmp/1.err"
rc=$?
sed 's/^/  1> /' "$tmp/1.out" "$tmp/1.err"
check "auto: the script's exit status (7) comes through the fallback" [ $rc = 7 ]
check "auto: the script ran in a cgroup v2 guest" grep -qx "$nonce v2" "$tmp/1.out"
check "auto: one line names the failed KVM boot and the retry" \
	[ "$(grep -c '^vm.sh: kvm: the guest did not boot: .*; retrying once under tcg$' "$tmp/1.err")" = 1 ]
check "auto: the second boot ran under tcg" grep -q '^vm.sh: tcg: kernel up after' "$tmp/1.err"
echo "  auto with the fallback: $((SECONDS - t0)) s"

# 2. forced kvm: the same failure is final, and quick
t0=$SECONDS
BR_VM_ACCEL=kvm BR_VM_TEST_BREAK_KVM=1 BR_VM_KVM_MARKER_TIMEOUT=5 "$vm" run "$tmp/script" \
	>"$tmp/2.out" 2>"$tmp/2.err"
rc=$?
t=$((SECONDS - t0))
sed 's/^/  2> /' "$tmp/2.out" "$tmp/2.err"
check "kvm forced: exit 125" [ $rc = 125 ]
check "kvm forced: no retry" eval '! grep -q -e retrying -e "^vm.sh: tcg" "$tmp/2.err"'
check "kvm forced: the script did not run" eval '! grep -q "$nonce" "$tmp/2.out"'
check "kvm forced: one line says why" grep -q '^vm.sh: kvm: the guest did not boot: .*; qemu said: .*; console: ' "$tmp/2.err"
check "kvm forced: over within 30 s (took $t s)" [ $t -le 30 ]

# 3. qemu exits at once: qemu's words in one line, no waiting
t0=$SECONDS
BR_VM_ACCEL=tcg BR_VM_CPU=no-such-cpu-model "$vm" run "$tmp/script" >"$tmp/3.out" 2>"$tmp/3.err"
rc=$?
t=$((SECONDS - t0))
sed 's/^/  3> /' "$tmp/3.out" "$tmp/3.err"
check "qemu exits: exit 125" [ $rc = 125 ]
check "qemu exits: one line with qemu's words" \
	grep -q "^vm.sh: tcg: the guest did not boot: qemu exited with status [0-9]*; qemu said: .*no-such-cpu-model" "$tmp/3.err"
check "qemu exits: over within 10 s (took $t s)" [ $t -le 10 ]

[ $fails -eq 0 ] || { echo "FAIL: vm-accel: $fails check(s) failed"; exit 1; }
echo "PASS: vm-accel"
