/* Loads libcudart with dlopen on first use and probes its devices once, so
 * the library builds and runs without CUDA and answers "no CUDA" quickly,
 * silently, on machines without a driver or a GPU. No exported symbol lives
 * here (tests compile this file into themselves to drive the loader). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <aml/utils/error.h>
#include "cuda_runtime.h"

/* CUDA's default install location: the last resort when the dynamic
 * linker's search path has no libcudart. */
#define CUDA_DEFAULT_LIBCUDART "/usr/local/cuda/lib64/libcudart.so"

/* In order: the toolkit's development link, then the runtimes of the CUDA
 * major versions whose API we use, then the default install. */
static const char *const cudart_candidates[] = {
	"libcudart.so",
	"libcudart.so.13",
	"libcudart.so.12",
	"libcudart.so.11",
	CUDA_DEFAULT_LIBCUDART,
	NULL,
};

#define CUDART_SYMBOL(type, field, cudas, params) {#cudas, offsetof(struct aml_cudart, field)},
static const struct cudart_symbol {
	const char *name;
	size_t offset;
} cudart_symbols[] = {AML_CUDART_FUNCTIONS(CUDART_SYMBOL)};
#undef CUDART_SYMBOL

#ifdef AML_HAVE_CUDA_HEADERS
/* Our declarations must agree with CUDA's own, constant by constant and
 * signature by signature. */
#include <cuda_runtime_api.h>

#define SAME_VALUE(ours, value, cudas) _Static_assert((long)(ours) == (long)(cudas), #ours " != " #cudas);
AML_CUDART_VALUES(SAME_VALUE)
#if CUDART_VERSION >= 12000 /* newer than the rest */
AML_CUDART_VALUES_12(SAME_VALUE)
#endif
_Static_assert(sizeof(cudaError_t) == sizeof(aml_cudart_error), "cudaError_t size");

