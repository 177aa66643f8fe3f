# The policy parser (policy/*.c): objects linked into the shim, the amlshim
# command, the policy tests and (without resolve.o) the Slurm plugin.

POLICY_SRCS := $(sort $(wildcard policy/*.c))
POLICY_OBJS := $(POLICY_SRCS:%.c=$(BUILD)/%.o)
# What reads the machine: a placement made an area, node set names made
# node numbers (libaml, libnuma, hwloc, sysfs).
POLICY_RESOLVE_SRCS := policy/resolve.c policy/node_sets.c policy/node_kinds.c
# The pure parser: no topology, no libaml.
PARSER_OBJS := $(filter-out $(POLICY_RESOLVE_SRCS:%.c=$(BUILD)/%.o),$(POLICY_OBJS))

$(BUILD)/policy/%.o: policy/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SHIM_CFLAGS) $(DEPFLAGS) -c $< -o $@
