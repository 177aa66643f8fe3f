# amlshim: the area library (libaml), the LD_PRELOAD shim (libamlshim) and
# their tests. `make`, `make check`, `make install PREFIX=... DESTDIR=...`.

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
BUILD ?= build
CC ?= cc
VERSION := 0.1.0

WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) -fPIC -Iinclude $(CFLAGS)
LIBS := -lhwloc -lnuma -ldl -lpthread

# CUDA headers are used when present (to check our declarations against
# them); the build never needs them and never links libcudart.
CUDA_HOME ?= /usr/local/cuda
ifneq ($(wildcard $(CUDA_HOME)/include/cuda_runtime_api.h),)
CUDA_CFLAGS := -DAML_HAVE_CUDA_HEADERS -isystem $(CUDA_HOME)/include
endif

AREA_SRCS := $(sort $(wildcard areas/*.c))
AREA_OBJS := $(AREA_SRCS:%.c=$(BUILD)/%.o)
LIBAML_SO := $(BUILD)/lib/libaml.so
LIBAML_A := $(BUILD)/lib/libaml.a

POLICY_SRCS := $(sort $(wildcard policy/*.c))
POLICY_OBJS := $(POLICY_SRCS:%.c=$(BUILD)/%.o)

TEST_COMMON_SRCS := $(sort $(wildcard tests/common/*.c))
TEST_COMMON_OBJS := $(TEST_COMMON_SRCS:%.c=$(BUILD)/%.o)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(sort $(wildcard tests/unit/*.c)))
TUTORIALS := $(patsubst tests/tutorials/%.c,$(BUILD)/tests/tutorials/%,$(sort $(wildcard tests/tutorials/*.c)))
POLICY_TESTS := $(patsubst tests/policy/%.c,$(BUILD)/tests/policy/%,$(sort $(wildcard tests/policy/*.c)))
C_TESTS := $(UNIT_TESTS) $(TUTORIALS) $(POLICY_TESTS)
# Test binaries find libaml next to them, here and inside the test VM.
TEST_LDFLAGS := -L$(BUILD)/lib -Wl,-rpath,'$$ORIGIN/../../lib'

# The shim: interposition (shim/), policy (policy/), areas (libaml.a), and
# Debian's jemalloc made private: its objects are combined, its public names
# (and its mmap/munmap imports) renamed, and nothing of it exported.
SHIM_SRCS := $(sort $(wildcard shim/*.c))
SHIM_OBJS := $(SHIM_SRCS:%.c=$(BUILD)/%.o)
LIBAMLSHIM := $(BUILD)/lib/libamlshim.so
JEMALLOC_PIC ?= $(shell $(CC) -print-file-name=libjemalloc_pic.a)
JEMALLOC_PRIVATE := $(BUILD)/jemalloc/jemalloc-private.o
SHIM_CFLAGS := -fvisibility=hidden -ftls-model=initial-exec -Ipolicy -Ishim
# No hwloc: the shim opens libaml.so (and so hwloc) only for ranked policies.
SHIM_LIBS := -ldl -lpthread

.SECONDARY:
.PHONY: all lib tests check check-unit install uninstall clean deps
all: lib

lib: $(LIBAML_SO) $(LIBAML_A) $(BUILD)/aml.pc $(LIBAMLSHIM)

$(JEMALLOC_PRIVATE): shim/jemalloc-rename.txt
	@test -f "$(JEMALLOC_PIC)" || { echo "libjemalloc_pic.a not found: run 'make deps' (libjemalloc-dev)" >&2; exit 1; }
	rm -rf $(BUILD)/jemalloc && mkdir -p $(BUILD)/jemalloc/objs
	cd $(BUILD)/jemalloc/objs && ar x "$(JEMALLOC_PIC)" && rm -f *cpp*.o
	ld -r -o $@.tmp $(BUILD)/jemalloc/objs/*.o
	objcopy --redefine-syms=shim/jemalloc-rename.txt $@.tmp $@
	rm -rf $@.tmp $(BUILD)/jemalloc/objs

$(BUILD)/shim/%.o: shim/%.c $(wildcard include/*.h include/aml/*/*.h policy/*.h shim/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SHIM_CFLAGS) -c $< -o $@

$(BUILD)/policy/%.o: policy/%.c $(wildcard include/*.h include/aml/*/*.h policy/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SHIM_CFLAGS) -c $< -o $@

$(LIBAMLSHIM): $(SHIM_OBJS) $(POLICY_OBJS) $(LIBAML_A) $(LIBAML_SO) $(JEMALLOC_PRIVATE) shim/exports.map
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libamlshim.so -Wl,-z,defs -Wl,--version-script=shim/exports.map \
	  -Wl,-Bsymbolic -o $@ $(SHIM_OBJS) $(POLICY_OBJS) $(JEMALLOC_PRIVATE) $(LIBAML_A) $(SHIM_LIBS)

# The CUDA files are checked against the CUDA headers when they exist.
$(BUILD)/areas/cuda.o $(BUILD)/areas/cuda_runtime.o: ALL_CFLAGS += $(CUDA_CFLAGS)

$(BUILD)/%.o: %.c $(wildcard include/*.h include/aml/*/*.h areas/*.h policy/*.h tests/common/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIBAML_SO): $(AREA_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libaml.so.0 -Wl,-z,defs -o $@.0 $(AREA_OBJS) $(LIBS)
	ln -sf libaml.so.0 $@

$(LIBAML_A): $(AREA_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $(AREA_OBJS)

# pkg-config file for the PREFIX given now (install writes its own copy).
define write_pc
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: aml' 'Description: AML-compatible memory area library (amlshim)' \
	  'Version: $(VERSION)' 'Requires.private: hwloc numa' \
	  'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -laml' \
	  'Libs.private: $(LIBS)' > $(1)
endef

$(BUILD)/aml.pc: Makefile
	@mkdir -p $(dir $@)
	$(call write_pc,$@)

$(BUILD)/tests/%: tests/%.c $(TEST_COMMON_OBJS) $(LIBAML_SO) $(wildcard tests/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE $(CUDA_CFLAGS) -Itests/common $< $(TEST_COMMON_OBJS) -o $@ $(TEST_LDFLAGS) -laml $(LIBS)

# Policy tests link the parser's objects directly (it is not in libaml).
$(BUILD)/tests/policy/%: tests/policy/%.c $(TEST_COMMON_OBJS) $(POLICY_OBJS) $(LIBAML_SO) $(wildcard tests/policy/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE -Itests/common -Ipolicy $< $(TEST_COMMON_OBJS) $(POLICY_OBJS) -o $@ $(TEST_LDFLAGS) -laml $(LIBS)

tests: lib $(C_TESTS)

# Every test, named, with a closing "N passed, N failed, N skipped".
# Then the test VM (check-vm), whose last line sums up both stages.
check: tests vm-tests
	@mkdir -p $(BUILD)/vm
	@{ AMLSHIM_TEST_BUILD=$(BUILD) tests/run-tests.sh $(C_TESTS) $(HARDENING_CHECKS) $(BATS_TESTS); echo $$? >$(BUILD)/vm/host-tests.rc; } | tee $(BUILD)/vm/host-tests.log
	@VM_HOST_LOG=$(BUILD)/vm/host-tests.log VM_HOST_RC=$(BUILD)/vm/host-tests.rc $(VM_RUN)

check-unit: tests
	tests/run-tests.sh $(C_TESTS)

# ---- Shim tests (tests/shim/) -----------------------------------------------
# Plain programs that re-execute themselves under $(BUILD)/lib/libamlshim.so
# (tests/shim/shim_test.h); they join C_TESTS, so check, check-unit and the
# test VM run them. Helper libraries (tests/shim/lib/*.c) are embedded in
# the tests that dlopen them, so the binaries stand alone in the VM.
SHIM_TEST_HELPERS := $(patsubst tests/shim/lib/%.c,$(BUILD)/tests/shim/lib/%.so,$(sort $(wildcard tests/shim/lib/*.c)))
SHIM_C_TESTS := $(patsubst tests/shim/%.c,$(BUILD)/tests/shim/%,$(sort $(wildcard tests/shim/*.c)))
SHIM_CXX_TESTS := $(patsubst tests/shim/%.cc,$(BUILD)/tests/shim/%,$(sort $(wildcard tests/shim/*.cc)))
SHIM_TESTS := $(SHIM_C_TESTS) $(SHIM_CXX_TESTS)
C_TESTS += $(SHIM_TESTS)
SHIM_TEST_FLAGS := -D_GNU_SOURCE -fno-builtin -Iinclude -Itests/common -Itests/shim \
                   -DSHIM_TEST_HELPER_DIR='"$(BUILD)/tests/shim/lib"'
SHIM_TEST_DEPS := tests/shim/shim_test.h include/amlshim.h $(TEST_COMMON_OBJS) $(SHIM_TEST_HELPERS)
SHIM_TEST_LIBS := -lnuma -ldl -lpthread
SHIM_CXXFLAGS := -std=gnu++17 $(WARN) $(CFLAGS)

tests: $(SHIM_TESTS)

# Static pattern rules: they take precedence over $(BUILD)/tests/%.
$(SHIM_TEST_HELPERS): $(BUILD)/tests/shim/lib/%.so: tests/shim/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fno-builtin -shared -o $@ $<

$(SHIM_C_TESTS): $(BUILD)/tests/shim/%: tests/shim/%.c $(SHIM_TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SHIM_TEST_FLAGS) $< $(TEST_COMMON_OBJS) -o $@ $(SHIM_TEST_LIBS)

$(SHIM_CXX_TESTS): $(BUILD)/tests/shim/%: tests/shim/%.cc $(SHIM_TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CXX) $(SHIM_CXXFLAGS) $(SHIM_TEST_FLAGS) $< $(TEST_COMMON_OBJS) -o $@ $(SHIM_TEST_LIBS)
# ---- end of the shim tests section ------------------------------------------

# ---- Test VM (tests/vm/README.md) ------------------------------------------
# A NUMA machine with HMAT under QEMU (VM_NODES=2|4|8, default 4) runs the
# C tests above and the VM's own placement tests (tests/vm/*.c), which are
# built like the unit tests but only run inside the VM.
VM_TESTS := $(patsubst tests/vm/%.c,$(BUILD)/tests/vm/%,$(sort $(wildcard tests/vm/*.c)))
VM_NODES ?= 4
# The policy parser's tests check the build tree, not placement: not in the VM.
VM_RUN = VM_NODES=$(VM_NODES) tests/vm/run-vm.sh $(BUILD) $(filter-out $(POLICY_TESTS),$(C_TESTS)) $(VM_TESTS)
.PHONY: check-vm vm-tests

$(VM_TESTS): tests/vm/vmtest.h $(wildcard include/*.h include/aml/*/*.h tests/common/*.h tests/tutorials/*.h)

vm-tests: lib $(C_TESTS) $(VM_TESTS)

# Plain programs the VM's shim tests (tests/vm/shim_*.c) run under the shim:
# they link nothing of ours; make-initramfs.sh carries build/tests/vm/programs.
VM_PROGRAMS_BIN := $(patsubst tests/vm/programs/%.c,$(BUILD)/tests/vm/programs/%,$(sort $(wildcard tests/vm/programs/*.c)))
$(VM_PROGRAMS_BIN): $(BUILD)/tests/vm/programs/%: tests/vm/programs/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ -lpthread
$(VM_TESTS): tests/vm/shim_vm.h
vm-tests: $(VM_PROGRAMS_BIN)

check-vm: vm-tests
	@$(VM_RUN)
# ---- end of the test VM section ---------------------------------------------

# ---- amlshim command and bats tests (scripts/amlshim/, tests/bats/) ---------
# The command links the policy parser and libaml statically (it never links
# the shim) and finds the shim at ../lib/libamlshim.so from its own path.
# The bats suites run under `make check` (tests/bats/ alone: `make check-bats`)
# and find the built command and library through AMLSHIM_TEST_BUILD.
CLI_SRCS := $(sort $(wildcard scripts/amlshim/*.c))
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
AMLSHIM_BIN := $(BUILD)/bin/amlshim
BATS_TESTS := $(sort $(wildcard tests/bats/*.bats))
.PHONY: cli check-bats install-cli uninstall-cli

all: $(AMLSHIM_BIN)
cli: $(AMLSHIM_BIN)
check: $(AMLSHIM_BIN)
install: install-cli
uninstall: uninstall-cli

$(BUILD)/scripts/amlshim/%.o: scripts/amlshim/%.c scripts/amlshim/cli.h $(wildcard include/*.h include/aml/*/*.h policy/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ipolicy -c $< -o $@

$(AMLSHIM_BIN): $(CLI_OBJS) $(POLICY_OBJS) $(LIBAML_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(CLI_OBJS) $(POLICY_OBJS) $(LIBAML_A) $(LIBS)

check-bats: lib $(AMLSHIM_BIN)
	AMLSHIM_TEST_BUILD=$(BUILD) TEST_LOG_DIR=$(BUILD)/test-logs tests/run-tests.sh $(sort $(wildcard tests/bats/*.bats))

install-cli: lib $(AMLSHIM_BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)
	install -m 755 $(AMLSHIM_BIN) $(DESTDIR)$(BINDIR)/amlshim
	install -m 755 $(LIBAMLSHIM) $(DESTDIR)$(LIBDIR)/libamlshim.so

uninstall-cli:
	rm -f $(DESTDIR)$(BINDIR)/amlshim $(DESTDIR)$(LIBDIR)/libamlshim.so
# ---- end of the amlshim command section -------------------------------------

# ---- Slurm SPANK plugin (slurm/) --------------------------------------------
# amlshim_spank.so: srun/sbatch --amlshim=... run each task under the shim.
# Built when Slurm's spank.h is there (Debian: libslurm-dev); the rest of the
# build does not need it. It links the pure parser objects (no topology, no
# libaml) so a bad value is refused with the shim's own words; Slurm's
# symbols come from the process that loads it (srun, sbatch, slurmstepd).
# Installed as $(SPANK_PLUGINDIR)/amlshim_spank.so with a plugstack.conf.d
# snippet in $(SLURM_CONFDIR)/plugstack.conf.d/amlshim.conf (/etc/slurm for
# PREFIX=/usr, PREFIX/etc/slurm otherwise, so a test install never
# reaches the machine's Slurm). `make check-slurm` runs tests/bats/slurm.bats
# (a one-node cluster of Debian's munge, slurmctld and slurmd).
SLURM_INCLUDEDIR ?= /usr/include
SPANK_HEADER := $(wildcard $(SLURM_INCLUDEDIR)/slurm/spank.h)
SPANK_PLUGIN := $(BUILD)/lib/slurm/amlshim_spank.so
SPANK_PLUGINDIR ?= $(LIBDIR)/slurm
SLURM_CONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc/slurm,$(PREFIX)/etc/slurm)
PARSER_OBJS := $(filter-out $(BUILD)/policy/resolve.o,$(POLICY_OBJS))
.PHONY: spank check-slurm install-spank uninstall-spank

ifneq ($(SPANK_HEADER),)
all: $(SPANK_PLUGIN)
check: $(SPANK_PLUGIN)
check-bats: $(SPANK_PLUGIN)
install: install-spank
endif
uninstall: uninstall-spank
spank: $(SPANK_PLUGIN)

$(SPANK_PLUGIN): slurm/amlshim_spank.c $(PARSER_OBJS) $(wildcard policy/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -isystem $(SLURM_INCLUDEDIR) -Ipolicy -shared \
	  -DAMLSHIM_DEFAULT_LIBRARY='"$(LIBDIR)/libamlshim.so"' -o $@ $< $(PARSER_OBJS)

check-slurm: lib $(if $(SPANK_HEADER),$(SPANK_PLUGIN))
	AMLSHIM_TEST_BUILD=$(BUILD) TEST_LOG_DIR=$(BUILD)/test-logs tests/run-tests.sh tests/bats/slurm.bats

install-spank: $(SPANK_PLUGIN)
	install -d $(DESTDIR)$(SPANK_PLUGINDIR) $(DESTDIR)$(SLURM_CONFDIR)/plugstack.conf.d
	install -m 755 $(SPANK_PLUGIN) $(DESTDIR)$(SPANK_PLUGINDIR)/amlshim_spank.so
	printf '%s\n' '# amlshim: srun/sbatch --amlshim=POLICY (see amlshim(7)). Site arguments after' \
	  '# the library: default_policy=P default_rules=R default_stats=1|json' \
	  '# default_stats_dir=DIR forbid=policy,rules,stats,stats-dir' \
	  'optional $(SPANK_PLUGINDIR)/amlshim_spank.so library=$(LIBDIR)/libamlshim.so' \
	  >$(DESTDIR)$(SLURM_CONFDIR)/plugstack.conf.d/amlshim.conf

uninstall-spank:
	rm -f $(DESTDIR)$(SPANK_PLUGINDIR)/amlshim_spank.so $(DESTDIR)$(SLURM_CONFDIR)/plugstack.conf.d/amlshim.conf
# ---- end of the Slurm plugin section ----------------------------------------

# ---- Site integration: man pages, Lmod module, bash completion (man/, dist/) ----
# `make install` puts amlshim(1), amlshim(7), aml_area(3) (libaml(3) a link
# to it) under $(MANDIR), a Lua modulefile for Lmod under $(MODULEDIR) and
# the bash completion under $(BASHCOMPDIR). Their tests (tests/bats/man.bats,
# module.bats, completion.bats) run in `make check` with the other bats
# files, and alone with `make check-site`.
MANDIR ?= $(PREFIX)/share/man
MODULEDIR ?= $(PREFIX)/share/modulefiles
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
MAN_PAGES := man/amlshim.1 man/amlshim.7 man/aml_area.3
.PHONY: install-site uninstall-site check-site

install: install-site
uninstall: uninstall-site

install-site:
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7 \
	  $(DESTDIR)$(MODULEDIR)/amlshim $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 man/amlshim.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/amlshim.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 644 man/aml_area.3 $(DESTDIR)$(MANDIR)/man3/
	ln -sf aml_area.3 $(DESTDIR)$(MANDIR)/man3/libaml.3
	install -m 644 dist/bash-completion/amlshim $(DESTDIR)$(BASHCOMPDIR)/amlshim
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
	  -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@MANDIR@|$(MANDIR)|g' \
	  dist/modulefile.lua.in >$(DESTDIR)$(MODULEDIR)/amlshim/$(VERSION).lua

uninstall-site:
	rm -f $(DESTDIR)$(MANDIR)/man1/amlshim.1 $(DESTDIR)$(MANDIR)/man7/amlshim.7 \
	  $(DESTDIR)$(MANDIR)/man3/aml_area.3 $(DESTDIR)$(MANDIR)/man3/libaml.3 \
	  $(DESTDIR)$(BASHCOMPDIR)/amlshim $(DESTDIR)$(MODULEDIR)/amlshim/$(VERSION).lua
	-rmdir $(DESTDIR)$(MODULEDIR)/amlshim 2>/dev/null

check-site: lib $(AMLSHIM_BIN)
	AMLSHIM_TEST_BUILD=$(BUILD) TEST_LOG_DIR=$(BUILD)/test-logs tests/run-tests.sh \
	  tests/bats/man.bats tests/bats/module.bats tests/bats/completion.bats tests/bats/explain-json.bats
# ---- end of the site integration section -------------------------------------

# ---- Benchmark (scripts/bench/) ---------------------------------------------
# `make bench`: every workload under glibc, jemalloc, mimalloc, tcmalloc,
# memtier and the shim (default, interleave), alternating, 5 runs each; the
# report also goes to $(BUILD)/bench/RESULTS.md. `make bench-quick`: one tiny
# run of everything (seconds, no judging); `make check` runs it as
# scripts/bench/quick.bats. The peers come from `scripts/install-deps.sh --bench`.
BENCH_DIR := $(BUILD)/bench
BENCH_PLAIN := $(patsubst scripts/bench/workloads/%.c,$(BENCH_DIR)/%,$(filter-out \
                 scripts/bench/workloads/block_interleave.c,$(sort $(wildcard scripts/bench/workloads/*.c))))
BENCH_WORKLOADS := $(BENCH_PLAIN) $(BENCH_DIR)/block_interleave
BENCH_CFLAGS := -std=gnu11 $(WARN) -O2 -g -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc \
                -fno-builtin-realloc
BENCH_RUNS ?= 5
BATS_TESTS += scripts/bench/quick.bats
.PHONY: bench bench-quick bench-workloads

bench-workloads: $(BENCH_WORKLOADS)
check: bench-workloads

$(BENCH_PLAIN): $(BENCH_DIR)/%: scripts/bench/workloads/%.c scripts/bench/workloads/bench.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lpthread

# The block-interleave workload also calls libaml's area directly.
$(BENCH_DIR)/block_interleave: scripts/bench/workloads/block_interleave.c scripts/bench/workloads/bench.h $(LIBAML_SO)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -Iinclude -o $@ $< -L$(BUILD)/lib -Wl,-rpath,'$$ORIGIN/../lib' -laml $(LIBS)

bench: lib bench-workloads
	@scripts/install-deps.sh --bench
	python3 scripts/bench/bench.py --build $(BUILD) --runs $(BENCH_RUNS) \
	  --markdown $(BENCH_DIR)/RESULTS.md --json $(BENCH_DIR)/results.json

bench-quick: lib bench-workloads
	AMLSHIM_TEST_BUILD=$(BUILD) scripts/bench/quick-check.sh
# ---- end of the benchmark section -------------------------------------------

# ---- Hardening: sanitizers, valgrind, fuzzing, stress (tests/hardening/, tests/fuzz/) ----
# Each part is a list of test programs run by tests/run-tests.sh; `make check`
# runs them all after the C tests (HARDENING_CHECKS), each part also alone:
#  check-asan      libaml, the policy parser, the pure parts of the shim
#                  (tests/hardening/unit/) and every C test that does not
#                  preload the shim, rebuilt with ASan+UBSan (gcc) under
#                  $(BUILD)/tests/asan/; leaks fail.
#  check-valgrind  the area, tutorial, policy and pure-shim tests (the normal
#                  build) under valgrind memcheck; the shim itself cannot be
#                  (valgrind replaces the malloc it would interpose).
#  check-fuzz      libFuzzer targets (clang) for the AMLSHIM_* parser and the
#                  size-range table, FUZZ_SECONDS each from tests/fuzz/corpus/;
#                  the corpus and tests/fuzz/regressions/ are also replayed
#                  under ASan by a gcc build (part of check-asan).
#  check-stress    tests/hardening/*.c under the shim (stress, pressure,
#                  hostile environments) and tests/hardening/*.bats (hostile
#                  environments, the real-program matrix).
# FUZZ_SECONDS: each fuzzer's run; STRESS_SECONDS (unset: each test's own
# default, 6 to 16 s): the load phase of each stress configuration.
FUZZ_SECONDS ?= 30
SAN_CC ?= gcc
FUZZ_CC ?= clang
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_CFLAGS := -std=gnu11 $(WARN) -fPIC -Iinclude -O1 -g $(SAN_FLAGS)
SAN_DIR := $(BUILD)/asan
SAN_AREA_OBJS := $(AREA_SRCS:%.c=$(SAN_DIR)/%.o)
SAN_POLICY_OBJS := $(POLICY_SRCS:%.c=$(SAN_DIR)/%.o)
SAN_COMMON_OBJS := $(TEST_COMMON_SRCS:%.c=$(SAN_DIR)/%.o) $(SAN_DIR)/tests/hardening/lib/sanitizer_options.o
SAN_LIBAML := $(SAN_DIR)/lib/libaml.a
# Tests of the build tree itself (nm on the objects) or that replace malloc
# themselves are left out: they test the build, not memory safety.
SAN_EXCLUDED := tests/policy/parser_symbols_test.c tests/policy/no_malloc_test.c
SAN_TEST_SRCS := $(filter-out $(SAN_EXCLUDED),$(sort $(wildcard tests/unit/*.c tests/tutorials/*.c tests/policy/*.c)))
SAN_TESTS := $(patsubst tests/%.c,$(BUILD)/tests/asan/%,$(SAN_TEST_SRCS))
# The pure parts of the shim: tests that compile shim/ sources in.
HARD_UNIT_SRCS := $(sort $(wildcard tests/hardening/unit/*.c))
HARD_UNIT_TESTS := $(patsubst tests/hardening/unit/%.c,$(BUILD)/tests/hardening/unit/%,$(HARD_UNIT_SRCS))
SAN_HARD_UNIT_TESTS := $(patsubst tests/hardening/unit/%.c,$(BUILD)/tests/asan/hardening/unit/%,$(HARD_UNIT_SRCS))
# Fuzz targets: one .c per target with LLVMFuzzerTestOneInput; replayed
# (corpus + regressions) under ASan by a gcc build with tests/fuzz/replay.c.
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_RUNS := $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz/%)
SAN_FUZZ_REPLAYS := $(FUZZ_TARGETS:%=$(BUILD)/tests/asan/fuzz/replay_%)
SAN_CHECKS := $(SAN_TESTS) $(SAN_HARD_UNIT_TESTS) $(SAN_FUZZ_REPLAYS)
# valgrind: wrappers named like the tests they run.
# no_malloc_test replaces malloc (valgrind replaces it first); area_block
# expects ENOMEM for a mapping larger than the address space, which valgrind
# answers with EINVAL (its own check, before the kernel): see
# tests/hardening/NOTES.md; the block area runs under valgrind in
# hardening/unit/area_leaks. area_block_4g only maps and touches 4 GiB (no
# heap use for memcheck to see) and takes over a minute under valgrind.
VG_EXCLUDED := tests/policy/no_malloc_test.c tests/unit/area_block.c tests/unit/area_block_4g.c
VG_TEST_SRCS := $(filter-out $(VG_EXCLUDED),$(sort $(wildcard tests/unit/*.c tests/tutorials/*.c tests/policy/*.c)))
VG_CHECKS := $(patsubst tests/%.c,$(BUILD)/tests/valgrind/%,$(VG_TEST_SRCS)) \
             $(patsubst tests/hardening/unit/%.c,$(BUILD)/tests/valgrind/hardening/unit/%,$(HARD_UNIT_SRCS))
VALGRIND_FLAGS := --error-exitcode=98 --leak-check=full --errors-for-leak-kinds=definite,indirect \
                  --show-leak-kinds=definite,indirect --track-origins=yes --quiet
# Under the shim: stress, memory pressure, hostile environments.
STRESS_TESTS := $(patsubst tests/hardening/%.c,$(BUILD)/tests/hardening/%,$(sort $(wildcard tests/hardening/*.c)))
HARD_HELPERS := $(patsubst tests/hardening/helpers/%.c,$(BUILD)/tests/hardening/helpers/%,$(sort $(wildcard tests/hardening/helpers/*.c))) \
                $(patsubst tests/hardening/helpers/lib/%.c,$(BUILD)/tests/hardening/helpers/lib/%.so,$(sort $(wildcard tests/hardening/helpers/lib/*.c)))
HARD_BATS := $(sort $(wildcard tests/hardening/*.bats))
BATS_TESTS += $(HARD_BATS)
HARDENING_CHECKS = $(SAN_CHECKS) $(VG_CHECKS) $(FUZZ_RUNS) $(STRESS_TESTS)
.PHONY: hardening-tests check-asan check-valgrind check-fuzz check-stress asan-tests fuzz-tests
RUN_HARDENING = AMLSHIM_TEST_BUILD=$(BUILD) $(if $(STRESS_SECONDS),STRESS_SECONDS=$(STRESS_SECONDS)) \
                TEST_LOG_DIR=$(BUILD)/test-logs tests/run-tests.sh

check: hardening-tests
check-bats: $(HARD_HELPERS)
tests: $(HARD_UNIT_TESTS)
hardening-tests: asan-tests fuzz-tests $(VG_CHECKS) $(STRESS_TESTS) $(HARD_HELPERS) $(HARD_UNIT_TESTS)
asan-tests: $(SAN_CHECKS)
fuzz-tests: $(FUZZ_RUNS)

check-asan: asan-tests
	$(RUN_HARDENING) $(SAN_CHECKS)
check-valgrind: tests $(VG_CHECKS)
	$(RUN_HARDENING) $(VG_CHECKS)
check-fuzz: fuzz-tests
	$(RUN_HARDENING) $(FUZZ_RUNS)
check-stress: lib $(AMLSHIM_BIN) $(STRESS_TESTS) $(HARD_HELPERS)
	$(RUN_HARDENING) $(STRESS_TESTS) $(HARD_BATS)

$(SAN_DIR)/%.o: %.c $(wildcard include/*.h include/aml/*/*.h areas/*.h policy/*.h tests/common/*.h)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS) $(CUDA_CFLAGS) -c $< -o $@
$(SAN_DIR)/policy/%.o: policy/%.c $(wildcard include/*.h policy/*.h)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS) $(SHIM_CFLAGS) -c $< -o $@
$(SAN_LIBAML): $(SAN_AREA_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $(SAN_AREA_OBJS)

SAN_LINK = $(SAN_COMMON_OBJS) $(SAN_POLICY_OBJS) $(SAN_LIBAML) $(LIBS) -lm
$(SAN_TESTS): $(BUILD)/tests/asan/%: tests/%.c $(SAN_COMMON_OBJS) $(SAN_POLICY_OBJS) $(SAN_LIBAML) $(wildcard tests/*/*.h)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS) -D_GNU_SOURCE $(CUDA_CFLAGS) -Itests/common -Ipolicy $< -o $@ $(SAN_LINK)

HARD_UNIT_FLAGS := -Itests/common -Ipolicy -Ishim -Itests/hardening/unit
HARD_UNIT_DEPS := $(wildcard shim/*.c shim/*.h policy/*.h tests/hardening/unit/*.h)
$(HARD_UNIT_TESTS): $(BUILD)/tests/hardening/unit/%: tests/hardening/unit/%.c $(TEST_COMMON_OBJS) $(POLICY_OBJS) $(LIBAML_A) $(HARD_UNIT_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARD_UNIT_FLAGS) $< -o $@ $(TEST_COMMON_OBJS) $(POLICY_OBJS) $(LIBAML_A) $(LIBS) -lm
$(SAN_HARD_UNIT_TESTS): $(BUILD)/tests/asan/hardening/unit/%: tests/hardening/unit/%.c $(SAN_COMMON_OBJS) $(SAN_POLICY_OBJS) $(SAN_LIBAML) $(HARD_UNIT_DEPS)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS) $(HARD_UNIT_FLAGS) $< -o $@ $(SAN_LINK)

$(SAN_FUZZ_REPLAYS): $(BUILD)/tests/asan/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(SAN_COMMON_OBJS) $(SAN_POLICY_OBJS) $(SAN_LIBAML)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS) -D_GNU_SOURCE -Ipolicy -Itests/common -Itests/fuzz \
	  -DFUZZ_CORPUS='"$(CURDIR)/tests/fuzz/corpus/$*"' -DFUZZ_REGRESSIONS='"$(CURDIR)/tests/fuzz/regressions/$*"' \
	  $< tests/fuzz/replay.c -o $@ $(SAN_LINK)

# libFuzzer: clang's runtime (libclang-rt-14-dev); the parser is compiled
# in with the fuzzer's coverage instrumentation.
FUZZ_FLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Iinclude -Ipolicy -Itests/fuzz
# The pure parser (no topology): what runs inside malloc at start-up.
FUZZ_PARSER_SRCS := $(filter-out policy/resolve.c,$(POLICY_SRCS))
# Without clang (outside CI) the runs skip; with CI=true they fail.
HAVE_FUZZ_CC := $(shell command -v $(FUZZ_CC) 2>/dev/null)
$(FUZZ_BINS): $(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_PARSER_SRCS) $(wildcard policy/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -D_GNU_SOURCE $< $(FUZZ_PARSER_SRCS) -o $@
$(FUZZ_RUNS): $(BUILD)/tests/fuzz/%: $(if $(HAVE_FUZZ_CC),$(BUILD)/fuzz/fuzz_%) tests/fuzz/run-fuzzer.sh
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\nexec "%s/tests/fuzz/run-fuzzer.sh" "%s" "%s" "$${FUZZ_SECONDS:-%s}"\n' \
	  "$(CURDIR)" "$(abspath $(BUILD)/fuzz/fuzz_$*)" "$*" "$(FUZZ_SECONDS)" >$@ && chmod +x $@

VG_WRAP = printf '\#!/bin/sh\n\# %s under valgrind memcheck (make check-valgrind)\ncommand -v valgrind >/dev/null || { echo "SKIP: valgrind is not installed"; [ "$$CI" = true ] && exit 1; exit 77; }\nexec valgrind $(VALGRIND_FLAGS) "%s" "$$@"\n' "$(1)" "$(abspath $(1))" >$@ && chmod +x $@
$(BUILD)/tests/valgrind/hardening/unit/%: $(BUILD)/tests/hardening/unit/%
	@mkdir -p $(dir $@)
	@$(call VG_WRAP,$<)
$(BUILD)/tests/valgrind/%: $(BUILD)/tests/%
	@mkdir -p $(dir $@)
	@$(call VG_WRAP,$<)

# Stress and hostile-environment programs: built like the shim tests.
$(STRESS_TESTS): $(BUILD)/tests/hardening/%: tests/hardening/%.c tests/hardening/hardening.h $(SHIM_TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SHIM_TEST_FLAGS) -Itests/hardening $< $(TEST_COMMON_OBJS) -o $@ $(SHIM_TEST_LIBS) -lrt
# Helper programs driven by tests/hardening/*.bats: plain ones, a static
# one, one linked against the shim (setuid: LD_PRELOAD does not reach it),
# and plugin libraries.
HARD_HELPER_DIR := $(BUILD)/tests/hardening/helpers
$(filter-out %.so %/static_alloc %/setuid_probe,$(HARD_HELPERS)): $(HARD_HELPER_DIR)/%: tests/hardening/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fno-builtin $< -o $@ -ldl -lpthread $(HELPER_LDFLAGS)
# Exports helper(), which its RTLD_DEEPBIND plugin defines too, and finds
# the plugin by name through its RUNPATH.
$(HARD_HELPER_DIR)/deepbind: HELPER_LDFLAGS := -rdynamic -Wl,--enable-new-dtags -Wl,-rpath,'$$ORIGIN/lib'
$(HARD_HELPER_DIR)/static_alloc: tests/hardening/helpers/static_alloc.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -static $< -o $@
$(HARD_HELPER_DIR)/setuid_probe: tests/hardening/helpers/setuid_probe.c $(LIBAMLSHIM)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ -L$(BUILD)/lib -l:libamlshim.so -Wl,-rpath,$(abspath $(BUILD)/lib)
$(HARD_HELPER_DIR)/lib/%.so: tests/hardening/helpers/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared $< -o $@
# ---- end of the hardening section -------------------------------------------

# Installs the Debian packages the build and tests need, when missing.
deps:
	scripts/install-deps.sh

NPROC := $(shell nproc 2>/dev/null || echo 2)

# The README's two commands: each installs what it needs first.
.PHONY: test demo
test:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j$(NPROC) check

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	scripts/demo.sh $(BUILD)

install: lib
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/aml/area $(DESTDIR)$(INCLUDEDIR)/aml/utils
	install -m 644 include/aml.h include/amlshim.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 include/aml/area/*.h $(DESTDIR)$(INCLUDEDIR)/aml/area/
	install -m 644 include/aml/utils/*.h $(DESTDIR)$(INCLUDEDIR)/aml/utils/
	install -m 755 $(LIBAML_SO).0 $(DESTDIR)$(LIBDIR)/
	ln -sf libaml.so.0 $(DESTDIR)$(LIBDIR)/libaml.so
	install -m 644 $(LIBAML_A) $(DESTDIR)$(LIBDIR)/
	$(call write_pc,$(DESTDIR)$(LIBDIR)/pkgconfig/aml.pc)

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/aml.h $(DESTDIR)$(INCLUDEDIR)/amlshim.h $(DESTDIR)$(LIBDIR)/libaml.so* $(DESTDIR)$(LIBDIR)/libaml.a \
	  $(DESTDIR)$(LIBDIR)/pkgconfig/aml.pc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/aml

clean:
	rm -rf $(BUILD)
