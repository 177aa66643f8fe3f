/* Pieces every area kind shares: the one block an area lives in, its
 * mappings with the kernel's errors turned into aml_errno, and the start of
 * its description. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>

#include "internal.h"

struct aml_area *aml_area_alloc(const struct aml_area_ops *ops, size_t data_size)
{
	struct aml_area *area = AML_INNER_MALLOC_EXTRA(data_size, struct aml_area, struct aml_area_ops);
	if (!area)
		return NULL;
	area->ops = AML_INNER_MALLOC_GET_FIELD(area, 2, struct aml_area, struct aml_area_ops);
	*area->ops = *ops;
	area->data = AML_INNER_MALLOC_GET_EXTRA(area, struct aml_area, struct aml_area_ops);
	return area;
}

void *aml_area_map(void *addr, size_t size, int prot, int flags, int fd, off_t off)
{
	AML_KEEP_ERRNO;
	void *ptr = aml_os_mmap(addr, size, prot, flags, fd, off);
	if (ptr != MAP_FAILED)
		return ptr;
	aml_errno = aml_errno_from_os(errno);
	return NULL;
}

void *aml_area_map_failed(void *ptr, size_t size, int err)
{
	aml_os_munmap(ptr, size);
	aml_errno = -err;
	return NULL;
}

int aml_area_fprintf_begin(FILE *stream, const char **prefix, const void *data, const char *kind)
{
	if (!stream)
		return -(aml_errno = AML_EINVAL);
	if (!*prefix)
		*prefix = "";
	if (data)
		return 1;
	fprintf(stream, "%s%s: (no data)\n", *prefix, kind);
	return AML_SUCCESS;
}
