/* CUDA area, its memory: device, pinned, mapped and managed memory through
 * the CUDA runtime that cuda_runtime.c loads at run time (mmap, munmap).
 * Flag semantics are listed in <aml/area/cuda.h>. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "cuda_area.h"

#define REGISTER_FLAGS (AML_CUDART_HOST_REGISTER_MAPPED | AML_CUDART_HOST_REGISTER_PORTABLE)

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
	const struct aml_cudart *rt = cuda_runtime_or_fail();
	if (!rt)
		return NULL;
	if (device >= rt->device_count) {
		aml_errno = AML_EDOM;
		return NULL;
	}
	AML_KEEP_ERRNO;
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
	AML_KEEP_ERRNO;
	struct device_switch sw;
	int err = device_select(rt, data->device, &sw);
	if (err == AML_SUCCESS) {
		err = release(rt, data, kind, ptr, size);
		int restored = device_restore(rt, &sw);
		if (err == AML_SUCCESS)
			err = restored;
	}
	if (err != AML_SUCCESS)
		aml_errno = -err;
	return err;
}
