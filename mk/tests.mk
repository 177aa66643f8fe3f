# The C tests: areas (tests/unit/), tutorials, the policy parser
# (tests/policy/) and the shim (tests/shim/), all in C_TESTS, which
# check, check-unit and the test VM run.

# The test library (tests/lib/): every C test links it, as a static archive
# so that the binaries stand alone in the test VM's initramfs.
TEST_LIB_SRCS := $(sort $(wildcard tests/lib/*.c))
TEST_LIB := $(BUILD)/tests/lib/libtest.a
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(sort $(wildcard tests/unit/*.c)))
TUTORIALS := $(patsubst tests/tutorials/%.c,$(BUILD)/tests/tutorials/%,$(sort $(wildcard tests/tutorials/*.c)))
POLICY_TESTS := $(patsubst tests/policy/%.c,$(BUILD)/tests/policy/%,$(sort $(wildcard tests/policy/*.c)))
# Test binaries find libaml next to them, here and inside the test VM.
TEST_LDFLAGS := -L$(BUILD)/lib -Wl,-rpath,'$$ORIGIN/../../lib'

# -fno-builtin: the shim tests' allocations in the library stay calls.
$(BUILD)/tests/lib/%.o: tests/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fno-builtin $(DEPFLAGS) -c $< -o $@
$(TEST_LIB): $(TEST_LIB_SRCS:%.c=$(BUILD)/%.o)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: tests/%.c $(TEST_LIB) $(LIBAML_SO)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE $(CUDA_CFLAGS) -Itests/lib $(DEPFLAGS) $< $(TEST_LIB) -o $@ $(TEST_LDFLAGS) -laml $(LIBS)

# Policy tests link the parser's objects directly (it is not in libaml).
$(BUILD)/tests/policy/%: tests/policy/%.c $(TEST_LIB) $(POLICY_OBJS) $(LIBAML_SO)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE -Itests/lib -Ipolicy $(DEPFLAGS) $< $(TEST_LIB) $(POLICY_OBJS) -o $@ $(TEST_LDFLAGS) -laml $(LIBS)

# The +share ledger's unit test links the shim's ledger object and the OS
# layer (libaml.a), without preloading the shim.
$(BUILD)/tests/unit/share_ledger: tests/unit/share_ledger.c $(TEST_LIB) $(BUILD)/shim/ledger.o $(LIBAML_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE -Itests/lib $(DEPFLAGS) $< $(BUILD)/shim/ledger.o $(TEST_LIB) $(LIBAML_A) -o $@ $(LIBS)

# Shim tests: plain programs that re-execute themselves under
# $(BUILD)/lib/libamlshim.so (tests/shim/shim_test.h). Helper libraries
# (tests/shim/lib/*.c) are embedded in the tests that dlopen them, so the
# binaries stand alone in the VM.
SHIM_TEST_HELPERS := $(patsubst tests/shim/lib/%.c,$(BUILD)/tests/shim/lib/%.so,$(sort $(wildcard tests/shim/lib/*.c)))
SHIM_C_TESTS := $(patsubst tests/shim/%.c,$(BUILD)/tests/shim/%,$(sort $(wildcard tests/shim/*.c)))
SHIM_CXX_TESTS := $(patsubst tests/shim/%.cc,$(BUILD)/tests/shim/%,$(sort $(wildcard tests/shim/*.cc)))
SHIM_TESTS := $(SHIM_C_TESTS) $(SHIM_CXX_TESTS)
SHIM_TEST_FLAGS := -D_GNU_SOURCE -fno-builtin -Iinclude -Itests/lib -Itests/shim \
                   -DSHIM_TEST_HELPER_DIR='"$(BUILD)/tests/shim/lib"'
SHIM_TEST_DEPS := $(TEST_LIB) $(SHIM_TEST_HELPERS)
SHIM_TEST_LIBS := -lnuma -ldl -lpthread
SHIM_CXXFLAGS := -std=gnu++17 $(WARN) $(CFLAGS)

C_TESTS := $(UNIT_TESTS) $(TUTORIALS) $(POLICY_TESTS) $(SHIM_TESTS)
C_TESTS += $(CLI_TESTS)

# Static pattern rules: they take precedence over $(BUILD)/tests/%.
$(SHIM_TEST_HELPERS): $(BUILD)/tests/shim/lib/%.so: tests/shim/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fno-builtin $(DEPFLAGS) -shared -o $@ $<

$(SHIM_C_TESTS): $(BUILD)/tests/shim/%: tests/shim/%.c $(SHIM_TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SHIM_TEST_FLAGS) $(DEPFLAGS) $< $(TEST_LIB) -o $@ $(SHIM_TEST_LIBS)

$(SHIM_CXX_TESTS): $(BUILD)/tests/shim/%: tests/shim/%.cc $(SHIM_TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CXX) $(SHIM_CXXFLAGS) $(SHIM_TEST_FLAGS) $(DEPFLAGS) $< $(TEST_LIB) -o $@ $(SHIM_TEST_LIBS)
