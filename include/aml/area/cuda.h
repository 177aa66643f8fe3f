/* CUDA areas: device, pinned host, mapped host and managed memory. libcudart
 * is loaded with dlopen on first use, so nothing here needs a GPU: without a
 * driver or device, creation returns -AML_ENOTSUP quickly and prints nothing. */
#ifndef AML_AREA_CUDA_H
#define AML_AREA_CUDA_H

#include <aml.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AML_AREA_CUDA_FLAG_DEFAULT 0             /* device memory (cudaMalloc) */
#define AML_AREA_CUDA_FLAG_ALLOC_HOST (1 << 0)   /* pinned host memory */
#define AML_AREA_CUDA_FLAG_ALLOC_UNIFIED (1 << 1) /* managed memory */
#define AML_AREA_CUDA_FLAG_ALLOC_MAPPED (1 << 2) /* host memory the device can reach */
#define AML_AREA_CUDA_FLAG_ALLOC_GLOBAL (1 << 3) /* managed, attached globally */

/* Per-call options. device < 0 means the area's device. With
 * ALLOC_MAPPED, a non-NULL ptr is host memory to register for the device
 * (mmap returns the device address of it). */
struct aml_area_cuda_mmap_options {
	int device;
	void *ptr;
};

struct aml_area_cuda_data {
	int device;
	int flags;
	/* MAPPED without ptr: host memory comes from this area (NULL: plain
	 * anonymous memory), is populated, then registered with the device. */
	const struct aml_area *host_area;
};

/* Device memory on the current device. */
extern struct aml_area aml_area_cuda;

/* -AML_ENOTSUP without a usable CUDA runtime/device, -AML_EDOM for a bad
 * device number, -AML_EINVAL for unknown or conflicting flags. */
int aml_area_cuda_create(struct aml_area **area, const int device, const int flags);
/* MAPPED area whose host memory is placed by host_area (e.g. interleaved). */
int aml_area_cuda_mapped_create(struct aml_area **area, const int device,
                                const struct aml_area *host_area);
void aml_area_cuda_destroy(struct aml_area **area);

/* Copies between host and device memory (cudaMemcpy, kind default). */
int aml_cuda_memcpy(void *dst, const void *src, size_t size);
/* Device address of registered/mapped host memory, NULL on error. */
void *aml_cuda_device_pointer(void *host_ptr);
/* Number of usable devices (0 without CUDA). */
int aml_cuda_device_count(void);

#ifdef __cplusplus
}
#endif
#endif
