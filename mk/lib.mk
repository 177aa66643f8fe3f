# libaml: the areas (areas/*.c) as libaml.so and libaml.a, its pkg-config
# file, and the generic rule that compiles any C file into $(BUILD).

AREA_SRCS := $(sort $(wildcard areas/*.c))
AREA_OBJS := $(AREA_SRCS:%.c=$(BUILD)/%.o)
LIBAML_SO := $(BUILD)/lib/libaml.so
LIBAML_A := $(BUILD)/lib/libaml.a

ifneq ($(wildcard $(CUDA_HOME)/include/cuda_runtime_api.h),)
CUDA_CFLAGS := -DAML_HAVE_CUDA_HEADERS -isystem $(CUDA_HOME)/include
endif

# The CUDA files are checked against the CUDA headers when they exist.
$(BUILD)/areas/cuda.o $(BUILD)/areas/cuda_runtime.o: ALL_CFLAGS += $(CUDA_CFLAGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

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

$(BUILD)/aml.pc: Makefile mk/lib.mk
	@mkdir -p $(dir $@)
	$(call write_pc,$@)
