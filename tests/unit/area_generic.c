/* The generic area API: argument handling, errors, fprintf, AML_INNER_MALLOC. */
#include <errno.h>
#include <string.h>
#include <aml.h>
#include <aml/area/linux.h>
#include "check.h"

struct custom_data {
	int mmaps;
	char tag[24];
};

static void *custom_mmap(const struct aml_area_data *data, size_t size, struct aml_area_mmap_options *opts)
{
	(void)opts;
	((struct custom_data *)data)->mmaps++;
	return calloc(1, size);
}

static int custom_munmap(const struct aml_area_data *data, void *ptr, size_t size)
{
	(void)data;
	(void)size;
	free(ptr);
	return AML_SUCCESS;
}

int main(void)
{
	/* Size 0 and NULL arguments. */
	aml_errno = AML_SUCCESS;
	CHECK(aml_area_mmap(&aml_area_linux, 0, NULL) == NULL, "size 0 must give NULL");
	CHECK_EQ(aml_errno, AML_EINVAL);
	CHECK(aml_area_mmap(NULL, 4096, NULL) == NULL, "NULL area must give NULL");
	CHECK_EQ(aml_errno, AML_EINVAL);
	CHECK_EQ(aml_area_munmap(&aml_area_linux, NULL, 4096), AML_SUCCESS);
	CHECK_EQ(aml_area_munmap(&aml_area_linux, (void *)4096, 0), AML_SUCCESS);
	CHECK_EQ(aml_area_munmap(NULL, (void *)4096, 4096), -AML_EINVAL);

	/* Error strings, both signs, out of range. */
	CHECK(strcmp(aml_strerror(AML_ENOMEM), aml_strerror(-AML_ENOMEM)) == 0, "sign");
	CHECK(strcmp(aml_strerror(AML_EDOM), "Value out of bound") == 0, "EDOM text");
	CHECK(strcmp(aml_strerror(1000), "Unknown error") == 0, "unknown code");

	/* aml_errno is per thread: a value set here is not seen as another's. */
	aml_errno = AML_EBUSY;
	CHECK_EQ(aml_errno, AML_EBUSY);

	/* An ops table with no mmap/fprintf: ENOTSUP, and fprintf never crashes. */
	struct aml_area_ops empty_ops = {0};
	struct aml_area empty = {.ops = &empty_ops, .data = NULL};
	CHECK(aml_area_mmap(&empty, 4096, NULL) == NULL, "no mmap op");
	CHECK_EQ(aml_errno, AML_ENOTSUP);
	CHECK_EQ(aml_area_munmap(&empty, (void *)4096, 4096), -AML_ENOTSUP);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	CHECK_EQ(aml_area_fprintf(out, "# ", &empty), AML_SUCCESS);
	CHECK_EQ(aml_area_fprintf(out, NULL, &aml_area_linux), AML_SUCCESS);
	CHECK_EQ(aml_area_fprintf(out, "# ", NULL), -AML_EINVAL);
	fclose(out);
	CHECK(strstr(text, "# area: ") != NULL, "generic line missing: %s", text);
	CHECK(strstr(text, "area-linux: policy default") != NULL, "linux line missing: %s", text);
	free(text);

	/* A custom area in one AML_INNER_MALLOC block, fields aligned. */
	struct aml_area *area = AML_INNER_MALLOC(struct aml_area, struct aml_area_ops, struct custom_data);
	CHECK(area != NULL, "inner malloc");
	area->ops = AML_INNER_MALLOC_GET_FIELD(area, 2, struct aml_area, struct aml_area_ops, struct custom_data);
	area->data = AML_INNER_MALLOC_GET_FIELD(area, 3, struct aml_area, struct aml_area_ops, struct custom_data);
	CHECK((void *)area->ops >= (void *)(area + 1), "ops overlaps the area");
	CHECK((char *)area->data >= (char *)area->ops + sizeof(struct aml_area_ops), "data overlaps ops");
	CHECK(((unsigned long)area->data % _Alignof(max_align_t)) == 0, "data misaligned");
	area->ops->mmap = custom_mmap;
	area->ops->munmap = custom_munmap;
	char *p = aml_area_mmap(area, 100, NULL);
	CHECK(p != NULL, "custom mmap");
	memset(p, 7, 100);
	CHECK_EQ(((struct custom_data *)area->data)->mmaps, 1);
	CHECK_EQ(aml_area_munmap(area, p, 100), AML_SUCCESS);
	free(area);

	/* Backend checks: unknown flags are not supported; LIBNUMA is here. */
	CHECK_EQ(aml_support_backends(1UL << 20), 0);
	CHECK_EQ(aml_support_backends(AML_BACKEND_LIBNUMA), 1);
	CHECK_EQ(aml_init(NULL, NULL), AML_SUCCESS);
	CHECK_EQ(aml_finalize(), AML_SUCCESS);
	return 0;
}
