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
#include "areas.h"
#include "vmtest.h"

/* Pages one interleave step may hold: a huge page's worth when THP backs
 * anonymous memory by default, else one. */
static long interleave_unit_pages(void)
{
	int always = test_thp_always();
	printf("THP: %s\n", always ? "always" : "not always");
	return always ? (long)((2UL << 20) / test_page_size()) : 1;
}

static long unit_pages;

static void check_large_interleave(const int *set, int count, const char *what)
{
	const size_t pages = (8UL << 20) / test_page_size() + 3;
	long least, most;
	int *where = test_interleaved_pages(set, count, pages, what, &least, &most);
	size_t run = 1, longest = 1;
	for (size_t i = 1; i < pages; i++) {
		run = where[i] == where[i - 1] ? run + 1 : 1;
		longest = run > longest ? run : longest;
	}
	printf("%s: longest run of pages on one node: %zu\n", what, longest);
	/* One unit, plus the page left over where the range is not a whole
	 * number of units. */
	CHECK(most - least <= unit_pages + 1, "%s: %ld to %ld pages per node (unit %ld pages)", what, least,
	      most, unit_pages);
	free(where);
}

int main(void)
{
	struct vm_nodes vm = vm_start_nodes();
	int nodes = vm.count;
	unit_pages = interleave_unit_pages();
	check_large_interleave(vm.all, nodes, "8 MiB interleave all");
	check_large_interleave(vm.subset, vm.subset_count, "8 MiB interleave subset");
	return 0;
}
