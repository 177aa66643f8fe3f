/* Block-interleave area on the VM's nodes: blocks of 1, 2 and 512 pages,
 * allocations of 64 MiB and 1 GiB, over all nodes (and 2 pages over the
 * subset). Right after mmap the eager allocations (1 and 2 pages) are all
 * resident and the lazy ones (512 pages: one huge page per block) hold
 * nothing; once every page is written, every page of block b must be on
 * nodes[b % n]; the mmap may add only O(1) VMAs however many blocks there
 * are, and munmap removes them. */
#include <aml.h>
#include <sys/mman.h>
#include <time.h>
#include <aml/area/block.h>
#include "vmtest.h"

/* At most this many new lines in /proc/self/maps per allocation. */
#define MAX_NEW_VMAS 3

static void check_blocks(size_t block_pages, size_t size, const int *set, int count)
{
	const size_t page = test_page_size(), pages = size / page;
	char what[96];
	snprintf(what, sizeof(what), "%zu-page blocks, %zu MiB over %d nodes", block_pages,
	         size >> 20, count);
	struct bitmask *mask = test_mask_of(set, count);
	struct aml_area *area;
	CHECK_EQ(aml_area_block_create(&area, block_pages * page, mask), AML_SUCCESS);

	int placement = aml_area_block_placement(area);
	int vmas_before = test_vma_count();
	double t0 = test_now();
	char *buf = aml_area_mmap(area, size, NULL);
	double t1 = test_now();
	CHECK(buf != NULL, "%s: %s", what, aml_strerror(aml_errno));
	int vmas_after = test_vma_count();
	size_t resident = test_resident_pages(buf, size);
	test_touch(buf, size); /* the lazy path places pages at first touch */
	double t2 = test_now();
	printf("%s: %s, %zu pages resident after mmap; mmap %.0f ms, mmap + touch %.0f ms\n", what,
	       placement == AML_AREA_BLOCK_EAGER ? "eager" : "lazy", resident, (t1 - t0) * 1e3, (t2 - t0) * 1e3);
	/* Huge-page blocks over several nodes are lazy where THP is on (the
	 * VM's kernel has it "always"); other sizes are populated. */
	int want = count == 1                        ? AML_AREA_BLOCK_LAZY_ONE_NODE
	           : block_pages * page == 2UL << 20 ? AML_AREA_BLOCK_LAZY_HUGE
	                                             : AML_AREA_BLOCK_EAGER;
	CHECK(placement == want, "%s: placement %d, want %d", what, placement, want);
	CHECK(resident == (placement == AML_AREA_BLOCK_EAGER ? pages : 0), "%s: %zu of %zu pages resident after mmap",
	      what, resident, pages);

	int *where = test_page_nodes_of(buf, size);
	size_t wrong = test_blocks_misplaced(what, where, pages, block_pages, set, count);
	test_print_histogram(what, where, pages, -1);
	printf("%s: %d new VMA(s)\n", what, vmas_after - vmas_before);
	fflush(stdout);
	CHECK(wrong == 0, "%s: %zu of %zu pages on the wrong node", what, wrong, pages);
	CHECK(vmas_after - vmas_before <= MAX_NEW_VMAS, "%s: %d new VMAs (%zu blocks)", what,
	      vmas_after - vmas_before, pages / block_pages);
	free(where);

	CHECK_EQ(aml_area_munmap(area, buf, size), AML_SUCCESS);
	CHECK(test_vma_count() <= vmas_before, "%s: VMAs left after munmap", what);
	aml_area_block_destroy(&area);
	numa_bitmask_free(mask);
}

int main(void)
{
	struct vm_nodes vm = vm_start_nodes();
	int nodes = vm.count;

	const size_t block_pages[] = {1, 2, 512};
	const size_t sizes[] = {64UL << 20, 1UL << 30};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (size_t b = 0; b < sizeof(block_pages) / sizeof(block_pages[0]); b++)
			check_blocks(block_pages[b], sizes[s], vm.all, nodes);
	check_blocks(2, 64UL << 20, vm.subset, vm.subset_count);
	printf("block area: placement checked on %d nodes\n", nodes);
	return 0;
}
