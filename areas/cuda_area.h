/* What the CUDA area's files share (cuda.c: its memory, cuda_create.c:
 * creating and describing one, cuda_calls.c: calls outside an area): the
 * kinds of memory its flags ask for, and the runtime's errors. */
#ifndef AML_AREAS_CUDA_AREA_H
#define AML_AREAS_CUDA_AREA_H

#include <aml/area/cuda.h>
#include "internal.h"
#include "cuda_runtime.h"

#define FLAG_HOST AML_AREA_CUDA_FLAG_ALLOC_HOST
#define FLAG_UNIFIED AML_AREA_CUDA_FLAG_ALLOC_UNIFIED
#define FLAG_MAPPED AML_AREA_CUDA_FLAG_ALLOC_MAPPED
#define FLAG_GLOBAL AML_AREA_CUDA_FLAG_ALLOC_GLOBAL

/* What an area's flags allocate. */
enum cuda_kind {
	KIND_DEVICE,      /* cudaMalloc */
	KIND_PINNED,      /* cudaHostAlloc */
	KIND_HOST_MAPPED, /* cudaHostAlloc, mapped for the device */
	KIND_REGISTERED,  /* host memory + cudaHostRegister */
	KIND_MANAGED,     /* cudaMallocManaged */
};

/* The kind for valid flags; -1 for unknown bits or a conflicting mix. */
static inline int kind_of(int flags)
{
	if (flags & ~(FLAG_HOST | FLAG_UNIFIED | FLAG_MAPPED | FLAG_GLOBAL))
		return -1;
	if (flags & FLAG_UNIFIED)
		return (flags & (FLAG_HOST | FLAG_MAPPED)) ? -1 : KIND_MANAGED;
	if (flags & FLAG_HOST)
		return (flags & FLAG_MAPPED) ? KIND_HOST_MAPPED : KIND_PINNED;
	if (flags & FLAG_MAPPED)
		return KIND_REGISTERED;
	return (flags & FLAG_GLOBAL) ? -1 : KIND_DEVICE; /* GLOBAL qualifies nothing here */
}

static inline int cuda_error(aml_cudart_error error)
{
	return -aml_cudart_error_to_aml(error);
}

/* The loaded runtime, or NULL with aml_errno = AML_ENOTSUP. */
static inline const struct aml_cudart *cuda_runtime_or_fail(void)
{
	const struct aml_cudart *rt = aml_cudart();
	if (!rt)
		aml_errno = AML_ENOTSUP;
	return rt;
}

#endif
