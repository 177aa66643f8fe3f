/* The CUDA runtime (libcudart) as loaded at run time by cuda_runtime.c:
 * a table of the functions the CUDA area calls, the constants it passes
 * them, and the mapping of their errors to AML codes. Internal.
 *
 * The types are plain C so the library builds without CUDA's headers.
 * cudaError_t and the enums passed by value are "unsigned int": that is
 * what C compilers make of an enum without negative values, and it lets
 * cuda_runtime.c check every signature against <cuda_runtime_api.h>
 * exactly when the header is present. */
#ifndef AML_AREAS_CUDA_RUNTIME_H
#define AML_AREAS_CUDA_RUNTIME_H

#include <stddef.h>
#include "internal.h"

typedef unsigned int aml_cudart_error; /* cudaError_t */

/* Values from the CUDA runtime API (checked against its header). */
enum {
	AML_CUDART_SUCCESS = 0,
	AML_CUDART_ERROR_INVALID_VALUE = 1,
	AML_CUDART_ERROR_MEMORY_ALLOCATION = 2,
	AML_CUDART_ERROR_INITIALIZATION = 3,
	AML_CUDART_ERROR_INVALID_DEVICE_POINTER = 17,
	AML_CUDART_ERROR_STUB_LIBRARY = 34,        /* only the stub libcuda */
	AML_CUDART_ERROR_INSUFFICIENT_DRIVER = 35, /* no driver at all */
	AML_CUDART_ERROR_DEVICES_UNAVAILABLE = 46,
	AML_CUDART_ERROR_NO_DEVICE = 100,
	AML_CUDART_ERROR_INVALID_DEVICE = 101,
	AML_CUDART_ERROR_HOST_MEMORY_ALREADY_REGISTERED = 712,
	AML_CUDART_ERROR_HOST_MEMORY_NOT_REGISTERED = 713,
	AML_CUDART_ERROR_NOT_SUPPORTED = 801,
	AML_CUDART_ERROR_SYSTEM_DRIVER_MISMATCH = 803,
	AML_CUDART_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE = 804,
};

enum {
	AML_CUDART_HOST_ALLOC_DEFAULT = 0x00,
	AML_CUDART_HOST_ALLOC_PORTABLE = 0x01,
	AML_CUDART_HOST_ALLOC_MAPPED = 0x02,
	AML_CUDART_HOST_REGISTER_PORTABLE = 0x01,
	AML_CUDART_HOST_REGISTER_MAPPED = 0x02,
	AML_CUDART_MEM_ATTACH_GLOBAL = 0x01,
	AML_CUDART_MEM_ATTACH_HOST = 0x02,
	AML_CUDART_MEMCPY_DEFAULT = 4, /* direction inferred from the pointers */
	AML_CUDART_DEV_ATTR_CAN_MAP_HOST_MEMORY = 19,
	AML_CUDART_DEV_ATTR_MANAGED_MEMORY = 83,
	AML_CUDART_DEV_ATTR_HOST_REGISTER_SUPPORTED = 99,
};

/* The functions used, under their CUDA names minus "cuda" (snake case). */
struct aml_cudart {
	aml_cudart_error (*get_device_count)(int *count);
	aml_cudart_error (*get_device)(int *device);
	aml_cudart_error (*set_device)(int device);
	aml_cudart_error (*malloc_device)(void **ptr, size_t size);   /* cudaMalloc */
	aml_cudart_error (*free_device)(void *ptr);                  /* cudaFree */
	aml_cudart_error (*host_alloc)(void **ptr, size_t size, unsigned int flags);
	aml_cudart_error (*free_host)(void *ptr);
	aml_cudart_error (*malloc_managed)(void **ptr, size_t size, unsigned int flags);
	aml_cudart_error (*host_register)(void *ptr, size_t size, unsigned int flags);
	aml_cudart_error (*host_unregister)(void *ptr);
	aml_cudart_error (*host_get_device_pointer)(void **device_ptr, void *host_ptr,
	                                            unsigned int flags);
	aml_cudart_error (*copy)(void *dst, const void *src, size_t size,
	                         unsigned int kind);                  /* cudaMemcpy */
	const char *(*get_error_string)(aml_cudart_error error);
	aml_cudart_error (*device_get_attribute)(int *value, unsigned int attribute, int device);
	/* Devices the runtime reported when probed (> 0 in a usable table). */
	int device_count;
};

/* The loaded runtime when it reports at least one device, else NULL.
 * Loads and probes once, thread-safely; a call made by the loading thread
 * itself (libcudart's own allocations reaching back here) gets NULL rather
 * than waiting for itself. In a child forked after CUDA was found: NULL,
 * since a CUDA context does not survive fork. Never prints. */
AML_HIDDEN const struct aml_cudart *aml_cudart(void);

/* One line saying what the loader found (library, devices or why none). */
AML_HIDDEN const char *aml_cudart_status(void);

/* The AML code (positive) for a CUDA error code. */
AML_HIDDEN int aml_cudart_error_to_aml(aml_cudart_error error);

#endif
