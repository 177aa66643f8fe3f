/* The CUDA calls outside an area: copies, the device address of mapped host
 * memory, the device count and the runtime's status. */
#define _GNU_SOURCE
#include <errno.h>

#include "cuda_area.h"

int aml_cuda_memcpy(void *dst, const void *src, size_t size)
{
	if (size == 0)
		return AML_SUCCESS;
	if (!dst || !src)
		return -(aml_errno = AML_EINVAL);
	const struct aml_cudart *rt = cuda_runtime_or_fail();
	if (!rt)
		return -AML_ENOTSUP;
	AML_KEEP_ERRNO;
	int err = cuda_error(rt->copy(dst, src, size, AML_CUDART_MEMCPY_DEFAULT));
	if (err != AML_SUCCESS)
		aml_errno = -err;
	return err;
}

void *aml_cuda_device_pointer(void *host_ptr)
{
	if (!host_ptr) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	const struct aml_cudart *rt = cuda_runtime_or_fail();
	if (!rt)
		return NULL;
	AML_KEEP_ERRNO;
	void *device_ptr = NULL;
	aml_cudart_error err = rt->host_get_device_pointer(&device_ptr, host_ptr, 0);
	if (err != AML_CUDART_SUCCESS) {
		aml_errno = aml_cudart_error_to_aml(err);
		return NULL;
	}
	return device_ptr;
}

int aml_cuda_device_count(void)
{
	const struct aml_cudart *rt = aml_cudart();
	return rt ? rt->device_count : 0;
}

const char *aml_cuda_runtime_status(void)
{
	return aml_cudart_status();
}
