# Hardening builds (tests/hardening/, tests/fuzz/): each part is a list of
# test programs that tests/run-tests.sh runs (HARDENING_CHECKS, all of them
# in `make check`, each part alone with its check-* target):
#  SAN_CHECKS    libaml, the policy parser, the pure parts of the shim
#                (tests/hardening/unit/) and every C test that does not
#                preload the shim, rebuilt with ASan+UBSan (gcc) under
#                $(BUILD)/tests/asan/; leaks fail. The fuzz corpus and
#                tests/fuzz/regressions/ replayed under ASan.
#  VG_CHECKS     the area, tutorial, policy and pure-shim tests (the normal
#                build) under valgrind memcheck; the shim itself cannot be
#                (valgrind replaces the malloc it would interpose).
#  FUZZ_RUNS     libFuzzer targets (clang) for the AMLSHIM_* parser and the
#                size-range table, FUZZ_SECONDS each from tests/fuzz/corpus/.
#  STRESS_TESTS  tests/hardening/*.c under the shim (stress, pressure,
#                hostile environments); HARD_BATS: tests/hardening/*.bats
#                (hostile environments, the real-program matrix).

# Read by tests/fuzz/run-fuzzer.sh (FUZZ_SEED: 1 unless set, 0 random).
export FUZZ_SECONDS FUZZ_SEED

