/* CUDA areas: device, pinned host, mapped host and managed memory. libcudart
 * is loaded with dlopen on first use, so nothing here needs a GPU: without a
 * driver or device, creation returns -AML_ENOTSUP quickly and prints nothing.
 *
 * Which memory an area returns, by flags (anything else is -AML_EINVAL):
 *   DEFAULT            device memory (cudaMalloc)
 *   ALLOC_HOST         pinned host memory (cudaHostAlloc); | GLOBAL: portable
 *                      to every device's context
 *   ALLOC_HOST|MAPPED  pinned host memory mapped for the device, allocated by
 *                      CUDA (cudaHostAlloc); mmap returns the host address,
 *                      aml_cuda_device_pointer() the device's
 *   ALLOC_MAPPED       host memory the device can reach, registered with
 *                      cudaHostRegister (mapped, portable; GLOBAL changes
 *                      nothing). Without options.ptr the area maps the host
 *                      memory itself (placed by its host area, see
 *                      aml_area_cuda_mapped_create), populates it so pages land
 *                      on their NUMA nodes before being pinned, and returns the
 *                      host address. With options.ptr it registers that memory
 *                      and returns its device address.
 *   ALLOC_UNIFIED      managed memory (cudaMallocManaged), attached to the
 *                      host; | GLOBAL: attached globally
 * UNIFIED with HOST or MAPPED, and GLOBAL alone, are -AML_EINVAL (AML ignored
 * some of these; a flag that does nothing is a bug worth reporting).
 *
 * munmap takes exactly the pointer and size mmap returned. For registered
 * user memory (MAPPED with options.ptr) munmap only unregisters: the memory
 * stays the caller's.
 *
 * Every call that selects a device restores the calling thread's current
 * device before returning, on error paths too. */
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
#define AML_AREA_CUDA_FLAG_ALLOC_GLOBAL (1 << 3) /* managed: attached globally; host: portable */

/* Per-call options. device < 0 means the area's device. With
 * ALLOC_MAPPED (without ALLOC_HOST), a non-NULL ptr is host memory to
 * register for the device (mmap returns the device address of it); ptr
 * must be NULL for every other kind of area (-AML_EINVAL). */
struct aml_area_cuda_mmap_options {
	int device;
	void *ptr;
};

struct aml_area_cuda_data {
	int device; /* < 0: the calling thread's current device at each call */
	int flags;
	/* MAPPED without ptr: host memory comes from this area (NULL: plain
	 * anonymous memory), is populated, then registered with the device.
	 * Not owned: it must outlive the CUDA area. */
	const struct aml_area *host_area;
};

/* Device memory on the current device. */
extern struct aml_area aml_area_cuda;
/* The ops of every CUDA area (as in AML). */
extern struct aml_area_ops aml_area_cuda_ops;

/* device < 0 means the current device at each call (as in AML). Checks
 * the arguments first: NULL area or unknown/conflicting flags give
 * -AML_EINVAL, on any machine. Then -AML_ENOTSUP without a usable CUDA
 * runtime/device (or when the device cannot map host memory or manage
 * memory, for the areas that need it), -AML_EDOM for device >= count. */
int aml_area_cuda_create(struct aml_area **area, const int device, const int flags);
/* MAPPED area whose host memory is placed by host_area (e.g. interleaved;
 * NULL: anonymous memory, kernel default placement). A CUDA area as the
 * host area is -AML_EINVAL. */
int aml_area_cuda_mapped_create(struct aml_area **area, const int device,
                                const struct aml_area *host_area);
void aml_area_cuda_destroy(struct aml_area **area);

/* The ops, usable by areas built on top of this one. */
void *aml_area_cuda_mmap(const struct aml_area_data *data, size_t size,
                         struct aml_area_mmap_options *opts);
int aml_area_cuda_munmap(const struct aml_area_data *data, void *ptr, size_t size);
int aml_area_cuda_fprintf(const struct aml_area_data *data, FILE *stream, const char *prefix);

/* Copies between host and device memory (cudaMemcpy, kind default: the
 * direction follows from the pointers). -AML_ENOTSUP without CUDA. */
int aml_cuda_memcpy(void *dst, const void *src, size_t size);
/* Device address of mapped host memory (HOST|MAPPED areas, or memory
 * registered by a MAPPED area), NULL with aml_errno set on error. */
void *aml_cuda_device_pointer(void *host_ptr);
/* Number of usable devices (0 without CUDA). */
int aml_cuda_device_count(void);
/* One line saying what was found: the libcudart loaded and its device
 * count, or why CUDA is unusable. Never NULL; this is how to ask, since
 * the library itself prints nothing. */
const char *aml_cuda_runtime_status(void);

#ifdef __cplusplus
}
#endif
#endif
