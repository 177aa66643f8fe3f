/* Linux area on the VM's nodes, page by page: interleave over all nodes and
 * over a subset (every page on a node of the set, every node of the set
 * used, counts within one page of each other, neighbouring pages on
 * different nodes), bind to each single node, preferred on each node. */
#include <numaif.h>
#include <aml.h>
#include <aml/area/linux.h>
#include "vmtest.h"

static int nodes;

static void check_interleave(const int *set, int count, const char *what)
{
	/* Not a multiple of the node count, so "within one page" is tested. */
	const size_t pages = 64 * (size_t)count + 3, size = pages * test_page_size();
	struct bitmask *mask = vm_mask_of(set, count);
	struct aml_area *area;
	CHECK_EQ(aml_area_linux_create(&area, mask, AML_AREA_LINUX_POLICY_INTERLEAVE), AML_SUCCESS);
	char *buf = aml_area_mmap(area, size, NULL);
	CHECK(buf != NULL, "%s: %s", what, aml_strerror(aml_errno));
	test_touch(buf, size);

	int *where = vm_page_nodes(buf, size);
	vm_histogram(what, where, pages, -1);
	long per_node[VM_MAX_NODES] = {0};
	for (size_t i = 0; i < pages; i++) {
		int in_set = 0;
		for (int k = 0; k < count; k++)
			in_set |= where[i] == set[k];
		CHECK(in_set, "%s: page %zu on node %d, outside the set", what, i, where[i]);
		per_node[where[i]]++;
		if (count > 1 && i > 0)
			CHECK(where[i] != where[i - 1], "%s: pages %zu and %zu both on node %d",
			      what, i - 1, i, where[i]);
	}
	long least = (long)pages, most = 0;
	for (int k = 0; k < count; k++) {
		least = per_node[set[k]] < least ? per_node[set[k]] : least;
		most = per_node[set[k]] > most ? per_node[set[k]] : most;
	}
	CHECK(least > 0, "%s: a node of the set got no page", what);
	CHECK(most - least <= 1, "%s: %ld to %ld pages per node", what, least, most);
	int mode;
	unsigned long kmask;
	CHECK_EQ(test_range_policy(buf, &mode, &kmask), 0);
	CHECK(mode == MPOL_INTERLEAVE, "%s: kernel policy %d, not MPOL_INTERLEAVE", what, mode);
	free(where);
	CHECK_EQ(aml_area_munmap(area, buf, size), AML_SUCCESS);
	aml_area_linux_destroy(&area);
	numa_bitmask_free(mask);
}

/* Every page of a BIND or PREFERRED allocation on `node`. */
static void check_single(enum aml_area_linux_policy policy, int node)
{
	const size_t pages = 256, size = pages * test_page_size();
	struct bitmask *mask = vm_mask_of(&node, 1);
	struct aml_area *area;
	char what[64];
	snprintf(what, sizeof(what), "%s node %d", aml_area_linux_policy_name(policy), node);
	CHECK_EQ(aml_area_linux_create(&area, mask, policy), AML_SUCCESS);
	char *buf = aml_area_mmap(area, size, NULL);
	CHECK(buf != NULL, "%s: %s", what, aml_strerror(aml_errno));
	test_touch(buf, size);
	int *where = vm_page_nodes(buf, size);
	long on_node = vm_histogram(what, where, pages, node);
	CHECK(on_node == (long)pages, "%s: %ld of %zu pages there", what, on_node, pages);
	free(where);
	CHECK_EQ(aml_area_munmap(area, buf, size), AML_SUCCESS);
	aml_area_linux_destroy(&area);
	numa_bitmask_free(mask);
}

int main(void)
{
	nodes = vm_start();
	int all[VM_MAX_NODES], subset[VM_MAX_NODES];
	for (int i = 0; i < nodes; i++)
		all[i] = i;
	int subset_count = vm_parse_list(vm_env("AMLVM_SUBSET"), subset, VM_MAX_NODES);
	CHECK(subset_count > 0 && subset_count < nodes, "AMLVM_SUBSET must be a proper subset");

	check_interleave(all, nodes, "interleave all");
	check_interleave(subset, subset_count, "interleave subset");
	/* From either socket's CPUs: placement must not follow the toucher. */
	vm_run_on_node(1 % nodes);
	check_interleave(subset, subset_count, "interleave subset from node 1");
	vm_run_on_node(0);
	for (int node = 0; node < nodes; node++) {
		check_single(AML_AREA_LINUX_POLICY_BIND, node);
		check_single(AML_AREA_LINUX_POLICY_PREFERRED, node);
	}
	printf("linux area: placement checked on %d nodes\n", nodes);
	return 0;
}
