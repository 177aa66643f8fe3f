# The shim, libamlshim.so: interposition (shim/), the policy parser, the
# areas (libaml.a) and Debian's jemalloc made private: its objects are
# combined, its public names (and its mmap/munmap imports) renamed, and
# nothing of it exported. Its constructor is dropped: it starts at the
# first small allocation (shim/small.c), not at load.

SHIM_SRCS := $(sort $(wildcard shim/*.c))
SHIM_OBJS := $(SHIM_SRCS:%.c=$(BUILD)/%.o)
LIBAMLSHIM := $(BUILD)/lib/libamlshim.so
JEMALLOC_PRIVATE := $(BUILD)/jemalloc/jemalloc-private.o
SHIM_CFLAGS := -fvisibility=hidden -ftls-model=initial-exec -Ipolicy -Ishim -Iareas
# No hwloc: the shim opens it at its first use, by a ranked policy (shim/hwloc_loader.c).
SHIM_LIBS := -ldl -lpthread

$(JEMALLOC_PRIVATE): shim/jemalloc-rename.txt mk/shim.mk
	@test -f "$(JEMALLOC_PIC)" || { echo "libjemalloc_pic.a not found: run 'make deps' (libjemalloc-dev)" >&2; exit 1; }
	rm -rf $(BUILD)/jemalloc && mkdir -p $(BUILD)/jemalloc/objs
	cd $(BUILD)/jemalloc/objs && ar x "$(JEMALLOC_PIC)" && rm -f *cpp*.o
	ld -r -o $@.tmp $(BUILD)/jemalloc/objs/*.o
	objcopy --redefine-syms=shim/jemalloc-rename.txt --remove-section=.init_array --remove-section=.rela.init_array $@.tmp $@
	rm -rf $@.tmp $(BUILD)/jemalloc/objs

$(BUILD)/shim/%.o: shim/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SHIM_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIBAMLSHIM): $(SHIM_OBJS) $(POLICY_OBJS) $(LIBAML_A) $(JEMALLOC_PRIVATE) shim/exports.map
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libamlshim.so -Wl,-z,defs -Wl,--version-script=shim/exports.map \
	  -Wl,-Bsymbolic -o $@ $(SHIM_OBJS) $(POLICY_OBJS) $(JEMALLOC_PRIVATE) $(LIBAML_A) $(SHIM_LIBS)
