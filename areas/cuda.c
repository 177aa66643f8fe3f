/* CUDA area: device, pinned, mapped and managed memory through the CUDA
 * runtime that cuda_runtime.c loads at run time. Flag semantics are listed
 * in <aml/area/cuda.h>. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <aml/area/cuda.h>
#include "internal.h"
#include "cuda_runtime.h"

#define FLAG_HOST AML_AREA_CUDA_FLAG_ALLOC_HOST
#define FLAG_UNIFIED AML_AREA_CUDA_FLAG_ALLOC_UNIFIED
#define FLAG_MAPPED AML_AREA_CUDA_FLAG_ALLOC_MAPPED
#define FLAG_GLOBAL AML_AREA_CUDA_FLAG_ALLOC_GLOBAL
#define REGISTER_FLAGS (AML_CUDART_HOST_REGISTER_MAPPED | AML_CUDART_HOST_REGISTER_PORTABLE)

/* What an area's flags allocate. */
enum cuda_kind {
	KIND_DEVICE,      /* cudaMalloc */
	KIND_PINNED,      /* cudaHostAlloc */
	KIND_HOST_MAPPED, /* cudaHostAlloc, mapped for the device */
	KIND_REGISTERED,  /* host memory + cudaHostRegister */
	KIND_MANAGED,     /* cudaMallocManaged */
};

/* The kind for valid flags; -1 for unknown bits or a conflicting mix. */
static int kind_of(int flags)
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

static int cuda_error(aml_cudart_error error)
{
	return -aml_cudart_error_to_aml(error);
}

/* The calling thread's current device, switched for the length of a call. */
struct device_switch {
	int previous;
	int switched;
};

/* Makes device current; device < 0 (the current one) changes nothing. */
static int device_select(const struct aml_cudart *rt, int device, struct device_switch *sw)
{
	sw->switched = 0;
	if (device < 0)
		return AML_SUCCESS;
	aml_cudart_error err = rt->get_device(&sw->previous);
	if (err == AML_CUDART_SUCCESS && sw->previous != device) {
		err = rt->set_device(device);
		sw->switched = err == AML_CUDART_SUCCESS;
	}
	return cuda_error(err);
}

static int device_restore(const struct aml_cudart *rt, const struct device_switch *sw)
{
	if (!sw->switched)
		return AML_SUCCESS;
	return cuda_error(rt->set_device(sw->previous));
}

/* Caller memory registered by a MAPPED area (options.ptr): mmap returned
 * device_ptr, and munmap, given it back, must unregister host_ptr. Kept
 * here because without unified addressing the two differ. */
struct registration {
	struct registration *next;
	void *device_ptr;
	void *host_ptr;
	size_t size;
};
static struct registration *registrations;
static pthread_mutex_t registrations_lock = PTHREAD_MUTEX_INITIALIZER;

static int registration_add(void *device_ptr, void *host_ptr, size_t size)
{
	struct registration *r = malloc(sizeof(*r));
	if (!r)
		return -AML_ENOMEM;
	*r = (struct registration){.device_ptr = device_ptr, .host_ptr = host_ptr, .size = size};
	pthread_mutex_lock(&registrations_lock);
	r->next = registrations;
	registrations = r;
	pthread_mutex_unlock(&registrations_lock);
	return AML_SUCCESS;
}

/* Removes and returns the registration mmap returned device_ptr for. */
static struct registration *registration_take(const void *device_ptr)
{
	pthread_mutex_lock(&registrations_lock);
	struct registration **link = &registrations;
	while (*link && (*link)->device_ptr != device_ptr)
		link = &(*link)->next;
	struct registration *r = *link;
	if (r)
		*link = r->next;
	pthread_mutex_unlock(&registrations_lock);
	return r;
}

static void registration_put_back(struct registration *r)
{
	pthread_mutex_lock(&registrations_lock);
	r->next = registrations;
	registrations = r;
	pthread_mutex_unlock(&registrations_lock);
}

static int register_caller_memory(const struct aml_cudart *rt, void *host, size_t size, void **out)
{
	aml_cudart_error err = rt->host_register(host, size, REGISTER_FLAGS);
	if (err != AML_CUDART_SUCCESS)
		return cuda_error(err);
	void *device_ptr = NULL;
	err = rt->host_get_device_pointer(&device_ptr, host, 0);
	int ret = err == AML_CUDART_SUCCESS ? registration_add(device_ptr, host, size) : cuda_error(err);
	if (ret != AML_SUCCESS) {
		rt->host_unregister(host);
		return ret;
	}
	*out = device_ptr;
	return AML_SUCCESS;
}

