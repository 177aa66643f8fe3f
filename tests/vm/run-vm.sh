#!/usr/bin/env bash
# The VM stage of `make check`: boots a NUMA machine with HMAT under QEMU
# (topology.sh) on one Debian kernel or several, one boot each, runs the
# test binaries inside it and prints one line per test, in run-tests.sh's
# format (vm/NAME on the 6.1 kernel, vm-6.12/NAME on 6.12), then a closing
# "N passed, N failed, N skipped" over every kernel.
#
#   run-vm.sh [BUILD_DIR] [TEST_BINARY...]
#
# BUILD_DIR defaults to build; TEST_BINARY defaults to the programs in
# BUILD_DIR/tests/{unit,tutorials,shim,vm}/ (make check-vm passes its list).
# Environment:
#   VM_KERNEL_SERIES   Debian kernels to boot, in turn: "6.1" (the default,
#                      Debian 12's), "6.12" (bookworm-security's) or "6.1 6.12"
#   VM_NODES=2|4|8     topology variant (default 4)
#   VM_ACCEL=auto|kvm|tcg   auto: KVM when /dev/kvm is usable and the CPU
#                      has VMX/SVM, falling back to TCG if KVM fails to boot
#   VM_TIMEOUT         seconds for each kernel's VM run (default 900)
#   VM_BOOT_TIMEOUT    seconds until the first test must start (default 60)
#   VM_TEST_TIMEOUT    seconds per test inside the VM (default 300)
#   VM_CPU             qemu CPU model (default: max under KVM, qemu64 under TCG)
#   VM_KERNEL          a vmlinuz to boot instead of Debian's package, with
#                      one series in VM_KERNEL_SERIES (its lines' name)
#   VM_KERNEL_ARGS     more kernel arguments (e.g. transparent_hugepage=never)
#   VM_HOST_LOG, VM_HOST_RC   output and exit status of the host tests: their
#                      counts are added to the closing summary, and a host
#                      failure makes this script fail too
#   CI=true            a VM that cannot be built or booted is a failure
#                      (otherwise the stage is skipped, with the reason)
# Logs: BUILD_DIR/vm/{console.log,results.log,qemu.log,topology.txt} for 6.1,
# BUILD_DIR/vm-6.12/ for 6.12; kernels cached in BUILD_DIR/vm/cache/SERIES.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ $# -gt 0 ] && shift
nodes=${VM_NODES:-4}
vm_timeout=${VM_TIMEOUT:-900}
test_timeout=${VM_TEST_TIMEOUT:-300}
boot_timeout=${VM_BOOT_TIMEOUT:-60}
read -r -a kernel_series <<<"${VM_KERNEL_SERIES:-6.1}"
[ ${#kernel_series[@]} -gt 0 ] || kernel_series=(6.1)
for series in "${kernel_series[@]}"; do
	case $series in
	6.1 | 6.12) ;;
	*) echo "VM_KERNEL_SERIES=$VM_KERNEL_SERIES: each of 6.1 or 6.12" >&2; exit 2 ;;
	esac
