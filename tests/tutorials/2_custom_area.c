/* Tutorial 2: writing your own area.
 *
 * An area is nothing more than a struct aml_area: a table of operations
 * (struct aml_area_ops: mmap, munmap, fprintf) and a pointer to private
 * data. Anything that fills these in is an area, and aml_area_mmap(),
 * aml_area_munmap() and aml_area_fprintf() work with it like with the
 * library's own. Only public headers are used here, plus libnuma.
 *
 * Our area interleaves blocks of two pages over every usable node: block
 * i of an allocation goes to node i % n. We check it page by page, then
 * with the checker of tutorial 0.
 *
 * Exit status: 0 when every page is where it should be, 1 otherwise. */
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <aml.h>
#include <aml/area/block.h>

#include "check.h"
#include "interleave_check.h"

#define MY_MAX_NODES 64
#define PAGES_PER_BLOCK 2

/* The area's private data: what mmap needs to place a buffer. aml.h only
 * declares struct aml_area_data; our ops cast it to this. */
struct my_data {
	size_t block_size;
	int num_nodes;
	int nodes[MY_MAX_NODES];
};

/* mmap: reserve the range, then give each block its node with mbind.
 * Pages are placed when first touched, by the policy of their block. */
static void *my_mmap(const struct aml_area_data *area_data, size_t size, struct aml_area_mmap_options *opts)
{
	(void)opts; /* this area takes no per-call options */
	const struct my_data *data = (const struct my_data *)area_data;
	char *ptr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ptr == MAP_FAILED) {
		aml_errno = AML_ENOMEM; /* areas report errors through aml_errno */
		return NULL;
	}
	for (size_t off = 0, block = 0; off < size; off += data->block_size, block++) {
		unsigned long mask[CHECK_MASK_WORDS] = {0};
		node_mask_set(mask, data->nodes[block % (size_t)data->num_nodes]);
		size_t len = size - off < data->block_size ? size - off : data->block_size;
		/* One mbind per block is the simplest way, and fine for a small
		 * buffer, but each block whose policy differs from its neighbour's
		 * becomes its own VMA (kernel memory region): on two or more nodes
		 * 4 GiB in 8 KiB blocks would need 524288 of them, and a process
		 * may have only 65530 (vm.max_map_count). The library's block area (aml/area/block.h)
		 * places blocks through the thread's policy instead and keeps a
		 * whole allocation in one VMA. */
		if (mbind(ptr + off, len, MPOL_BIND, mask, CHECK_MASK_BITS + 1, 0) != 0) {
			munmap(ptr, size);
			aml_errno = AML_FAILURE;
			return NULL;
		}
	}
	return ptr;
}

static int my_munmap(const struct aml_area_data *area_data, void *ptr, size_t size)
{
	(void)area_data;
	return munmap(ptr, size) == 0 ? AML_SUCCESS : -(aml_errno = AML_EINVAL);
}

/* fprintf: one line describing the area, after the caller's prefix. */
static int my_fprintf(const struct aml_area_data *area_data, FILE *stream, const char *prefix)
{
	const struct my_data *data = (const struct my_data *)area_data;
	fprintf(stream, "%smy-area: blocks of %zu bytes over nodes", prefix, data->block_size);
	for (int i = 0; i < data->num_nodes; i++)
		fprintf(stream, "%s%d", i ? "," : " ", data->nodes[i]);
	fprintf(stream, "\n");
	return AML_SUCCESS;
}

/* The constructor. AML_INNER_MALLOC allocates the area, its ops table and
 * its data in one zeroed block; AML_INNER_MALLOC_GET_FIELD finds the N-th
 * of them. One free() releases everything. */
