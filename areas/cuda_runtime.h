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

/* Values from the CUDA runtime API, as X(our name, value, CUDA's name):
 * the enum below, and checks against <cuda_runtime_api.h> (cuda_runtime.c)
 * where it is present. Among the errors: INSUFFICIENT_DRIVER is no driver
 * at all, STUB_LIBRARY only the stub libcuda; MEMCPY_DEFAULT infers the
 * direction from the pointers. The second list: values that CUDA's headers
 * have only from 12.0 on (checked only against those). */
#define AML_CUDART_VALUES(X)                                                                          \
	X(AML_CUDART_SUCCESS, 0, cudaSuccess)                                                         \
	X(AML_CUDART_ERROR_INVALID_VALUE, 1, cudaErrorInvalidValue)                                   \
	X(AML_CUDART_ERROR_MEMORY_ALLOCATION, 2, cudaErrorMemoryAllocation)                           \
	X(AML_CUDART_ERROR_INITIALIZATION, 3, cudaErrorInitializationError)                           \
	X(AML_CUDART_ERROR_INVALID_DEVICE_POINTER, 17, cudaErrorInvalidDevicePointer)                 \
	X(AML_CUDART_ERROR_INSUFFICIENT_DRIVER, 35, cudaErrorInsufficientDriver)                      \
	X(AML_CUDART_ERROR_DEVICES_UNAVAILABLE, 46, cudaErrorDevicesUnavailable)                      \
	X(AML_CUDART_ERROR_NO_DEVICE, 100, cudaErrorNoDevice)                                         \
	X(AML_CUDART_ERROR_INVALID_DEVICE, 101, cudaErrorInvalidDevice)                               \
	X(AML_CUDART_ERROR_HOST_MEMORY_ALREADY_REGISTERED, 712, cudaErrorHostMemoryAlreadyRegistered) \
	X(AML_CUDART_ERROR_HOST_MEMORY_NOT_REGISTERED, 713, cudaErrorHostMemoryNotRegistered)         \
	X(AML_CUDART_ERROR_NOT_SUPPORTED, 801, cudaErrorNotSupported)                                 \
	X(AML_CUDART_ERROR_SYSTEM_DRIVER_MISMATCH, 803, cudaErrorSystemDriverMismatch)                \
	X(AML_CUDART_HOST_ALLOC_DEFAULT, 0x00, cudaHostAllocDefault)                                  \
	X(AML_CUDART_HOST_ALLOC_PORTABLE, 0x01, cudaHostAllocPortable)                                \
	X(AML_CUDART_HOST_ALLOC_MAPPED, 0x02, cudaHostAllocMapped)                                    \
	X(AML_CUDART_HOST_REGISTER_PORTABLE, 0x01, cudaHostRegisterPortable)                          \
	X(AML_CUDART_HOST_REGISTER_MAPPED, 0x02, cudaHostRegisterMapped)                              \
	X(AML_CUDART_MEM_ATTACH_GLOBAL, 0x01, cudaMemAttachGlobal)                                    \
	X(AML_CUDART_MEM_ATTACH_HOST, 0x02, cudaMemAttachHost)                                        \
	X(AML_CUDART_MEMCPY_DEFAULT, 4, cudaMemcpyDefault)                                            \
	X(AML_CUDART_DEV_ATTR_CAN_MAP_HOST_MEMORY, 19, cudaDevAttrCanMapHostMemory)                   \
	X(AML_CUDART_DEV_ATTR_MANAGED_MEMORY, 83, cudaDevAttrManagedMemory)

#define AML_CUDART_VALUES_12(X)                                                                      \
	X(AML_CUDART_ERROR_STUB_LIBRARY, 34, cudaErrorStubLibrary)                                   \
	X(AML_CUDART_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE, 804, cudaErrorCompatNotSupportedOnDevice) \
	X(AML_CUDART_DEV_ATTR_HOST_REGISTER_SUPPORTED, 99, cudaDevAttrHostRegisterSupported)

#define AML_CUDART_ENUM(ours, value, cudas) ours = value,
enum { AML_CUDART_VALUES(AML_CUDART_ENUM) AML_CUDART_VALUES_12(AML_CUDART_ENUM) };
#undef AML_CUDART_ENUM

/* The functions used, as X(return type, field, CUDA's name, parameters):
 * the fields are CUDA's names minus "cuda", in snake case. */
#define AML_CUDART_FUNCTIONS(X) \
	X(aml_cudart_error, get_device_count, cudaGetDeviceCount, (int *count)) \
	X(aml_cudart_error, get_device, cudaGetDevice, (int *device)) \
	X(aml_cudart_error, set_device, cudaSetDevice, (int device)) \
	X(aml_cudart_error, malloc_device, cudaMalloc, (void **ptr, size_t size)) \
	X(aml_cudart_error, free_device, cudaFree, (void *ptr)) \
	X(aml_cudart_error, host_alloc, cudaHostAlloc, (void **ptr, size_t size, unsigned int flags)) \
	X(aml_cudart_error, free_host, cudaFreeHost, (void *ptr)) \
	X(aml_cudart_error, malloc_managed, cudaMallocManaged, (void **ptr, size_t size, unsigned int flags)) \
	X(aml_cudart_error, host_register, cudaHostRegister, (void *ptr, size_t size, unsigned int flags)) \
	X(aml_cudart_error, host_unregister, cudaHostUnregister, (void *ptr)) \
	X(aml_cudart_error, host_get_device_pointer, cudaHostGetDevicePointer, (void **device_ptr, void *host_ptr, unsigned int flags)) \
	X(aml_cudart_error, copy, cudaMemcpy, (void *dst, const void *src, size_t size, unsigned int kind)) \
	X(const char *, get_error_string, cudaGetErrorString, (aml_cudart_error error)) \
	X(aml_cudart_error, device_get_attribute, cudaDeviceGetAttribute, (int *value, unsigned int attribute, int device))

#define AML_CUDART_FIELD(type, field, cudas, params) type (*field) params;
struct aml_cudart {
	AML_CUDART_FUNCTIONS(AML_CUDART_FIELD)
	/* Devices the runtime reported when probed (> 0 in a usable table). */
	int device_count;
};
#undef AML_CUDART_FIELD

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
