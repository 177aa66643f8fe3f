/* Linux area on the VM's nodes, page by page: interleave over all nodes and
 * over a subset (every page on a node of the set, every node of the set
 * used, counts within one page of each other, neighbouring pages on
 * different nodes), bind to each single node, preferred on each node. */
#include <numaif.h>
#include <aml.h>
#include <aml/area/linux.h>
#include "areas.h"
#include "vmtest.h"

static int nodes;

static void check_interleave(const int *set, int count, const char *what)
{
	/* Not a multiple of the node count, so "within one page" is tested. */
	const size_t pages = 64 * (size_t)count + 3;
	long least, most;
	int *where = test_interleaved_pages(set, count, pages, what, &least, &most);
	for (size_t i = 1; count > 1 && i < pages; i++)
		CHECK(where[i] != where[i - 1], "%s: pages %zu and %zu both on node %d", what, i - 1, i, where[i]);
	CHECK(most - least <= 1, "%s: %ld to %ld pages per node", what, least, most);
	free(where);
}

/* Every page of a BIND or PREFERRED allocation on `node`. */
static void check_single(enum aml_area_linux_policy policy, int node)
{
	const size_t pages = 256, size = pages * test_page_size();
	char what[64];
	snprintf(what, sizeof(what), "%s node %d", aml_area_linux_policy_name(policy), node);
	struct aml_area *area = test_linux_area(policy, &node, 1);
	char *buf = test_area_touched(area, size, what);
	int *where = test_page_nodes_of(buf, size);
	long on_node = test_print_histogram(what, where, pages, node);
	CHECK(on_node == (long)pages, "%s: %ld of %zu pages there", what, on_node, pages);
	free(where);
	CHECK_EQ(aml_area_munmap(area, buf, size), AML_SUCCESS);
	aml_area_linux_destroy(&area);
}

int main(void)
{
	struct vm_nodes vm = vm_start_nodes();
	nodes = vm.count;
	CHECK(vm.subset_count > 0 && vm.subset_count < nodes, "AMLVM_SUBSET must be a proper subset");

	check_interleave(vm.all, nodes, "interleave all");
	check_interleave(vm.subset, vm.subset_count, "interleave subset");
	/* From either socket's CPUs: placement must not follow the toucher. */
	vm_run_on_node(1 % nodes);
	check_interleave(vm.subset, vm.subset_count, "interleave subset from node 1");
	vm_run_on_node(0);
	for (int node = 0; node < nodes; node++) {
		check_single(AML_AREA_LINUX_POLICY_BIND, node);
		check_single(AML_AREA_LINUX_POLICY_PREFERRED, node);
	}
	printf("linux area: placement checked on %d nodes\n", nodes);
	return 0;
}
