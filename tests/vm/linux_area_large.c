/* Linux area interleave on buffers larger than a transparent huge page
 * (8 MiB + 3 pages), over all nodes and over the subset: every page on a
 * node of the set, every node used, counts balanced. The kernel interleaves
 * by the page that backs the range: with THP "always" (Debian's default,
 * and the VM's) a huge page is the unit, so counts are balanced within one
 * huge page; with THP off or "madvise", within one page. The area keeps
 * THP on purpose: interleave is for bandwidth, and huge pages spare the
 * TLB (include/aml/area/linux.h says so). */
#include <aml.h>
#include <aml/area/linux.h>
#include "vmtest.h"

/* Pages one interleave step may hold: a huge page's worth when THP backs
 * anonymous memory by default, else one. */
static long interleave_unit_pages(void)
{
	char mode[128] = "unknown";
	FILE *file = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (file) {
		if (!fgets(mode, sizeof(mode), file))
			strcpy(mode, "unknown\n");
		fclose(file);
	}
	printf("THP: %s", mode);
	return strstr(mode, "[always]") ? (long)((2UL << 20) / test_page_size()) : 1;
}

static long unit_pages;

static void check_large_interleave(const int *set, int count, const char *what)
{
	const size_t pages = (8UL << 20) / test_page_size() + 3, size = pages * test_page_size();
	struct bitmask *mask = vm_mask_of(set, count);
	struct aml_area *area;
	CHECK_EQ(aml_area_linux_create(&area, mask, AML_AREA_LINUX_POLICY_INTERLEAVE), AML_SUCCESS);
	char *buf = aml_area_mmap(area, size, NULL);
	CHECK(buf != NULL, "%s: %s", what, aml_strerror(aml_errno));
	test_touch(buf, size);
	int *where = vm_page_nodes(buf, size);
	vm_histogram(what, where, pages, -1);
	long per_node[VM_MAX_NODES] = {0};
	size_t run = 1, longest = 1;
	for (size_t i = 0; i < pages; i++) {
		int in_set = 0;
		for (int k = 0; k < count; k++)
			in_set |= where[i] == set[k];
		CHECK(in_set, "%s: page %zu on node %d, outside the set", what, i, where[i]);
		per_node[where[i]]++;
		run = i > 0 && where[i] == where[i - 1] ? run + 1 : 1;
		longest = run > longest ? run : longest;
	}
	printf("%s: longest run of pages on one node: %zu\n", what, longest);
	long least = (long)pages, most = 0;
	for (int k = 0; k < count; k++) {
		least = per_node[set[k]] < least ? per_node[set[k]] : least;
		most = per_node[set[k]] > most ? per_node[set[k]] : most;
	}
	CHECK(least > 0, "%s: a node of the set got no page", what);
	/* One unit, plus the page left over where the range is not a whole
	 * number of units. */
	CHECK(most - least <= unit_pages + 1, "%s: %ld to %ld pages per node (unit %ld pages)", what, least,
	      most, unit_pages);
	free(where);
	CHECK_EQ(aml_area_munmap(area, buf, size), AML_SUCCESS);
	aml_area_linux_destroy(&area);
	numa_bitmask_free(mask);
}

int main(void)
{
	int nodes = vm_start();
	int all[VM_MAX_NODES], subset[VM_MAX_NODES];
	for (int i = 0; i < nodes; i++)
		all[i] = i;
	int subset_count = vm_parse_list(vm_env("AMLVM_SUBSET"), subset, VM_MAX_NODES);
	unit_pages = interleave_unit_pages();
	check_large_interleave(all, nodes, "8 MiB interleave all");
	check_large_interleave(subset, subset_count, "8 MiB interleave subset");
	return 0;
}