#define SAME_SIGNATURE(type, field, function, params)                                     \
	_Static_assert(__builtin_types_compatible_p(__typeof__(((struct aml_cudart *)0)->field), \
	                                            __typeof__(&function)),                    \
	               "struct aml_cudart." #field " does not match " #function);
AML_CUDART_FUNCTIONS(SAME_SIGNATURE)
#endif /* AML_HAVE_CUDA_HEADERS */

/* Fills rt from an open library; 0 when every function is there. */
static int cudart_resolve(void *handle, struct aml_cudart *rt)
{
	memset(rt, 0, sizeof(*rt));
	for (size_t i = 0; i < sizeof(cudart_symbols) / sizeof(cudart_symbols[0]); i++) {
		void *function = dlsym(handle, cudart_symbols[i].name);
		if (!function)
			return -1;
		/* POSIX: a data pointer from dlsym holds a function's address. */
		memcpy((char *)rt + cudart_symbols[i].offset, &function, sizeof(function));
	}
	return 0;
}

/* Opens the first candidate that exports every function we call and fills
 * rt (device_count 0). A runtime the process already loaded is preferred,
 * so we share its current-device state instead of starting a second one.
 * Returns the name opened, or NULL (rt zeroed). dlerror() is read only to
 * clear it: failures here are expected and never printed. */
static const char *cudart_open(const char *const *candidates, struct aml_cudart *rt)
{
	const int passes[] = {RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD, RTLD_NOW | RTLD_LOCAL};
	for (size_t pass = 0; pass < 2; pass++) {
		for (const char *const *name = candidates; *name; name++) {
			void *handle = dlopen(*name, passes[pass]);
			if (!handle) {
				(void)dlerror();
				continue;
			}
			if (cudart_resolve(handle, rt) == 0)
				return *name;
			/* Not a usable libcudart: none of it has been called. */
			dlclose(handle);
			(void)dlerror();
		}
	}
	memset(rt, 0, sizeof(*rt));
	return NULL;
}

/* Devices the runtime reports, 0 on error (*error says which). */
static int cudart_probe(const struct aml_cudart *rt, aml_cudart_error *error)
{
	int count = 0; /* without a driver the runtime leaves it untouched */
	*error = rt->get_device_count(&count);
	if (*error != AML_CUDART_SUCCESS || count < 0)
		return 0;
	return count;
}

static pthread_once_t cudart_once = PTHREAD_ONCE_INIT;
static struct aml_cudart cudart_table;
static const struct aml_cudart *cudart_usable; /* written once, under cudart_once */
static atomic_int cudart_in_forked_child;
static __thread int cudart_loading_here __attribute__((tls_model("initial-exec")));
static char cudart_status_text[320];

static void cudart_mark_forked_child(void)
{
	atomic_store_explicit(&cudart_in_forked_child, 1, memory_order_relaxed);
}

/* Fills the table and the status line; callers' errno survives (the
 * failed dlopens and the probe set it). */
static void cudart_load(void)
{
	AML_KEEP_ERRNO;
	cudart_loading_here = 1;
	struct aml_cudart rt;
	aml_cudart_error error = AML_CUDART_SUCCESS;
	const char *name = cudart_open(cudart_candidates, &rt);
	if (name)
		rt.device_count = cudart_probe(&rt, &error);
	if (!name) {
		snprintf(cudart_status_text, sizeof(cudart_status_text),
		         "no CUDA runtime: libcudart not found (libcudart.so, .so.13, .so.12, .so.11, %s)",
		         CUDA_DEFAULT_LIBCUDART);
	} else if (rt.device_count > 0) {
		cudart_table = rt;
		cudart_usable = &cudart_table;
		/* The driver is initialised now: a forked child cannot use it. */
		pthread_atfork(NULL, NULL, cudart_mark_forked_child);
		snprintf(cudart_status_text, sizeof(cudart_status_text), "%s: %d CUDA device(s)",
		         name, rt.device_count);
	} else if (error != AML_CUDART_SUCCESS) {
		const char *text = rt.get_error_string(error);
		snprintf(cudart_status_text, sizeof(cudart_status_text),
		         "%s: no usable CUDA device: cudaGetDeviceCount: %s (error %u)", name,
		         text ? text : "unknown error", error);
	} else {
		snprintf(cudart_status_text, sizeof(cudart_status_text), "%s: no CUDA device", name);
	}
	cudart_loading_here = 0;
}

const struct aml_cudart *aml_cudart(void)
{
	if (cudart_loading_here)
		return NULL;
	pthread_once(&cudart_once, cudart_load);
	if (atomic_load_explicit(&cudart_in_forked_child, memory_order_relaxed))
		return NULL;
	return cudart_usable;
}

const char *aml_cudart_status(void)
{
	if (cudart_loading_here)
		return "CUDA runtime loading";
	pthread_once(&cudart_once, cudart_load);
	if (cudart_usable && atomic_load_explicit(&cudart_in_forked_child, memory_order_relaxed))
		return "CUDA unusable in a process forked after CUDA was initialised";
	return cudart_status_text;
}

int aml_cudart_error_to_aml(aml_cudart_error error)
{
	switch (error) {
	case AML_CUDART_SUCCESS:
		return AML_SUCCESS;
	case AML_CUDART_ERROR_MEMORY_ALLOCATION:
		return AML_ENOMEM;
	case AML_CUDART_ERROR_INVALID_VALUE:
	case AML_CUDART_ERROR_INVALID_DEVICE_POINTER:
	case AML_CUDART_ERROR_HOST_MEMORY_NOT_REGISTERED:
		return AML_EINVAL;
	case AML_CUDART_ERROR_INVALID_DEVICE:
		return AML_EDOM;
	case AML_CUDART_ERROR_HOST_MEMORY_ALREADY_REGISTERED:
	case AML_CUDART_ERROR_DEVICES_UNAVAILABLE:
		return AML_EBUSY;
	case AML_CUDART_ERROR_NO_DEVICE:
	case AML_CUDART_ERROR_INSUFFICIENT_DRIVER:
	case AML_CUDART_ERROR_STUB_LIBRARY:
	case AML_CUDART_ERROR_NOT_SUPPORTED:
	case AML_CUDART_ERROR_SYSTEM_DRIVER_MISMATCH:
	case AML_CUDART_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE:
		return AML_ENOTSUP;
	default:
		return AML_FAILURE;
	}
}