static int my_area_create(struct aml_area **area, size_t block_size)
{
	struct aml_area *ret = AML_INNER_MALLOC(struct aml_area, struct aml_area_ops, struct my_data);
	if (!ret)
		return -(aml_errno = AML_ENOMEM);
	ret->ops = AML_INNER_MALLOC_GET_FIELD(ret, 2, struct aml_area, struct aml_area_ops, struct my_data);
	ret->ops->mmap = my_mmap;
	ret->ops->munmap = my_munmap;
	ret->ops->fprintf = my_fprintf;
	struct my_data *data = AML_INNER_MALLOC_GET_FIELD(ret, 3, struct aml_area, struct aml_area_ops, struct my_data);
	ret->data = (struct aml_area_data *)data;

	data->block_size = block_size;
	struct bitmask *allowed = numa_get_mems_allowed(); /* every usable node */
	for (unsigned node = 0; node < allowed->size && data->num_nodes < MY_MAX_NODES; node++)
		if (numa_bitmask_isbitset(allowed, node))
			data->nodes[data->num_nodes++] = (int)node;
	numa_bitmask_free(allowed);
	*area = ret;
	return AML_SUCCESS;
}

static void my_area_destroy(struct aml_area **area)
{
	free(*area);
	*area = NULL;
}

int main(void)
{
	if (numa_available() < 0)
		test_skip_hardware("kernel without NUMA support");
	const size_t page = (size_t)sysconf(_SC_PAGESIZE), block = PAGES_PER_BLOCK * page;

	struct aml_area *area;
	CHECK(my_area_create(&area, block) == AML_SUCCESS, "create");
	aml_area_fprintf(stdout, "created: ", area); /* calls my_fprintf */
	const struct my_data *data = (const struct my_data *)area->data;

	/* 32 blocks; the generic calls reach our ops. */
	const size_t size = 32 * block, pages = size / page;
	int vmas_before = test_vma_count();
	char *buf = aml_area_mmap(area, size, NULL);
	CHECK(buf != NULL, "mmap: %s", aml_strerror(aml_errno));
	int vmas_per_block = test_vma_count() - vmas_before;
	memset(buf, 0, size); /* place the pages */

	/* Page by page: page p is in block p / 2, which belongs to node
	 * nodes[block % n]. move_pages with no target nodes only reports. */
	void *addrs[32 * PAGES_PER_BLOCK];
	int where[32 * PAGES_PER_BLOCK];
	for (size_t p = 0; p < pages; p++)
		addrs[p] = buf + p * page;
	CHECK(move_pages(0, pages, addrs, NULL, where, 0) == 0, "move_pages");
	for (size_t p = 0; p < pages; p++) {
		int want = data->nodes[(p / PAGES_PER_BLOCK) % (size_t)data->num_nodes];
		CHECK(where[p] == want, "page %zu (block %zu) on node %d, want %d", p, p / PAGES_PER_BLOCK, where[p], want);
	}
	printf("all %zu pages on their block's node\n", pages);

	/* The checker of tutorial 0. With two or more nodes it sees blocks
	 * taking turns over the nodes: interleaved. With one node every block
	 * is simply bound to that node, and no page has an interleave policy:
	 * not interleaved, and rightly so. */
	const char *how = "";
	int verdict = is_interleaved(buf, size, block, &how);
	printf("our area's memory: %s (%s)\n", interleave_verdict(verdict), how);
	CHECK(verdict == (data->num_nodes >= 2), "expected %s", interleave_verdict(data->num_nodes >= 2));
	CHECK(aml_area_munmap(area, buf, size) == AML_SUCCESS, "munmap");
	const int data_nodes = data->num_nodes;
	my_area_destroy(&area);

	/* The same placement from the library's block area, for comparison:
	 * one allocation, a constant number of new VMAs. */
	struct aml_area *lib;
	CHECK(aml_area_block_create(&lib, block, NULL) == AML_SUCCESS, "block area: %s", aml_strerror(aml_errno));
	vmas_before = test_vma_count();
	buf = aml_area_mmap(lib, size, NULL);
	CHECK(buf != NULL, "block area mmap: %s", aml_strerror(aml_errno));
	int vmas_lib = test_vma_count() - vmas_before;
	printf("new VMAs for %zu blocks: %d with mbind per block, %d from aml_area_block\n", size / block,
	       vmas_per_block, vmas_lib);
	if (data_nodes == 1)
		printf("(one node: every block has the same policy, so the kernel merged them)\n");
	CHECK(vmas_lib <= 4, "the block area must not split its range");
	if (data_nodes >= 2)
		CHECK(vmas_per_block >= (int)(size / block) - 2, "per-block mbind should have split the range");
	aml_area_munmap(lib, buf, size);
	aml_area_block_destroy(&lib);
	return 0;
}
