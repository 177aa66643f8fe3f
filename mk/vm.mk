# The test VM (tests/vm/README.md): a NUMA machine with HMAT under QEMU
# (VM_NODES=2|4|8) runs the C tests and the VM's own placement tests
# (tests/vm/*.c, built like the unit tests but only run inside the VM).
# It boots Debian's kernels of VM_KERNEL_SERIES in turn, once each:
# check-vm Debian 12's 6.1 unless told (6.12, or "6.1 6.12"), check both
# (a VM_KERNEL_SERIES on the command line wins there too).
check: VM_KERNEL_SERIES = 6.1 6.12

VM_TESTS := $(patsubst tests/vm/%.c,$(BUILD)/tests/vm/%,$(sort $(wildcard tests/vm/*.c)))
# Plain programs the VM's shim tests (tests/vm/shim_*.c) run under the shim:
# they link nothing of ours; make-initramfs.sh carries build/tests/vm/programs.
VM_PROGRAMS_BIN := $(patsubst tests/vm/programs/%.c,$(BUILD)/tests/vm/programs/%,$(sort $(wildcard tests/vm/programs/*.c)))
# The policy parser's tests check the build tree, not placement: not in the VM.
VM_RUN = VM_NODES=$(VM_NODES) VM_KERNEL_SERIES='$(VM_KERNEL_SERIES)' tests/vm/run-vm.sh $(BUILD) $(filter-out $(POLICY_TESTS) $(CLI_TESTS),$(C_TESTS)) $(VM_TESTS)
.PHONY: vm-tests

vm-tests: lib $(C_TESTS) $(VM_TESTS) $(VM_PROGRAMS_BIN) $(AMLSHIM_BIN)

$(VM_PROGRAMS_BIN): $(BUILD)/tests/vm/programs/%: tests/vm/programs/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $< -o $@ -lpthread
