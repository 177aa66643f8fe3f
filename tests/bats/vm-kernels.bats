#!/usr/bin/env bats
# The VM stage's handling of two kernels (tests/vm/run-vm.sh and
# fetch-kernel.sh), without booting anything: a copy of the scripts with a
# stand-in initramfs builder and a stand-in qemu that "boots" a kernel file
# by writing that file's report lines to the VM's report port. Each kernel
# is found in its series' cache, gets its own lines (vm/NAME on 6.1,
# vm-6.12/NAME on 6.12) and logs, and a failure on either fails the stage.

load helpers

setup() {
	VM=$BATS_TEST_TMPDIR/vm
	BUILD=$BATS_TEST_TMPDIR/build
	FAKE_BIN=$BATS_TEST_TMPDIR/bin
	mkdir -p "$VM" "$FAKE_BIN" "$BUILD/tests/vm" "$BUILD/vm/cache/6.1/boot" "$BUILD/vm/cache/6.12/boot"
	cp "$TESTS_ROOT"/tests/vm/{run-vm.sh,fetch-kernel.sh,topology.sh} "$VM/"
	printf '#!/bin/sh\necho "initramfs of $*" >"$2"\n' >"$VM/make-initramfs.sh"
	# qemu: the kernel file holds the report lines; the console says which kernel booted.
	cat >"$FAKE_BIN/qemu-system-x86_64" <<'EOF'
#!/bin/bash
serials=()
while [ $# -gt 0 ]; do
	case $1 in
	-kernel) kernel=$2; shift ;;
	-serial) serials+=("${2#file:}"); shift ;;
	esac
	shift
