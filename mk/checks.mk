# The test runs: each check-* target builds what it needs and hands a list
# of test programs and bats files to tests/run-tests.sh, which prints one
# line per test and "N passed, N failed, N skipped". `make check` (in the
# Makefile) runs them all.

# The bats files `make check` runs: tests/bats/ (check-bats alone), the
# benchmark's quick run, the hostile environments and program matrix.
BATS_TESTS := $(sort $(wildcard tests/bats/*.bats)) scripts/bench/quick.bats $(HARD_BATS)
RUN_TESTS = AMLSHIM_TEST_BUILD=$(BUILD) TEST_LOG_DIR=$(BUILD)/test-logs tests/run-tests.sh
RUN_HARDENING = AMLSHIM_TEST_BUILD=$(BUILD) $(if $(STRESS_SECONDS),STRESS_SECONDS=$(STRESS_SECONDS)) \
                TEST_LOG_DIR=$(BUILD)/test-logs tests/run-tests.sh
.PHONY: check-unit check-vm check-asan check-valgrind check-fuzz check-stress check-bats check-slurm check-site check-layering

check-unit: tests
	tests/run-tests.sh $(C_TESTS)

check-vm: vm-tests
	@$(VM_RUN)

check-asan: asan-tests
	$(RUN_HARDENING) $(SAN_CHECKS)
check-valgrind: tests $(VG_CHECKS)
	$(RUN_HARDENING) $(VG_CHECKS)
check-fuzz: fuzz-tests
	$(RUN_HARDENING) $(FUZZ_RUNS)
check-stress: lib $(AMLSHIM_BIN) $(STRESS_TESTS) $(HARD_HELPERS)
	$(RUN_HARDENING) $(STRESS_TESTS) $(HARD_BATS)

check-bats: lib $(AMLSHIM_BIN) $(SPANK_BUILT) $(HARD_HELPERS)
	$(RUN_TESTS) $(sort $(wildcard tests/bats/*.bats))

# A one-node cluster of Debian's munge, slurmctld and slurmd.
check-slurm: lib $(SPANK_BUILT)
	$(RUN_TESTS) tests/bats/slurm.bats

check-site: lib $(AMLSHIM_BIN)
	$(RUN_TESTS) tests/bats/man.bats tests/bats/module.bats tests/bats/completion.bats tests/bats/explain-json.bats

# Layering, system calls outside the OS layer, file lengths.
check-layering:
	scripts/check-layering.py