static int host_unmap(const struct aml_area *host_area, void *ptr, size_t size)
{
	if (host_area)
		return aml_area_munmap(host_area, ptr, size);
	if (aml_os_munmap(ptr, size) != 0)
		return errno == EINVAL ? -AML_EINVAL : -AML_FAILURE;
	return AML_SUCCESS;
}

/* Host memory from the host area (or anonymous), faulted in now so its
 * pages land where the host area's policy says before CUDA pins them,
 * then registered for the device. Returns the host address. */
static int map_and_register(const struct aml_cudart *rt, const struct aml_area *host_area,
                            size_t size, void **out)
{
	void *host;
	if (host_area) {
		host = aml_area_mmap(host_area, size, NULL);
		if (!host)
			return -aml_errno;
	} else {
		host = aml_os_mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (host == MAP_FAILED)
			return errno == EINVAL ? -AML_EINVAL : -AML_ENOMEM;
	}
	int ret = -AML_ENOMEM;
	if (aml_os_populate_write(host, size) == 0) {
		aml_cudart_error err = rt->host_register(host, size, REGISTER_FLAGS);
		ret = cuda_error(err);
	}
	if (ret != AML_SUCCESS) {
		host_unmap(host_area, host, size);
		return ret;
	}
	*out = host;
	return AML_SUCCESS;
}

static int allocate(const struct aml_cudart *rt, const struct aml_area_cuda_data *data, int kind,
                    size_t size, void *caller_ptr, void **out)
{
	const int global = data->flags & FLAG_GLOBAL;
	aml_cudart_error err;
	switch (kind) {
	case KIND_DEVICE:
		err = rt->malloc_device(out, size);
		break;
	case KIND_PINNED:
		err = rt->host_alloc(out, size, global ? AML_CUDART_HOST_ALLOC_PORTABLE : AML_CUDART_HOST_ALLOC_DEFAULT);
		break;
	case KIND_HOST_MAPPED:
		err = rt->host_alloc(out, size, AML_CUDART_HOST_ALLOC_MAPPED |
		                                        (global ? AML_CUDART_HOST_ALLOC_PORTABLE : 0));
		break;
	case KIND_MANAGED:
		err = rt->malloc_managed(out, size, global ? AML_CUDART_MEM_ATTACH_GLOBAL : AML_CUDART_MEM_ATTACH_HOST);
		break;
	case KIND_REGISTERED:
		if (caller_ptr)
			return register_caller_memory(rt, caller_ptr, size, out);
		return map_and_register(rt, data->host_area, size, out);
	default:
		return -AML_EINVAL;
	}
	if (err != AML_CUDART_SUCCESS)
		*out = NULL;
	return cuda_error(err);
}

static int release_registered(const struct aml_cudart *rt, const struct aml_area *host_area,
                              void *ptr, size_t size)
{
	struct registration *r = registration_take(ptr);
	if (r) {
		/* Caller memory: unregister it, leave it mapped. */
		aml_cudart_error err = r->size == size ? rt->host_unregister(r->host_ptr)
		                                       : AML_CUDART_ERROR_INVALID_VALUE;
		if (err != AML_CUDART_SUCCESS) {
			registration_put_back(r);
			return cuda_error(err);
		}
		free(r);
		return AML_SUCCESS;
	}
	/* Ours: unregister first (a pointer CUDA does not know is not ours to
	 * unmap), then unmap through the area that mapped it. */
	aml_cudart_error err = rt->host_unregister(ptr);
	if (err != AML_CUDART_SUCCESS)
		return cuda_error(err);
	return host_unmap(host_area, ptr, size);
}

static int release(const struct aml_cudart *rt, const struct aml_area_cuda_data *data, int kind,
                   void *ptr, size_t size)
{
	switch (kind) {
	case KIND_DEVICE:
	case KIND_MANAGED:
		return cuda_error(rt->free_device(ptr));
	case KIND_PINNED:
	case KIND_HOST_MAPPED:
		return cuda_error(rt->free_host(ptr));
	case KIND_REGISTERED:
		return release_registered(rt, data->host_area, ptr, size);
	default:
		return -AML_EINVAL;
	}
}

