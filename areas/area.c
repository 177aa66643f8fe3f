/* The generic area calls: argument checks, then the area's ops. */
#define _GNU_SOURCE
#include <aml.h>

void *aml_area_mmap(const struct aml_area *area, size_t size, struct aml_area_mmap_options *opts)
{
	if (size == 0 || area == NULL || area->ops == NULL) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	if (area->ops->mmap == NULL) {
		aml_errno = AML_ENOTSUP;
		return NULL;
	}
	return area->ops->mmap(area->data, size, opts);
}

int aml_area_munmap(const struct aml_area *area, void *ptr, size_t size)
{
	if (ptr == NULL || size == 0)
		return AML_SUCCESS;
	if (area == NULL || area->ops == NULL)
		return -(aml_errno = AML_EINVAL);
	if (area->ops->munmap == NULL)
		return -(aml_errno = AML_ENOTSUP);
	return area->ops->munmap(area->data, ptr, size);
}

int aml_area_fprintf(FILE *stream, const char *prefix, const struct aml_area *area)
{
	if (stream == NULL)
		return -(aml_errno = AML_EINVAL);
	if (prefix == NULL)
		prefix = "";
	if (area == NULL) {
		fprintf(stream, "%sarea: (null)\n", prefix);
		return -(aml_errno = AML_EINVAL);
	}
	if (area->ops == NULL || area->ops->fprintf == NULL) {
		fprintf(stream, "%sarea: %p (no description)\n", prefix, (const void *)area);
		return AML_SUCCESS;
	}
	return area->ops->fprintf(area->data, stream, prefix);
}