done
# VM_KERNEL is one kernel: its lines must not be named after two series.
if [ -n "${VM_KERNEL:-}" ] && [ ${#kernel_series[@]} -gt 1 ]; then
	echo "VM_KERNEL=$VM_KERNEL boots one kernel: name its series alone in VM_KERNEL_SERIES (6.1 or 6.12)" >&2
	exit 2
fi
in_ci=0
[ "${CI:-}" = true ] && in_ci=1

# shellcheck source=tests/vm/topology.sh
. "$here/topology.sh"
vm_topology "$nodes"

# The initramfs and the kernel cache serve every kernel; each kernel's logs
# go to its own directory (stage_dir), named like its lines (stage).
vm_dir=$build/vm
stage=vm stage_dir=$vm_dir
passed=0 failed=0 skipped=0
failures=()
stage_counts=()

pass() { passed=$((passed + 1)); printf 'PASS  %s\n' "$1"; }
skip() { skipped=$((skipped + 1)); printf 'SKIP  %s (%s)\n' "$1" "$2"; }
fail() {
	failed=$((failed + 1)); failures+=("$1")
	if [ -n "${2:-}" ]; then printf 'FAIL  %s (%s)\n' "$1" "$2"; else printf 'FAIL  %s\n' "$1"; fi
}
indent() { sed 's/^/      | /'; }

# Closing lines: the counts of each stage (host, then each kernel's VM), then
# the counts of everything. The last line is always "N passed, N failed, N skipped".
finish() {
	local host_rc=0 hp=0 hf=0 hs=0 line
	echo
	[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
	if [ -n "${VM_HOST_LOG:-}" ]; then
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$VM_HOST_LOG" 2>/dev/null | tail -n 1 || true)
		if [ -n "$line" ]; then
			read -r hp _ hf _ hs _ <<<"${line//,/}"
		else
			hf=1 # the host run ended without its summary
		fi
		[ -n "${VM_HOST_RC:-}" ] && host_rc=$(cat "$VM_HOST_RC" 2>/dev/null || echo 1)
		[ "$host_rc" = 0 ] || [ "$hf" -gt 0 ] || hf=1
		stage_counts=("host: $hp passed, $hf failed, $hs skipped" "${stage_counts[@]}")
	fi
	if [ ${#stage_counts[@]} -gt 1 ]; then
		(IFS=';'; printf '%s\n' "${stage_counts[*]}" | sed 's/;/; /g')
	fi
	printf '%d passed, %d failed, %d skipped\n' \
		$((hp + passed)) $((hf + failed)) $((hs + skipped))
	if [ "$failed" -eq 0 ] && [ "$hf" -eq 0 ] && [ "$host_rc" = 0 ]; then
		exit 0
	fi
	exit 1
}

# This kernel's VM cannot be had: a failure in CI, a skip elsewhere.
unavailable() {
	if [ "$in_ci" = 1 ]; then
		fail "$stage/boot" "$1"
	else
		skip "$stage" "$1; in CI this is a failure"
	fi
}

tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
	for bin in "$build"/tests/{unit,tutorials,shim,vm}/*; do
		[ -f "$bin" ] && [ -x "$bin" ] && tests+=("$bin")
	done
fi

accel=${VM_ACCEL:-auto}
if [ "$accel" = auto ]; then
	accel=tcg
	if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qE '^flags.*\b(vmx|svm)\b' /proc/cpuinfo; then
		accel=kvm
	fi
fi

# Boots the VM once with the given kernel, accelerator and CPU model; the
# guest's console goes to console.log, its reports (ttyS1) to results.log.
# A VM that has not begun its tests after VM_BOOT_TIMEOUT seconds is stopped
# (a stuck KVM, a kernel that hangs), the whole run after VM_TIMEOUT.
boot() {
	local waited=0 qemu_pid
	rm -f "$stage_dir/console.log" "$stage_dir/results.log"
	timeout -k 5 "$vm_timeout" qemu-system-x86_64 \
		-machine q35,hmat=on -accel "$2" -cpu "$3" \
		-smp "$VM_SMP" -m "${VM_MEM_MB}M" "${VM_QEMU_NUMA[@]}" \
		-kernel "$1" -initrd "$vm_dir/initramfs.cpio.gz" \
		-append "console=ttyS0 rdinit=/init panic=-1 oops=panic quiet ${VM_KERNEL_ARGS:-}" \
		-nodefaults -display none -no-reboot \
		-serial "file:$stage_dir/console.log" -serial "file:$stage_dir/results.log" \
		>"$stage_dir/qemu.log" 2>&1 &
	qemu_pid=$!
	while ! grep -q '^VMTEST-BEGIN' "$stage_dir/results.log" 2>/dev/null; do
		kill -0 "$qemu_pid" 2>/dev/null || break
		if [ "$waited" -ge $((boot_timeout * 10)) ]; then
			echo "vm: no test started after ${boot_timeout}s; stopping the VM" >>"$stage_dir/qemu.log"
			kill "$qemu_pid" 2>/dev/null || true
			break
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
	wait "$qemu_pid"
}

# The CPU model: the host's under KVM; under TCG the plain qemu64, which
# emulates faster than "max" (no AVX to emulate; tests ran 20-40% faster).
cpu_model() {
	if [ -n "${VM_CPU:-}" ]; then echo "$VM_CPU"
	elif [ "$1" = kvm ]; then echo max
	else echo qemu64
	fi
}

# One kernel's VM: fetch the kernel, boot once, one line per test.
run_kernel() {
	local kernel release accel_used=$accel qemu_rc=0 started wall results begin done_at test_secs
	local marker name status _secs rest label bin
	mkdir -p "$stage_dir"
	kernel=$("$here/fetch-kernel.sh" "$vm_dir/cache" "$series" 2>"$stage_dir/kernel.log") || {
		unavailable "no $series kernel: $(tail -n 3 "$stage_dir/kernel.log" | tr '\n' ' ')"
		return 0
	}
	release=${kernel##*/vmlinuz-}

	# For the record: the machine and the exact qemu arguments.
	{
		echo "kernel: $kernel"
		vm_topology_describe
		printf 'qemu-system-x86_64 -smp %s -m %sM' "$VM_SMP" "$VM_MEM_MB"
		printf ' %s' "${VM_QEMU_NUMA[@]}"
		echo
	} >"$stage_dir/topology.txt"

	started=$(date +%s.%N)
	boot "$kernel" "$accel_used" "$(cpu_model "$accel_used")" || qemu_rc=$?
	if [ "$accel_used" = kvm ] && [ "${VM_ACCEL:-auto}" = auto ] &&
		! grep -q '^VMTEST-BEGIN' "$stage_dir/results.log" 2>/dev/null; then
		echo "$stage: KVM did not boot the VM; using TCG"
		accel_used=tcg qemu_rc=0
		boot "$kernel" "$accel_used" "$(cpu_model "$accel_used")" || qemu_rc=$?
	fi
	wall=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

	results=$(tr -d '\r' <"$stage_dir/results.log" 2>/dev/null || true)
	begin=$(sed -n 's/^VMTEST-BEGIN \([0-9.]*\).*/\1/p' <<<"$results" | head -n 1)
	done_at=$(sed -n 's/^VMTEST-DONE \([0-9.]*\).*/\1/p' <<<"$results" | head -n 1)

	test_secs='?'
	[ -n "$begin" ] && [ -n "$done_at" ] &&
		test_secs=$(awk -v a="$begin" -v b="$done_at" 'BEGIN { printf "%.1f", b - a }')
	echo "$stage: Linux $release, $nodes NUMA nodes, ${VM_SMP%%,*} CPUs ($(cpu_model "$accel_used")), ${VM_MEM_MB} MiB, $accel_used;" \
		"booted in ${begin:-?} s, tests ran $test_secs s, ${wall} s in all (logs in $stage_dir)"

	if [ -z "$begin" ]; then
		fail "$stage/boot" "the VM did not start its tests; qemu exit $qemu_rc"
		{ tail -n 5 "$stage_dir/qemu.log"; tail -n 25 "$stage_dir/console.log"; } 2>/dev/null | tr -d '\r' | indent
		return 0
	fi
	pass "$stage/boot"

	# One line per test that reported; a skip for want of NUMA nodes is a
	# failure here, where there are several.
	local -A reported=()
	while read -r marker name status _secs rest; do
		[ "$marker" = VMTEST ] || continue
		label=$stage/${name#vm/}
		reported[$name]=1
		case $status in
		PASS) pass "$label" ;;
		SKIP)
			if grep -qi 'node' <<<"$rest"; then
				fail "$label" "skipped in the $nodes-node VM: $rest"
			else
				skip "$label" "$rest"
			fi ;;
		*) fail "$label" "$rest" ;;
		esac
		if [ "$status" != PASS ] && { [ "$status" != SKIP ] || grep -qi 'node' <<<"$rest"; }; then
			{
				grep -F "VMLOG $name ! " <<<"$results" | sed 's/^VMLOG [^!]*! //'
				grep -F "VMLOG $name | " <<<"$results" | sed 's/^VMLOG [^|]*| //' | tail -n 15
			} | indent || true
		fi
	done <<<"$results"

	for bin in "${tests[@]}"; do
		name=${bin#"$build"/tests/}
		[ -n "${reported[$name]:-}" ] || fail "$stage/${name#vm/}" "no result: the VM stopped first"
	done
	if [ -z "$done_at" ]; then
		fail "$stage/run" "the VM stopped before its last test (timeout ${vm_timeout}s, crash or panic); qemu exit $qemu_rc"
		tail -n 25 "$stage_dir/console.log" 2>/dev/null | tr -d '\r' | indent
	fi
}

mkdir -p "$vm_dir"
missing=
for tool in qemu-system-x86_64 busybox cpio gzip timeout; do
	command -v "$tool" >/dev/null || { missing="$tool not found: run 'make deps'"; break; }
done

# The environment of the tests inside the VM; the initramfs, built once.
if [ -z "$missing" ]; then
	{
		printf "CI='%s'\n" "${CI:-}"
		printf "VM_TEST_TIMEOUT='%s'\n" "$test_timeout"
		for assignment in "${VM_ENV[@]}"; do
			printf "%s='%s'\n" "${assignment%%=*}" "${assignment#*=}"
		done
	} >"$vm_dir/vmtest.env"
	"$here/make-initramfs.sh" "$build" "$vm_dir/initramfs.cpio.gz" "$vm_dir/vmtest.env" "${tests[@]}" \
		>"$vm_dir/initramfs.log" 2>&1 ||
		missing="initramfs: $(tail -n 3 "$vm_dir/initramfs.log" | tr '\n' ' ')"
fi

# Each kernel in turn: lines vm/NAME for Debian 12's 6.1, vm-SERIES/NAME for others.
for series in "${kernel_series[@]}"; do
	if [ "$series" = 6.1 ]; then
		stage=vm stage_dir=$vm_dir
	else
		stage=vm-$series stage_dir=$build/vm-$series
	fi
	stage_passed=$passed stage_failed=$failed stage_skipped=$skipped
	if [ -n "$missing" ]; then
		unavailable "$missing"
	else
		run_kernel
	fi
	stage_counts+=("$stage: $((passed - stage_passed)) passed, $((failed - stage_failed)) failed, $((skipped - stage_skipped)) skipped")
done
finish
