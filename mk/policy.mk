# The policy parser (policy/*.c): objects linked into the shim, the amlshim
# command, the policy tests and (without resolve.o) the Slurm plugin.

POLICY_SRCS := $(sort $(wildcard policy/*.c))
POLICY_OBJS := $(POLICY_SRCS:%.c=$(BUILD)/%.o)
# The pure parser: no topology, no libaml.
PARSER_OBJS := $(filter-out $(BUILD)/policy/resolve.o,$(POLICY_OBJS))

$(BUILD)/policy/%.o: policy/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SHIM_CFLAGS) $(DEPFLAGS) -c $< -o $@
