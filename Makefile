# amlshim: the area library (libaml), the LD_PRELOAD shim (libamlshim), the
# amlshim command and their tests. This file holds the settings a user may
# change, includes the fragments in mk/ (one job each) and defines the
# targets that gather them. `make help` lists the targets.

# ---- Settings (make VAR=value) ----------------------------------------------
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
MODULEDIR ?= $(PREFIX)/share/modulefiles
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
BUILD ?= build
CC ?= cc
CFLAGS ?= -O2 -g
# CUDA headers are used when present (to check our declarations against
# them); the build never needs them and never links libcudart.
CUDA_HOME ?= /usr/local/cuda
JEMALLOC_PIC ?= $(shell $(CC) -print-file-name=libjemalloc_pic.a)
SLURM_INCLUDEDIR ?= /usr/include
SPANK_PLUGINDIR ?= $(LIBDIR)/slurm
SLURM_CONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc/slurm,$(PREFIX)/etc/slurm)
VM_NODES ?= 4
VM_KERNEL_SERIES ?= 6.1
FUZZ_SECONDS ?= 30
# FUZZ_SEED (unset: 1, the same inputs each check; 0: a random seed).
# STRESS_SECONDS (unset: each stress test's own default, 6 to 16 s).
SAN_CC ?= gcc
FUZZ_CC ?= clang
BENCH_RUNS ?= 5

# ---- Flags every compile shares ---------------------------------------------
VERSION := 0.1.0
WARN := -Wall -Wextra -Werror
ALL_CFLAGS := -std=gnu11 $(WARN) -fPIC -Iinclude $(CFLAGS)
# Each compile writes the headers it read to a .d file next to its output.
DEPFLAGS := -MMD -MP
LIBS := -lhwloc -lnuma -ldl -lpthread
NPROC := $(shell nproc 2>/dev/null || echo 2)

.DEFAULT_GOAL := all
.SECONDARY:

include mk/lib.mk
include mk/policy.mk
include mk/shim.mk
include mk/cli.mk
include mk/tests.mk
include mk/vm.mk
include mk/mpi.mk
include mk/hardening.mk
include mk/slurm.mk
include mk/site.mk
include mk/bench.mk
include mk/install.mk
include mk/checks.mk

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)

# ---- Targets that gather the parts ------------------------------------------
.PHONY: all lib tests check test demo deps clean help

all: lib $(AMLSHIM_BIN) $(SPANK_BUILT)
lib: $(LIBAML_SO) $(LIBAML_A) $(BUILD)/aml.pc $(LIBAMLSHIM)
tests: lib $(C_TESTS) $(HARD_UNIT_TESTS)

# Every test, named, with a closing "N passed, N failed, N skipped"; then the
# test VM (check-vm) on both kernels, whose last line sums up every stage.
CHECK_PARTS := check-layering tests vm-tests $(AMLSHIM_BIN) $(SPANK_BUILT) bench-workloads hardening-tests
HOST_TESTS = $(C_TESTS) $(HARDENING_CHECKS) $(BATS_TESTS)
check: $(CHECK_PARTS)
	@mkdir -p $(BUILD)/vm
	@{ AMLSHIM_TEST_BUILD=$(BUILD) tests/run-tests.sh $(HOST_TESTS); echo $$? >$(BUILD)/vm/host-tests.rc; } | tee $(BUILD)/vm/host-tests.log
	@VM_HOST_LOG=$(BUILD)/vm/host-tests.log VM_HOST_RC=$(BUILD)/vm/host-tests.rc $(VM_RUN)

# The README's two commands: each installs what it needs first.
test:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j$(NPROC) check

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	scripts/demo.sh $(BUILD)

# Installs the Debian packages the build and tests need, when missing.
deps:
	scripts/install-deps.sh

clean:
	rm -rf $(BUILD)

help:
	@printf '%-15s %s\n' \
	  test           'install the packages needed (deps), then run check' \
	  demo           'install the packages needed, build, run python3 under the shim' \
	  all            'build libaml, the shim, the amlshim command (and the Slurm plugin)' \
	  check          'build and run every test: C, hardening, bats, then the NUMA VM on 6.1 and 6.12' \
	  check-unit     'the C tests (areas, tutorials, policy, shim)' \
	  check-vm       'the tests inside a QEMU NUMA VM (VM_NODES=2|4|8, VM_KERNEL_SERIES=6.1|6.12)' \
	  check-asan     'C tests rebuilt with ASan+UBSan, fuzz corpus replayed' \
	  check-valgrind 'area, tutorial, policy and pure-shim tests under valgrind' \
	  check-fuzz     'libFuzzer runs of the parsers, FUZZ_SECONDS each' \
	  check-stress   'stress, pressure and hostile-environment tests under the shim' \
	  check-bats     'the bats suites of tests/bats/' \
	  check-slurm    'the Slurm plugin on a one-node cluster' \
	  check-site     'man pages, Lmod module, bash completion, --explain --json' \
	  check-layering 'layers, system calls outside the OS layer, file lengths' \
	  bench          'every workload under each allocator, BENCH_RUNS runs' \
	  bench-quick    'one tiny run of every benchmark workload (no judging)' \
	  install        'install under DESTDIR + PREFIX' \
	  uninstall      'remove what install put there' \
	  clean          'remove the build folder (BUILD)' \
	  deps           'install the Debian packages the build and tests need'
