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
