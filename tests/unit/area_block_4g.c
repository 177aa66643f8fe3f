/* Block-interleave area at scale: 4 GiB in 2-page blocks is 524288 blocks,
 * eight times vm.max_map_count (65530), so it only works if the range
 * stays O(1) VMAs. Checks the node of every page, the VMA growth and the
 * thread policy, and prints the time against plain mmap + touch.
 * Skips when less than 6 GiB is available (small test VMs). */
#include <errno.h>
#include <numaif.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <aml.h>
#include <aml/area/block.h>
#include "check.h"

#define MAX_NODES 64
#define SIZE (4UL << 30)
#define PAGES_PER_BLOCK 2
#define MAXNODE 1025UL

static int nodes[MAX_NODES];
static int num_nodes;

static long meminfo_kib(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long value = -1;
	size_t len = strlen(key);
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, len) == 0 && line[len] == ':')
			value = strtol(line + len + 1, NULL, 10);
	if (f)
		fclose(f);
	return value;
}

static long max_map_count(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	long value = -1;
	if (f && fscanf(f, "%ld", &value) != 1)
		value = -1;
	if (f)
		fclose(f);
	return value;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int thread_mode(unsigned long *mask)
{
	int mode = -1;
	memset(mask, 0, 128);
	CHECK(syscall(SYS_get_mempolicy, &mode, mask, MAXNODE, NULL, 0UL) == 0, "get_mempolicy");
	return mode;
}

/* The reference: what the same memory costs without any placement. */
static void plain_mmap_touch(void)
{
	int vmas = test_vma_count();
	double t0 = now();
	char *buf = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(buf != MAP_FAILED, "plain mmap: %s", strerror(errno));
	test_touch(buf, SIZE);
	double took = now() - t0;
	printf("plain mmap + touch, 4 GiB:           %6.2f s, +%d VMAs\n", took, test_vma_count() - vmas);
	munmap(buf, SIZE);
}

/* 4 GiB from area; every page must sit on order[(page / 2) % count]. */
static void place_and_check(struct aml_area *area, const int *order, int count, const char *what)
{
	const size_t page = test_page_size(), pages = SIZE / page;
	unsigned long mask_before[16], mask_after[16];
	int mode_before = thread_mode(mask_before);
	int vmas = test_vma_count();
	double t0 = now();
	char *buf = aml_area_mmap(area, SIZE, NULL);
	double took = now() - t0;
	CHECK(buf != NULL, "%s: 4 GiB mmap: %s", what, aml_strerror(aml_errno));
	int grown = test_vma_count() - vmas;
	/* Written before the check: a lazy area places pages at first touch. */
	for (size_t off = 0; off < SIZE; off += page)
		buf[off] = (char)(off / page);
	double touched = now() - t0;
	printf("%-36s %6.2f s (mmap %.2f s), +%d VMAs\n", what, touched, took, grown);
	CHECK(grown <= 4, "%s: %d new VMAs for one allocation", what, grown);
	CHECK(thread_mode(mask_after) == mode_before && memcmp(mask_before, mask_after, sizeof(mask_before)) == 0,
	      "%s: thread policy changed", what);

	int *where = malloc(pages * sizeof(int));
	CHECK(where != NULL, "malloc");
	CHECK_EQ(test_pages_nodes(buf, SIZE, where), 0);
	for (size_t p = 0; p < pages; p++)
		CHECK(where[p] == order[(p / PAGES_PER_BLOCK) % (size_t)count],
		      "%s: page %zu on node %d, want %d", what, p, where[p], order[(p / PAGES_PER_BLOCK) % (size_t)count]);
	free(where);
	int mode;
	unsigned long kmask;
	CHECK_EQ(test_range_policy(buf + SIZE - page, &mode, &kmask), 0);
	CHECK(mode == MPOL_INTERLEAVE, "%s: range policy %d", what, mode);
	for (size_t off = 0; off < SIZE; off += page)
		CHECK(buf[off] == (char)(off / page), "%s: content of page %zu", what, off / page);
	CHECK_EQ(aml_area_munmap(area, buf, SIZE), AML_SUCCESS);
}

int main(void)
{
	if (numa_available() < 0)
		test_skip_hardware("kernel without NUMA support");
	long avail = meminfo_kib("MemAvailable");
	if (avail >= 0 && avail < (6L << 20))
		test_skip_hardware("%ld MiB available, the 4 GiB case needs 6 GiB", avail >> 10);
	num_nodes = test_allowed_nodes(nodes, MAX_NODES);
	CHECK(num_nodes > 0, "no memory node");
	printf("%d allowed node(s), vm.max_map_count %ld, %lu blocks of %d pages\n", num_nodes, max_map_count(),
	       SIZE / (PAGES_PER_BLOCK * test_page_size()), PAGES_PER_BLOCK);

	plain_mmap_touch();

	struct aml_area *area;
	CHECK_EQ(aml_area_block_create(&area, PAGES_PER_BLOCK * test_page_size(), NULL), AML_SUCCESS);
	place_and_check(area, nodes, num_nodes, "block area, all allowed nodes:");

	/* White box: a 4-position rotation (nodes[i % n]) runs the per-block
	 * path a 4-node machine runs, on however many nodes this one has. */
	int order[4];
	for (int i = 0; i < 4; i++)
		order[i] = nodes[i % num_nodes];
	struct aml_area_block_data *data = (struct aml_area_block_data *)area->data;
	data->num_nodes = 4;
	memcpy(data->nodes, order, sizeof(order));
	place_and_check(area, order, 4, "block area, rotation of 4 positions:");
	aml_area_block_destroy(&area);
	plain_mmap_touch();
	return 0;
}
