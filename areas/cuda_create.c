/* CUDA area objects: creating one (its flags checked against the device's
 * attributes), the static default area, destroying and describing one. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cuda_area.h"

static const char *kind_description(int kind, int global)
{
	switch (kind) {
	case KIND_DEVICE: return "device memory";
	case KIND_PINNED: return global ? "pinned host memory, portable" : "pinned host memory";
	case KIND_HOST_MAPPED:
		return global ? "pinned host memory mapped for the device, portable"
		              : "pinned host memory mapped for the device";
	case KIND_REGISTERED: return "host memory registered for the device";
	case KIND_MANAGED:
		return global ? "managed memory, attached globally" : "managed memory, attached to the host";
	default: return "invalid flags";
	}
}

int aml_area_cuda_fprintf(const struct aml_area_data *area_data, FILE *stream, const char *prefix)
{
	const struct aml_area_cuda_data *data = (const struct aml_area_cuda_data *)area_data;
	int go_on = aml_area_fprintf_begin(stream, &prefix, data, "area-cuda");
	if (go_on <= 0)
		return go_on;
	int kind = kind_of(data->flags);
	if (data->device < 0)
		fprintf(stream, "%sarea-cuda: current device, ", prefix);
	else
		fprintf(stream, "%sarea-cuda: device %d, ", prefix, data->device);
	fprintf(stream, "%s (flags 0x%x)\n", kind_description(kind, data->flags & FLAG_GLOBAL),
	        (unsigned)data->flags);
	if (kind != KIND_REGISTERED)
		return AML_SUCCESS;
	if (!data->host_area) {
		fprintf(stream, "%s  host memory: anonymous, kernel default placement\n", prefix);
		return AML_SUCCESS;
	}
	char host_prefix[256];
	snprintf(host_prefix, sizeof(host_prefix), "%s  host memory from ", prefix);
	return aml_area_fprintf(stream, host_prefix, data->host_area);
}

struct aml_area_ops aml_area_cuda_ops = {
	.mmap = aml_area_cuda_mmap,
	.munmap = aml_area_cuda_munmap,
	.fprintf = aml_area_cuda_fprintf,
};

static struct aml_area_cuda_data cuda_default_data = {
	.device = -1,
	.flags = AML_AREA_CUDA_FLAG_DEFAULT,
	.host_area = NULL,
};

struct aml_area aml_area_cuda = {
	.ops = &aml_area_cuda_ops,
	.data = (struct aml_area_data *)&cuda_default_data,
};

/* The device attributes an area's kind of memory needs; errno kept (the
 * runtime's calls may set it). */
static int device_supports(const struct aml_cudart *rt, int device, int kind)
{
	AML_KEEP_ERRNO;
	unsigned int needed[2];
	size_t count = 0;
	if (kind == KIND_HOST_MAPPED || kind == KIND_REGISTERED)
		needed[count++] = AML_CUDART_DEV_ATTR_CAN_MAP_HOST_MEMORY;
	if (kind == KIND_REGISTERED)
		needed[count++] = AML_CUDART_DEV_ATTR_HOST_REGISTER_SUPPORTED;
	if (kind == KIND_MANAGED)
		needed[count++] = AML_CUDART_DEV_ATTR_MANAGED_MEMORY;
	if (count == 0)
		return AML_SUCCESS;
	if (device < 0) {
		aml_cudart_error err = rt->get_device(&device);
		if (err != AML_CUDART_SUCCESS)
			return cuda_error(err);
	}
	for (size_t i = 0; i < count; i++) {
		int value = 0;
		aml_cudart_error err = rt->device_get_attribute(&value, needed[i], device);
		/* Drivers older than CUDA 11 do not know the registration attribute
		 * and register memory all the same. */
		if (err == AML_CUDART_ERROR_INVALID_VALUE &&
		    needed[i] == AML_CUDART_DEV_ATTR_HOST_REGISTER_SUPPORTED)
			continue;
		if (err != AML_CUDART_SUCCESS)
			return cuda_error(err);
		if (!value)
			return -AML_ENOTSUP;
	}
	return AML_SUCCESS;
}

static int create_area(struct aml_area **area, int device, int flags, const struct aml_area *host_area)
{
	const struct aml_cudart *rt = cuda_runtime_or_fail();
	if (!rt)
		return -AML_ENOTSUP;
	if (device >= rt->device_count)
		return -(aml_errno = AML_EDOM);
	if (device < 0)
		device = -1;
	int err = device_supports(rt, device, kind_of(flags));
	if (err != AML_SUCCESS)
		return -(aml_errno = -err);

	struct aml_area *ret = aml_area_alloc(&aml_area_cuda_ops, sizeof(struct aml_area_cuda_data));
	if (!ret)
		return -(aml_errno = AML_ENOMEM);
	struct aml_area_cuda_data *data = (struct aml_area_cuda_data *)ret->data;
	*data = (struct aml_area_cuda_data){.device = device, .flags = flags, .host_area = host_area};
	*area = ret;
	return AML_SUCCESS;
}

int aml_area_cuda_create(struct aml_area **area, const int device, const int flags)
{
	if (!area)
		return -(aml_errno = AML_EINVAL);
	*area = NULL;
	if (kind_of(flags) < 0)
		return -(aml_errno = AML_EINVAL);
	return create_area(area, device, flags, NULL);
}

int aml_area_cuda_mapped_create(struct aml_area **area, const int device,
                                const struct aml_area *host_area)
{
	if (!area)
		return -(aml_errno = AML_EINVAL);
	*area = NULL;
	/* The host area must give memory back, and be host memory. */
	if (host_area && (!host_area->ops || !host_area->ops->mmap || !host_area->ops->munmap ||
	                  host_area->ops->mmap == aml_area_cuda_mmap))
		return -(aml_errno = AML_EINVAL);
	return create_area(area, device, AML_AREA_CUDA_FLAG_ALLOC_MAPPED, host_area);
}

void aml_area_cuda_destroy(struct aml_area **area)
{
	if (!area || !*area)
		return;
	if (*area != &aml_area_cuda) /* the static one is not ours to free */
		free(*area);
	*area = NULL;
}