done
echo "booted $kernel" >"${serials[0]}"
echo "$kernel" >>"$FAKE_BOOTS"
cat "$kernel" >"${serials[1]}"
EOF
	for tool in busybox cpio; do printf '#!/bin/sh\nexit 0\n' >"$FAKE_BIN/$tool"; done
	chmod +x "$VM"/*.sh "$FAKE_BIN"/*
	printf '#!/bin/sh\nexit 0\n' >"$BUILD/tests/vm/probe"
	chmod +x "$BUILD/tests/vm/probe"
	K61=$BUILD/vm/cache/6.1/boot/vmlinuz-6.1.0-57-amd64
	K612=$BUILD/vm/cache/6.12/boot/vmlinuz-6.12.117+deb12-amd64
	kernel_reports "$K61" PASS
	kernel_reports "$K612" PASS
	export PATH=$FAKE_BIN:$PATH VM_ACCEL=tcg CI=true FAKE_BOOTS=$BATS_TEST_TMPDIR/boots
	unset VM_KERNEL VM_KERNEL_SERIES VM_HOST_LOG VM_HOST_RC
}

# A kernel whose VM reports the probe test with STATUS.
kernel_reports() {
	printf 'VMTEST-BEGIN 1.00\nVMTEST vm/probe %s 0.10 %s\nVMTEST-DONE 2.00\n' "$2" \
		"$([ "$2" = PASS ] || echo exit 1)" >"$1"
}

@test "vm kernels: the default boots 6.1 once, lines vm/NAME" {
	run "$VM/run-vm.sh" "$BUILD" "$BUILD/tests/vm/probe"
	assert_success
	assert_line --regexp '^vm: Linux 6\.1\.0-57-amd64, 4 NUMA nodes'
	assert_line 'PASS  vm/boot'
	assert_line 'PASS  vm/probe'
	refute_output --partial 'vm-6.12'
	assert_line --index -1 '2 passed, 0 failed, 0 skipped'
	grep -qx "booted $K61" "$BUILD/vm/console.log"
	assert_equal "$(cat "$FAKE_BOOTS")" "$K61"
}

@test "vm kernels: VM_KERNEL_SERIES='6.1 6.12' boots each once, lines and logs apart, one count" {
	VM_KERNEL_SERIES='6.1 6.12' run "$VM/run-vm.sh" "$BUILD" "$BUILD/tests/vm/probe"
	assert_success
	assert_line 'PASS  vm/probe'
	assert_line --regexp '^vm-6\.12: Linux 6\.12\.117\+deb12-amd64, 4 NUMA nodes'
	assert_line 'PASS  vm-6.12/boot'
	assert_line 'PASS  vm-6.12/probe'
	assert_line 'vm: 2 passed, 0 failed, 0 skipped; vm-6.12: 2 passed, 0 failed, 0 skipped'
	assert_line --index -1 '4 passed, 0 failed, 0 skipped'
	grep -qx "booted $K61" "$BUILD/vm/console.log"
	grep -qx "booted $K612" "$BUILD/vm-6.12/console.log"
	assert_equal "$(cat "$FAKE_BOOTS")" "$K61"$'\n'"$K612"
}

@test "vm kernels: a test failing on 6.12 alone fails the stage, named" {
	kernel_reports "$K612" FAIL
	VM_KERNEL_SERIES='6.1 6.12' run "$VM/run-vm.sh" "$BUILD" "$BUILD/tests/vm/probe"
	assert_failure
	assert_line 'PASS  vm/probe'
	assert_line 'FAIL  vm-6.12/probe (exit 1)'
	assert_line 'failed: vm-6.12/probe'
	assert_line --index -1 '3 passed, 1 failed, 0 skipped'
}

@test "vm kernels: a test failing on 6.1 alone fails the stage too" {
	kernel_reports "$K61" FAIL
	VM_KERNEL_SERIES='6.1 6.12' run "$VM/run-vm.sh" "$BUILD" "$BUILD/tests/vm/probe"
	assert_failure
	assert_line 'FAIL  vm/probe (exit 1)'
	assert_line 'PASS  vm-6.12/probe'
	assert_line 'vm: 1 passed, 1 failed, 0 skipped; vm-6.12: 2 passed, 0 failed, 0 skipped'
	assert_line --index -1 '3 passed, 1 failed, 0 skipped'
}

@test "vm kernels: a 6.12 VM that reports nothing fails in CI, the 6.1 lines stay" {
	: >"$K612"
	VM_KERNEL_SERIES='6.1 6.12' run "$VM/run-vm.sh" "$BUILD" "$BUILD/tests/vm/probe"
	assert_failure
	assert_line 'PASS  vm/probe'
	assert_line --regexp '^FAIL  vm-6\.12/boot \(the VM did not start its tests'
	assert_line --index -1 '2 passed, 1 failed, 0 skipped'
}

@test "vm kernels: make check's closing line sums the host and both kernels" {
	printf 'PASS  a\n\n5 passed, 0 failed, 2 skipped\n' >"$BATS_TEST_TMPDIR/host.log"
	echo 0 >"$BATS_TEST_TMPDIR/host.rc"
	VM_HOST_LOG=$BATS_TEST_TMPDIR/host.log VM_HOST_RC=$BATS_TEST_TMPDIR/host.rc VM_KERNEL_SERIES='6.1 6.12' \
		run "$VM/run-vm.sh" "$BUILD" "$BUILD/tests/vm/probe"
	assert_success
	assert_line 'host: 5 passed, 0 failed, 2 skipped; vm: 2 passed, 0 failed, 0 skipped; vm-6.12: 2 passed, 0 failed, 0 skipped'
	assert_line --index -1 '9 passed, 0 failed, 2 skipped'
}

@test "vm kernels: an unknown series is refused before anything runs" {
	VM_KERNEL_SERIES='6.1 5.10' run "$VM/run-vm.sh" "$BUILD" "$BUILD/tests/vm/probe"
	assert_equal "$status" 2
	assert_output 'VM_KERNEL_SERIES=6.1 5.10: each of 6.1 or 6.12'
	[ ! -e "$BUILD/vm/console.log" ]
}

@test "vm kernels: VM_KERNEL with two series is refused (one kernel, two names)" {
	VM_KERNEL=$K612 VM_KERNEL_SERIES='6.1 6.12' run "$VM/run-vm.sh" "$BUILD" "$BUILD/tests/vm/probe"
	assert_equal "$status" 2
	assert_output --partial "VM_KERNEL=$K612 boots one kernel"
	VM_KERNEL=$K612 VM_KERNEL_SERIES=6.12 run "$VM/run-vm.sh" "$BUILD" "$BUILD/tests/vm/probe"
	assert_success
	assert_line 'PASS  vm-6.12/probe'
}

@test "vm kernels: fetch-kernel.sh takes each series' newest cached kernel, by version" {
	touch "$BUILD/vm/cache/6.12/boot/vmlinuz-6.12.99+deb12-amd64" "$BUILD/vm/cache/6.1/boot/vmlinuz-6.1.0-9-amd64"
	run "$VM/fetch-kernel.sh" "$BUILD/vm/cache" 6.12
	assert_success
	assert_output "$K612"
	run "$VM/fetch-kernel.sh" "$BUILD/vm/cache"
	assert_success
	assert_output "$K61"
	run "$VM/fetch-kernel.sh" "$BUILD/vm/cache" 6.2
	assert_failure
	assert_output 'kernel series 6.2: 6.1 or 6.12'
}
