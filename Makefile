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

$(LIBAMLSHIM): $(SHIM_OBJS) $(POLICY_OBJS) $(LIBAML_A) $(JEMALLOC_PRIVATE) shim/exports.map
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libamlshim.so -Wl,-z,defs -Wl,--version-script=shim/exports.map \
	  -Wl,-Bsymbolic -o $@ $(SHIM_OBJS) $(POLICY_OBJS) $(JEMALLOC_PRIVATE) $(LIBAML_A) $(LIBS) -lm

$(BUILD)/areas/cuda%.o: areas/cuda%.c $(wildcard include/*.h include/aml/*/*.h areas/*.h) | $(BUILD)/areas
	$(CC) $(ALL_CFLAGS) $(CUDA_CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.c $(wildcard include/*.h include/aml/*/*.h areas/*.h policy/*.h tests/common/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/areas:
	@mkdir -p $@

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

$(BUILD)/tests/%: tests/%.c $(TEST_COMMON_OBJS) $(LIBAML_SO)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE $(CUDA_CFLAGS) -Itests/common $< $(TEST_COMMON_OBJS) -o $@ $(TEST_LDFLAGS) -laml $(LIBS)

# Policy tests link the parser's objects directly (it is not in libaml).
$(BUILD)/tests/policy/%: tests/policy/%.c $(TEST_COMMON_OBJS) $(POLICY_OBJS) $(LIBAML_SO)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE -Itests/common -Ipolicy $< $(TEST_COMMON_OBJS) $(POLICY_OBJS) -o $@ $(TEST_LDFLAGS) -laml $(LIBS)

tests: lib $(C_TESTS)

# Every test, named, with a closing "N passed, N failed, N skipped".
# Then the test VM (check-vm), whose last line sums up both stages.
check: tests vm-tests
	@mkdir -p $(BUILD)/vm
	@{ tests/run-tests.sh $(C_TESTS); echo $$? >$(BUILD)/vm/host-tests.rc; } | tee $(BUILD)/vm/host-tests.log
	@$(MAKE) --no-print-directory check-vm VM_HOST_LOG=$(BUILD)/vm/host-tests.log VM_HOST_RC=$(BUILD)/vm/host-tests.rc

check-unit: tests
	tests/run-tests.sh $(C_TESTS)

# ---- Test VM (tests/vm/README.md) ------------------------------------------
# A NUMA machine with HMAT under QEMU (VM_NODES=2|4|8, default 4) runs every
# C test above and the VM's own placement tests (tests/vm/*.c), which are
# built like the unit tests but only run inside the VM.
VM_TESTS := $(patsubst tests/vm/%.c,$(BUILD)/tests/vm/%,$(sort $(wildcard tests/vm/*.c)))
VM_NODES ?= 4
VM_HOST_LOG ?=
VM_HOST_RC ?=
.PHONY: check-vm vm-tests

$(VM_TESTS): tests/vm/vmtest.h $(wildcard include/*.h include/aml/*/*.h tests/common/*.h)

vm-tests: lib $(C_TESTS) $(VM_TESTS)

check-vm: vm-tests
	@VM_NODES=$(VM_NODES) VM_HOST_LOG=$(VM_HOST_LOG) VM_HOST_RC=$(VM_HOST_RC) \
	  tests/vm/run-vm.sh $(BUILD) $(C_TESTS) $(VM_TESTS)
# ---- end of the test VM section ---------------------------------------------

# Installs the Debian packages the build and tests need, when missing.
deps:
	scripts/install-deps.sh

install: lib
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/aml/area $(DESTDIR)$(INCLUDEDIR)/aml/utils
	install -m 644 include/aml.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 include/aml/area/*.h $(DESTDIR)$(INCLUDEDIR)/aml/area/
	install -m 644 include/aml/utils/*.h $(DESTDIR)$(INCLUDEDIR)/aml/utils/
	install -m 755 $(LIBAML_SO).0 $(DESTDIR)$(LIBDIR)/
	ln -sf libaml.so.0 $(DESTDIR)$(LIBDIR)/libaml.so
	install -m 644 $(LIBAML_A) $(DESTDIR)$(LIBDIR)/
	$(call write_pc,$(DESTDIR)$(LIBDIR)/pkgconfig/aml.pc)

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/aml.h $(DESTDIR)$(LIBDIR)/libaml.so* $(DESTDIR)$(LIBDIR)/libaml.a \
	  $(DESTDIR)$(LIBDIR)/pkgconfig/aml.pc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/aml

clean:
	rm -rf $(BUILD)
