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

# The command's parts without main.o, as an archive: the C tests of
# tests/cli/ (packing, symbols, profiles) link only the members they use.
# Host-only (addr2line, the build's own binaries): not in the test VM.
CLI_LIB := $(BUILD)/scripts/amlshim/libcli.a
CLI_TESTS := $(patsubst tests/cli/%.c,$(BUILD)/tests/cli/%,$(sort $(wildcard tests/cli/*.c)))

$(CLI_LIB): $(filter-out %/main.o,$(CLI_OBJS))
	rm -f $@ && ar rcs $@ $^

$(CLI_TESTS): $(BUILD)/tests/cli/%: tests/cli/%.c $(CLI_LIB) $(POLICY_OBJS) $(LIBAML_A) $(BUILD)/tests/lib/libtest.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE -Itests/lib -Ipolicy -Iscripts/amlshim $(DEPFLAGS) $< $(CLI_LIB) \
	  $(BUILD)/tests/lib/libtest.a $(POLICY_OBJS) $(LIBAML_A) -o $@ $(LIBS)
