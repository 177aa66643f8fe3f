/* Block-interleave placed lazily (blocks of one 2 MiB huge page, THP
 * "always" in the VM) against the eager path (64 KiB blocks).
 *  - 1 GiB over all nodes: right after mmap no page of it is resident and
 *    the process's resident set grew by less than 4 MiB; the description
 *    says "lazy"; once every page is written, block b is on node b mod n,
 *    page by page; the allocation is one VMA.
 *  - The node comes from the page's offset, not from who touches it or
 *    when: 64 MiB + 1 MiB (a partial last block, populated at mmap) touched
 *    last block first from a thread on node 1's CPUs, and 32 MiB over the
 *    subset, land the same.
 *  - 256 MiB of 64 KiB blocks (eager): all resident right after mmap,
 *    placed already (the documented cost of that path).
 *  - Measured, not required: pages read before they are written map the
 *    kernel's zero huge page, and the write that follows takes 4 KiB pages
 *    that the interleave spreads page by page (include/aml/area/block.h). */
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include <aml.h>
#include <aml/area/block.h>
#include "vmtest.h"

#define HUGE (2UL << 20)

/* The process's resident set (statm), in bytes. */
static size_t rss_bytes(void)
{
	FILE *file = fopen("/proc/self/statm", "r");
	unsigned long size = 0, resident = 0;
	CHECK(file && fscanf(file, "%lu %lu", &size, &resident) == 2, "statm");
	fclose(file);
	return resident * test_page_size();
}

static struct aml_area *area_over(size_t block, const int *set, int count)
{
	struct bitmask *mask = test_mask_of(set, count);
	struct aml_area *area;
	CHECK_EQ(aml_area_block_create(&area, block, mask), AML_SUCCESS);
	numa_bitmask_free(mask);
	return area;
}

/* Every page of [buf, buf + size) on set[(page / block) % count] (the
 * first misplaced ones and the histogram printed); then unmaps it and
 * destroys the area. */
static void check_placed(const char *what, struct aml_area **area, char *buf, size_t size, size_t block,
                         const int *set, int count)
{
	const size_t page = test_page_size(), pages = size / page;
	int *where = test_page_nodes_of(buf, size);
	size_t wrong = test_blocks_misplaced(what, where, pages, block / page, set, count);
	test_print_histogram(what, where, pages, -1);
	free(where);
	CHECK(wrong == 0, "%s: %zu of %zu pages not on their block's node", what, wrong, pages);
	CHECK_EQ(aml_area_munmap(*area, buf, size), AML_SUCCESS);
	aml_area_block_destroy(area);
}

static void check_description(struct aml_area *area, const char *want)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	CHECK_EQ(aml_area_fprintf(out, "", area), AML_SUCCESS);
	fclose(out);
	CHECK(strstr(text, want) != NULL, "description \"%s\" lacks \"%s\"", text, want);
	printf("%s", text);
	free(text);
}

/* One mapping through the area, with what it cost at once: its time, the
 * growth of the resident set and the pages already resident. */
struct mapped {
	char *buf;
	double ms;
	size_t grown, resident;
};

static struct mapped map_measured(struct aml_area *area, size_t size, const char *what)
{
	struct mapped m;
	size_t rss = rss_bytes();
	double t0 = test_now();
	m.buf = aml_area_mmap(area, size, NULL);
	m.ms = (test_now() - t0) * 1e3;
	CHECK(m.buf != NULL, "%s: %s", what, aml_strerror(aml_errno));
	m.grown = rss_bytes() - rss;
	m.resident = test_resident_pages(m.buf, size);
	return m;
}

static void check_gigabyte(const int *all, int nodes)
{
	const size_t size = 1UL << 30, pages = size / test_page_size();
	struct aml_area *area = area_over(HUGE, all, nodes);
	CHECK_EQ(aml_area_block_placement(area), AML_AREA_BLOCK_LAZY_HUGE);
	check_description(area, "placement: lazy (interleave by huge page)");
	int vmas = test_vma_count();
	double t0 = test_now();
	struct mapped m = map_measured(area, size, "1 GiB");
	int new_vmas = test_vma_count() - vmas;
	printf("1 GiB of 2 MiB blocks: mmap %.1f ms, resident set +%zu KiB, %zu of %zu pages resident, +%d VMA(s)\n",
	       m.ms, m.grown >> 10, m.resident, pages, new_vmas);
	fflush(stdout);
	CHECK(m.resident == 0, "1 GiB lazy: %zu pages resident right after mmap", m.resident);
	CHECK(m.grown < (4UL << 20), "1 GiB lazy: the resident set grew by %zu KiB at mmap", m.grown >> 10);
	CHECK(new_vmas <= 1, "1 GiB lazy: %d new VMAs", new_vmas);
	test_touch(m.buf, size);
	printf("1 GiB of 2 MiB blocks: mmap + touch %.2f s\n", test_now() - t0);
	check_placed("1 GiB, 2 MiB blocks, touched in order", &area, m.buf, size, HUGE, all, nodes);
}

