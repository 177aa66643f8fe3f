/* Helpers for the tests of the area library: Linux areas over chosen
 * nodes, mapped and touched buffers, descriptions through an in-memory
 * stream. Only the area tests pull this object in (the others
 * do not link libaml). */
#define _GNU_SOURCE
#include <stdio.h>
#include <numa.h>
#include <numaif.h>
#include <aml.h>
#include <aml/area/linux.h>

#include "areas.h"
#include "check.h"

struct aml_area *test_linux_area(int policy, const int *set, int count)
{
	struct bitmask *mask = test_mask_of(set, count);
	struct aml_area *area;
	CHECK_EQ(aml_area_linux_create(&area, mask, (enum aml_area_linux_policy)policy), AML_SUCCESS);
	numa_bitmask_free(mask);
	return area;
}

void *test_area_touched(struct aml_area *area, size_t size, const char *what)
{
	void *buf = aml_area_mmap(area, size, NULL);
	CHECK(buf != NULL, "%s: %s", what, aml_strerror(aml_errno));
	test_touch(buf, size);
	return buf;
}

int *test_interleaved_pages(const int *set, int count, size_t pages, const char *what, long *least, long *most)
{
	const size_t size = pages * test_page_size();
	struct aml_area *area = test_linux_area(AML_AREA_LINUX_POLICY_INTERLEAVE, set, count);
	char *buf = test_area_touched(area, size, what);
	int *where = test_page_nodes_of(buf, size);
	test_print_histogram(what, where, pages, -1);
	test_check_in_set(what, where, pages, set, count, least, most);
	CHECK(*least > 0, "%s: a node of the set got no page", what);
	int mode;
	CHECK_EQ(test_range_policy(buf, &mode, NULL), 0);
	CHECK(mode == MPOL_INTERLEAVE, "%s: kernel policy %d, not MPOL_INTERLEAVE", what, mode);
	CHECK_EQ(aml_area_munmap(area, buf, size), AML_SUCCESS);
	aml_area_linux_destroy(&area);
	return where;
}

char *test_area_text(const struct aml_area *area, const char *prefix)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	CHECK(out != NULL, "open_memstream");
	CHECK_EQ(aml_area_fprintf(out, prefix, area), AML_SUCCESS);
	fclose(out);
	return text;
}