void *aml_area_cuda_mmap(const struct aml_area_data *area_data, size_t size,
                         struct aml_area_mmap_options *opts)
{
	const struct aml_area_cuda_data *data = (const struct aml_area_cuda_data *)area_data;
	const struct aml_area_cuda_mmap_options *options = (const struct aml_area_cuda_mmap_options *)opts;
	int kind = data ? kind_of(data->flags) : -1;
	int device = data ? data->device : -1;
	void *caller_ptr = NULL;
	if (options) {
		if (options->device >= 0)
			device = options->device;
		caller_ptr = options->ptr;
	}
	if (kind < 0 || size == 0 || (caller_ptr && kind != KIND_REGISTERED)) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	const struct aml_cudart *rt = aml_cudart();
	if (!rt) {
		aml_errno = AML_ENOTSUP;
		return NULL;
	}
	if (device >= rt->device_count) {
		aml_errno = AML_EDOM;
		return NULL;
	}
	int saved_errno = errno;
	struct device_switch sw;
	void *ptr = NULL;
	int err = device_select(rt, device, &sw);
	if (err == AML_SUCCESS) {
		err = allocate(rt, data, kind, size, caller_ptr, &ptr);
		int restored = device_restore(rt, &sw);
		if (err == AML_SUCCESS && restored != AML_SUCCESS) {
			/* The caller's device could not be put back: fail rather than
			 * return memory with the thread on another device. */
			release(rt, data, kind, ptr, size);
			err = restored;
		}
	}
	errno = saved_errno;
	if (err != AML_SUCCESS) {
		aml_errno = -err;
		return NULL;
	}
	return ptr;
}

int aml_area_cuda_munmap(const struct aml_area_data *area_data, void *ptr, size_t size)
{
	const struct aml_area_cuda_data *data = (const struct aml_area_cuda_data *)area_data;
	int kind = data ? kind_of(data->flags) : -1;
	if (kind < 0)
		return -(aml_errno = AML_EINVAL);
	if (!ptr)
		return AML_SUCCESS;
	const struct aml_cudart *rt = aml_cudart();
	if (!rt)
		return -(aml_errno = AML_ENOTSUP);
	int saved_errno = errno;
	struct device_switch sw;
	int err = device_select(rt, data->device, &sw);
	if (err == AML_SUCCESS) {
		err = release(rt, data, kind, ptr, size);
		int restored = device_restore(rt, &sw);
		if (err == AML_SUCCESS)
			err = restored;
	}
	errno = saved_errno;
	if (err != AML_SUCCESS)
		aml_errno = -err;
	return err;
}

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
	if (!stream)
		return -(aml_errno = AML_EINVAL);
	if (!prefix)
		prefix = "";
	if (!data) {
		fprintf(stream, "%sarea-cuda: (no data)\n", prefix);
		return AML_SUCCESS;
	}
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

/* The device attributes an area's kind of memory needs. */
static int device_supports(const struct aml_cudart *rt, int device, int kind)
{
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
	const struct aml_cudart *rt = aml_cudart();
	if (!rt)
		return -(aml_errno = AML_ENOTSUP);
	if (device >= rt->device_count)
		return -(aml_errno = AML_EDOM);
	if (device < 0)
		device = -1;
	int saved_errno = errno;
	int err = device_supports(rt, device, kind_of(flags));
	errno = saved_errno;
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

int aml_cuda_memcpy(void *dst, const void *src, size_t size)
{
	if (size == 0)
		return AML_SUCCESS;
	if (!dst || !src)
		return -(aml_errno = AML_EINVAL);
	const struct aml_cudart *rt = aml_cudart();
	if (!rt)
		return -(aml_errno = AML_ENOTSUP);
	int saved_errno = errno;
	int err = cuda_error(rt->copy(dst, src, size, AML_CUDART_MEMCPY_DEFAULT));
	errno = saved_errno;
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
	const struct aml_cudart *rt = aml_cudart();
	if (!rt) {
		aml_errno = AML_ENOTSUP;
		return NULL;
	}
	int saved_errno = errno;
	void *device_ptr = NULL;
	aml_cudart_error err = rt->host_get_device_pointer(&device_ptr, host_ptr, 0);
	errno = saved_errno;
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
