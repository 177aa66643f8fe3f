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
	@{ AMLSHIM_TEST_BUILD=$(BUILD) tests/run-tests.sh $(C_TESTS) $(BATS_TESTS); echo $$? >$(BUILD)/vm/host-tests.rc; } | tee $(BUILD)/vm/host-tests.log
	@VM_HOST_LOG=$(BUILD)/vm/host-tests.log VM_HOST_RC=$(BUILD)/vm/host-tests.rc $(VM_RUN)

check-unit: tests
	tests/run-tests.sh $(C_TESTS)

# ---- Shim tests (tests/shim/) -----------------------------------------------
# Plain programs that re-execute themselves under $(BUILD)/lib/libamlshim.so
# (tests/shim/shim_test.h); they join C_TESTS, so check, check-unit and the
# test VM run them. Helper libraries (tests/shim/lib/*.c) are embedded in
# the tests that dlopen them, so the binaries stand alone in the VM.
SHIM_TEST_HELPERS := $(patsubst tests/shim/lib/%.c,$(BUILD)/tests/shim/lib/%.so,$(sort $(wildcard tests/shim/lib/*.c)))
SHIM_TESTS := $(patsubst tests/shim/%.c,$(BUILD)/tests/shim/%,$(sort $(wildcard tests/shim/*.c))) \
              $(patsubst tests/shim/%.cc,$(BUILD)/tests/shim/%,$(sort $(wildcard tests/shim/*.cc)))
C_TESTS += $(SHIM_TESTS)
SHIM_TEST_FLAGS := -D_GNU_SOURCE -fno-builtin -Iinclude -Itests/common -Itests/shim \
                   -DSHIM_TEST_HELPER_DIR='"$(BUILD)/tests/shim/lib"'
SHIM_TEST_DEPS := tests/shim/shim_test.h include/amlshim.h $(TEST_COMMON_OBJS) $(SHIM_TEST_HELPERS)
SHIM_TEST_LIBS := -lnuma -ldl -lpthread
SHIM_CXXFLAGS := -std=gnu++17 $(WARN) $(CFLAGS)

tests: $(SHIM_TESTS)

$(BUILD)/tests/shim/lib/%.so: tests/shim/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fno-builtin -shared -o $@ $<

$(BUILD)/tests/shim/%: tests/shim/%.c $(SHIM_TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SHIM_TEST_FLAGS) $< $(TEST_COMMON_OBJS) -o $@ $(SHIM_TEST_LIBS)

$(BUILD)/tests/shim/%: tests/shim/%.cc $(SHIM_TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CXX) $(SHIM_CXXFLAGS) $(SHIM_TEST_FLAGS) $< $(TEST_COMMON_OBJS) -o $@ $(SHIM_TEST_LIBS)
# ---- end of the shim tests section ------------------------------------------

# ---- Test VM (tests/vm/README.md) ------------------------------------------
# A NUMA machine with HMAT under QEMU (VM_NODES=2|4|8, default 4) runs every
# C test above and the VM's own placement tests (tests/vm/*.c), which are
# built like the unit tests but only run inside the VM.
VM_TESTS := $(patsubst tests/vm/%.c,$(BUILD)/tests/vm/%,$(sort $(wildcard tests/vm/*.c)))
VM_NODES ?= 4
VM_RUN = VM_NODES=$(VM_NODES) tests/vm/run-vm.sh $(BUILD) $(C_TESTS) $(VM_TESTS)
.PHONY: check-vm vm-tests

$(VM_TESTS): tests/vm/vmtest.h $(wildcard include/*.h include/aml/*/*.h tests/common/*.h tests/tutorials/*.h)

vm-tests: lib $(C_TESTS) $(VM_TESTS)

check-vm: vm-tests
	@$(VM_RUN)
# ---- end of the test VM section ---------------------------------------------

# ---- amlshim command and bats tests (scripts/amlshim/, tests/bats/) ---------
# The command links the policy parser and libaml statically (it never links
# the shim) and finds the shim at ../lib/libamlshim.so from its own path.
# The bats suites run under `make check` (and alone: `make check-bats`) and
# find the built command and library through AMLSHIM_TEST_BUILD.
CLI_SRCS := $(sort $(wildcard scripts/amlshim/*.c))
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
AMLSHIM_BIN := $(BUILD)/bin/amlshim
BATS_TESTS := $(sort $(wildcard tests/bats/*.bats))
.PHONY: cli check-bats install-cli

all: $(AMLSHIM_BIN)
cli: $(AMLSHIM_BIN)
check: $(AMLSHIM_BIN)
install: install-cli

$(BUILD)/scripts/amlshim/%.o: scripts/amlshim/%.c scripts/amlshim/cli.h $(wildcard include/*.h include/aml/*/*.h policy/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ipolicy -c $< -o $@

$(AMLSHIM_BIN): $(CLI_OBJS) $(POLICY_OBJS) $(LIBAML_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(CLI_OBJS) $(POLICY_OBJS) $(LIBAML_A) $(LIBS)

check-bats: lib $(AMLSHIM_BIN)
	AMLSHIM_TEST_BUILD=$(BUILD) TEST_LOG_DIR=$(BUILD)/test-logs tests/run-tests.sh $(BATS_TESTS)

install-cli: lib $(AMLSHIM_BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)
	install -m 755 $(AMLSHIM_BIN) $(DESTDIR)$(BINDIR)/amlshim
	install -m 755 $(LIBAMLSHIM) $(DESTDIR)$(LIBDIR)/libamlshim.so
# ---- end of the amlshim command section -------------------------------------

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
