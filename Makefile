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

.SECONDARY:
.PHONY: all lib tests check check-unit install uninstall clean deps
all: lib

lib: $(LIBAML_SO) $(LIBAML_A) $(BUILD)/aml.pc

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
check: tests
	tests/run-tests.sh $(C_TESTS)

check-unit: tests
	tests/run-tests.sh $(C_TESTS)

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