struct job {
	char *buf;
	size_t size;
};

/* Touches the range block by block from its last block to its first. */
static void *touch_backwards(void *arg)
{
	struct job *job = arg;
	vm_run_on_node(1);
	for (size_t end = job->size; end > 0;) {
		size_t start = end > HUGE ? (end - 1) / HUGE * HUGE : 0;
		test_touch(job->buf + start, end - start);
		end = start;
	}
	return NULL;
}

static void check_backwards_with_tail(const int *all, int nodes)
{
	const size_t size = (64UL << 20) + (1UL << 20), page = test_page_size();
	struct aml_area *area = area_over(HUGE, all, nodes);
	char *buf = aml_area_mmap(area, size, NULL);
	CHECK(buf != NULL, "65 MiB: %s", aml_strerror(aml_errno));
	size_t resident = test_resident_pages(buf, size);
	printf("65 MiB of 2 MiB blocks: %zu pages resident after mmap (the partial last block)\n", resident);
	CHECK(resident == (1UL << 20) / page, "65 MiB lazy: %zu pages resident after mmap, want the last MiB", resident);
	struct job job = {buf, size};
	pthread_t thread;
	CHECK_EQ(pthread_create(&thread, NULL, touch_backwards, &job), 0);
	pthread_join(thread, NULL);
	check_placed("65 MiB, touched backwards from node 1", &area, buf, size, HUGE, all, nodes);
}

static void check_subset(const int *subset, int count)
{
	const size_t size = 32UL << 20;
	struct aml_area *area = area_over(HUGE, subset, count);
	char *buf = aml_area_mmap(area, size, NULL);
	CHECK(buf != NULL, "subset: %s", aml_strerror(aml_errno));
	CHECK(test_resident_pages(buf, size) == 0, "subset: resident after mmap");
	test_touch(buf, size);
	check_placed("32 MiB, 2 MiB blocks over the subset", &area, buf, size, HUGE, subset, count);
}

static void check_eager(const int *all, int nodes)
{
	const size_t size = 256UL << 20, block = 64UL << 10, pages = size / test_page_size();
	struct aml_area *area = area_over(block, all, nodes);
	CHECK_EQ(aml_area_block_placement(area), AML_AREA_BLOCK_EAGER);
	check_description(area, "placement: eager (populated)");
	struct mapped m = map_measured(area, size, "256 MiB eager");
	printf("256 MiB of 64 KiB blocks: mmap %.0f ms, resident set +%zu MiB, %zu of %zu pages resident\n",
	       m.ms, m.grown >> 20, m.resident, pages);
	CHECK(m.resident == pages, "256 MiB eager: %zu of %zu pages resident after mmap", m.resident, pages);
	check_placed("256 MiB, 64 KiB blocks, right after mmap", &area, m.buf, size, block, all, nodes);
}

/* Reads every page, then writes it: reported, not required. */
static void measure_read_first(const int *all, int nodes)
{
	const size_t size = 32UL << 20, page = test_page_size(), pages = size / page;
	struct aml_area *area = area_over(HUGE, all, nodes);
	char *buf = aml_area_mmap(area, size, NULL);
	CHECK(buf != NULL, "read first: %s", aml_strerror(aml_errno));
	volatile char sum = 0;
	for (size_t off = 0; off < size; off += page)
		sum += ((volatile char *)buf)[off];
	test_touch(buf, size);
	int *where = test_page_nodes_of(buf, size);
	test_check_in_set("read first", where, pages, all, nodes, NULL, NULL);
	size_t right = pages - test_blocks_misplaced(NULL, where, pages, HUGE / page, all, nodes);
	printf("32 MiB of 2 MiB blocks read before written: %zu of %zu pages on their block's node (not required)\n",
	       right, pages);
	test_print_histogram("read first, then written", where, pages, -1);
	free(where);
	CHECK_EQ(aml_area_munmap(area, buf, size), AML_SUCCESS);
	aml_area_block_destroy(&area);
}

int main(void)
{
	struct vm_nodes vm = vm_start_nodes();
	int nodes = vm.count;
	check_gigabyte(vm.all, nodes);
	check_backwards_with_tail(vm.all, nodes);
	if (vm.subset_count >= 2)
		check_subset(vm.subset, vm.subset_count);
	check_eager(vm.all, nodes);
	measure_read_first(vm.all, nodes);
	printf("block area, lazy and eager: checked on %d nodes\n", nodes);
	return 0;
}