# ---- ASan + UBSan (gcc) -----------------------------------------------------
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_CFLAGS := -std=gnu11 $(WARN) -fPIC -Iinclude -O1 -g $(SAN_FLAGS)
SAN_DIR := $(BUILD)/asan
SAN_AREA_OBJS := $(AREA_SRCS:%.c=$(SAN_DIR)/%.o)
SAN_POLICY_OBJS := $(POLICY_SRCS:%.c=$(SAN_DIR)/%.o)
SAN_TEST_LIB := $(SAN_DIR)/tests/lib/libtest.a
SAN_COMMON_OBJS := $(SAN_TEST_LIB) $(SAN_DIR)/tests/hardening/lib/sanitizer_options.o
SAN_LIBAML := $(SAN_DIR)/lib/libaml.a
SAN_LINK = $(SAN_COMMON_OBJS) $(SAN_POLICY_OBJS) $(SAN_LIBAML) $(LIBS) -lm
# Tests of the build tree itself (nm on the objects) or that replace malloc
# themselves are left out: they test the build, not memory safety.
SAN_EXCLUDED := tests/policy/parser_symbols_test.c tests/policy/no_malloc_test.c
# Tests that link a shim object besides the parser and libaml: rules of their own.
SAN_OWN_RULE := tests/unit/share_ledger.c
SAN_TEST_SRCS := $(filter-out $(SAN_EXCLUDED) $(SAN_OWN_RULE),$(sort $(wildcard tests/unit/*.c tests/tutorials/*.c tests/policy/*.c)))
SAN_TESTS := $(patsubst tests/%.c,$(BUILD)/tests/asan/%,$(SAN_TEST_SRCS)) $(BUILD)/tests/asan/unit/share_ledger
# The pure parts of the shim: tests that compile shim/ sources in.
HARD_UNIT_SRCS := $(sort $(wildcard tests/hardening/unit/*.c))
HARD_UNIT_TESTS := $(patsubst tests/hardening/unit/%.c,$(BUILD)/tests/hardening/unit/%,$(HARD_UNIT_SRCS))
HARD_UNIT_FLAGS := -Itests/lib -Ipolicy -Ishim -Iareas -Itests/hardening/unit
SAN_HARD_UNIT_TESTS := $(patsubst tests/hardening/unit/%.c,$(BUILD)/tests/asan/hardening/unit/%,$(HARD_UNIT_SRCS))

$(SAN_DIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS) $(CUDA_CFLAGS) $(DEPFLAGS) -c $< -o $@
$(SAN_DIR)/policy/%.o: policy/%.c
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS) $(SHIM_CFLAGS) $(DEPFLAGS) -c $< -o $@
$(SAN_TEST_LIB): $(TEST_LIB_SRCS:%.c=$(SAN_DIR)/%.o)
	rm -f $@ && ar rcs $@ $^
$(SAN_LIBAML): $(SAN_AREA_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $(SAN_AREA_OBJS)

# The +share ledger's unit test with the shim's ledger, both under ASan.
$(BUILD)/tests/asan/unit/share_ledger: tests/unit/share_ledger.c $(SAN_DIR)/shim/ledger.o $(SAN_COMMON_OBJS) $(SAN_POLICY_OBJS) $(SAN_LIBAML)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS) -D_GNU_SOURCE -Itests/lib $(DEPFLAGS) $< $(SAN_DIR)/shim/ledger.o -o $@ $(SAN_LINK)
$(SAN_DIR)/shim/ledger.o: shim/ledger.c
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS) $(SHIM_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(filter-out $(BUILD)/tests/asan/unit/share_ledger,$(SAN_TESTS)): $(BUILD)/tests/asan/%: tests/%.c $(SAN_COMMON_OBJS) $(SAN_POLICY_OBJS) $(SAN_LIBAML)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS) -D_GNU_SOURCE $(CUDA_CFLAGS) -Itests/lib -Ipolicy $(DEPFLAGS) $< -o $@ $(SAN_LINK)

$(HARD_UNIT_TESTS): $(BUILD)/tests/hardening/unit/%: tests/hardening/unit/%.c $(TEST_LIB) $(POLICY_OBJS) $(LIBAML_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARD_UNIT_FLAGS) $(DEPFLAGS) $< -o $@ $(TEST_LIB) $(POLICY_OBJS) $(LIBAML_A) $(LIBS) -lm
$(SAN_HARD_UNIT_TESTS): $(BUILD)/tests/asan/hardening/unit/%: tests/hardening/unit/%.c $(SAN_COMMON_OBJS) $(SAN_POLICY_OBJS) $(SAN_LIBAML)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS) $(HARD_UNIT_FLAGS) $(DEPFLAGS) $< -o $@ $(SAN_LINK)

# ---- Fuzzing ----------------------------------------------------------------
# One .c per target with LLVMFuzzerTestOneInput; replayed (corpus +
# regressions) under ASan by a gcc build with tests/fuzz/replay.c.
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_RUNS := $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz/%)
SAN_FUZZ_REPLAYS := $(FUZZ_TARGETS:%=$(BUILD)/tests/asan/fuzz/replay_%)
FUZZ_REPLAY_FLAGS := -D_GNU_SOURCE -Ipolicy -Itests/lib -Itests/fuzz
# libFuzzer: clang's runtime (libclang-rt-14-dev); the pure parser (no
# topology: what runs inside malloc at start-up) is compiled in with the
# fuzzer's coverage instrumentation.
FUZZ_FLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Iinclude -Ipolicy -Itests/lib -Itests/fuzz
FUZZ_PARSER_OBJS := $(patsubst %.c,$(BUILD)/fuzz/%.o,$(filter-out $(POLICY_RESOLVE_SRCS),$(POLICY_SRCS)))
# Without clang (outside CI) the runs skip; with CI=true they fail.
HAVE_FUZZ_CC := $(shell command -v $(FUZZ_CC) 2>/dev/null)

# The target's object, then one source (replay.c), so that -MMD sees both.
$(SAN_DIR)/tests/fuzz/fuzz_%.o: tests/fuzz/fuzz_%.c
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS) $(FUZZ_REPLAY_FLAGS) $(DEPFLAGS) -c $< -o $@
$(SAN_FUZZ_REPLAYS): $(BUILD)/tests/asan/fuzz/replay_%: tests/fuzz/replay.c $(SAN_DIR)/tests/fuzz/fuzz_%.o $(SAN_COMMON_OBJS) $(SAN_POLICY_OBJS) $(SAN_LIBAML)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS) $(FUZZ_REPLAY_FLAGS) $(DEPFLAGS) \
	  -DFUZZ_CORPUS='"$(CURDIR)/tests/fuzz/corpus/$*"' -DFUZZ_REGRESSIONS='"$(CURDIR)/tests/fuzz/regressions/$*"' \
	  $< $(SAN_DIR)/tests/fuzz/fuzz_$*.o -o $@ $(SAN_LINK)

$(BUILD)/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -D_GNU_SOURCE $(DEPFLAGS) -c $< -o $@
$(FUZZ_BINS): $(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/tests/fuzz/fuzz_%.o $(FUZZ_PARSER_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $^ -o $@
# A link named after the target to tests/fuzz/run-fuzzer.sh, which finds
# the fuzzer from the link's own name.
$(FUZZ_RUNS): $(BUILD)/tests/fuzz/%: tests/fuzz/run-fuzzer.sh | $(if $(HAVE_FUZZ_CC),$(BUILD)/fuzz/fuzz_%)
	@mkdir -p $(dir $@)
	ln -sf $(CURDIR)/$< $@

# ---- valgrind memcheck ------------------------------------------------------
# Links named like the tests they run to tests/hardening/valgrind-wrapper.sh.
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

$(VG_CHECKS): $(BUILD)/tests/valgrind/%: tests/hardening/valgrind-wrapper.sh | $(BUILD)/tests/%
	@mkdir -p $(dir $@)
	ln -sf $(CURDIR)/$< $@

# ---- Under the shim: stress, memory pressure, hostile environments ---------
STRESS_TESTS := $(patsubst tests/hardening/%.c,$(BUILD)/tests/hardening/%,$(sort $(wildcard tests/hardening/*.c)))
HARD_HELPER_DIR := $(BUILD)/tests/hardening/helpers
HARD_HELPERS := $(patsubst tests/hardening/helpers/%.c,$(HARD_HELPER_DIR)/%,$(sort $(wildcard tests/hardening/helpers/*.c))) \
                $(patsubst tests/hardening/helpers/lib/%.c,$(HARD_HELPER_DIR)/lib/%.so,$(sort $(wildcard tests/hardening/helpers/lib/*.c)))
HARD_BATS := $(sort $(wildcard tests/hardening/*.bats))

$(STRESS_TESTS): $(BUILD)/tests/hardening/%: tests/hardening/%.c $(SHIM_TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SHIM_TEST_FLAGS) -Itests/hardening $(DEPFLAGS) $< $(TEST_LIB) -o $@ $(SHIM_TEST_LIBS) -lrt
# Helper programs driven by tests/hardening/*.bats: plain ones, a static
# one, one linked against the shim (setuid: LD_PRELOAD does not reach it),
# and plugin libraries.
$(filter-out %.so %/static_alloc %/setuid_probe,$(HARD_HELPERS)): $(HARD_HELPER_DIR)/%: tests/hardening/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fno-builtin $(DEPFLAGS) $< -o $@ -ldl -lpthread $(HELPER_LDFLAGS)
# Exports helper(), which its RTLD_DEEPBIND plugin defines too, and finds
# the plugin by name through its RUNPATH.
$(HARD_HELPER_DIR)/deepbind: HELPER_LDFLAGS := -rdynamic -Wl,--enable-new-dtags -Wl,-rpath,'$$ORIGIN/lib'
$(HARD_HELPER_DIR)/static_alloc: tests/hardening/helpers/static_alloc.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -static $< -o $@
$(HARD_HELPER_DIR)/setuid_probe: tests/hardening/helpers/setuid_probe.c $(LIBAMLSHIM)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $< -o $@ -L$(BUILD)/lib -l:libamlshim.so -Wl,-rpath,$(abspath $(BUILD)/lib)
$(HARD_HELPER_DIR)/lib/%.so: tests/hardening/helpers/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -shared $< -o $@

SAN_CHECKS := $(SAN_TESTS) $(SAN_HARD_UNIT_TESTS) $(SAN_FUZZ_REPLAYS)
HARDENING_CHECKS := $(SAN_CHECKS) $(VG_CHECKS) $(FUZZ_RUNS) $(STRESS_TESTS)
.PHONY: hardening-tests asan-tests fuzz-tests
hardening-tests: asan-tests fuzz-tests $(VG_CHECKS) $(STRESS_TESTS) $(HARD_HELPERS) $(HARD_UNIT_TESTS)
asan-tests: $(SAN_CHECKS)
fuzz-tests: $(FUZZ_RUNS)
