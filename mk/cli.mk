# The amlshim command (scripts/amlshim/): it links the policy parser and
# libaml statically (never the shim) and finds the shim at
# ../lib/libamlshim.so from its own path.

CLI_SRCS := $(sort $(wildcard scripts/amlshim/*.c))
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
AMLSHIM_BIN := $(BUILD)/bin/amlshim
.PHONY: cli

cli: $(AMLSHIM_BIN)

$(BUILD)/scripts/amlshim/%.o: scripts/amlshim/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ipolicy $(DEPFLAGS) -c $< -o $@

$(AMLSHIM_BIN): $(CLI_OBJS) $(POLICY_OBJS) $(LIBAML_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(CLI_OBJS) $(POLICY_OBJS) $(LIBAML_A) $(LIBS)

# The command's parts without main.o, as an archive, for the tests that
# link them: tests/cli/*.c (packing, symbols, profiles; host only: they
# use the build's own binaries and addr2line, so not in the test VM) and
# tests/vm/cli_*.c (the fast nodes of a NUMA machine; VM only).
CLI_LIB := $(BUILD)/scripts/amlshim/libcli.a
CLI_TESTS := $(patsubst tests/cli/%.c,$(BUILD)/tests/cli/%,$(sort $(wildcard tests/cli/*.c)))
CLI_VM_TESTS := $(patsubst tests/vm/%.c,$(BUILD)/tests/vm/%,$(sort $(wildcard tests/vm/cli_*.c)))

$(CLI_LIB): $(filter-out %/main.o,$(CLI_OBJS))
	rm -f $@ && ar rcs $@ $^

$(CLI_TESTS) $(CLI_VM_TESTS): $(BUILD)/tests/%: tests/%.c $(CLI_LIB) $(POLICY_OBJS) $(LIBAML_A) $(BUILD)/tests/lib/libtest.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE -Itests/lib -Itests/vm -Ipolicy -Iscripts/amlshim $(DEPFLAGS) $< $(CLI_LIB) \
	  $(BUILD)/tests/lib/libtest.a $(POLICY_OBJS) $(LIBAML_A) -o $@ $(LIBS)
