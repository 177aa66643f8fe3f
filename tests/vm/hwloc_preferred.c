/* hwloc preferred areas on the VM's HMAT, from a thread bound to node 0's
 * CPUs: bandwidth ranks the HBM-like node first, latency node 0, capacity
 * the largest node, and each area's pages all land on its first choice.
 * Then the bandwidth node is filled, and a new bandwidth allocation must go
 * to the next best node. */
#include <sys/mman.h>
#include <aml.h>
#include <aml/area/hwloc.h>
#include <aml/area/linux.h>
#include "vmtest.h"

#define AREA_SIZE (32UL << 20)

static struct aml_area_hwloc_preferred_data *ranking(struct aml_area *area)
{
	return (struct aml_area_hwloc_preferred_data *)area->data;
}

static void print_ranking(const char *what, struct aml_area *area)
{
	struct aml_area_hwloc_preferred_data *data = ranking(area);
	printf("%s (%s, %s):", what, aml_hwloc_rank_name(data->rank),
	       aml_hwloc_rank_source_name(data->source));
	for (unsigned i = 0; i < data->num_nodes; i++)
		printf(" %u%s", data->os_index[i], i < data->num_valued ? "" : "(no value)");
	printf("\n");
	fflush(stdout);
}

/* Allocates from the area, touches, and checks every page is on `node`. */
static void check_pages_on(const char *what, struct aml_area *area, int node)
{
	char *buf = aml_area_mmap(area, AREA_SIZE, NULL);
	CHECK(buf != NULL, "%s: %s", what, aml_strerror(aml_errno));
	test_touch(buf, AREA_SIZE);
	int *where = test_page_nodes_of(buf, AREA_SIZE);
	size_t pages = AREA_SIZE / test_page_size();
	long there = test_print_histogram(what, where, pages, node);
	CHECK(there == (long)pages, "%s: %ld of %zu pages on node %d", what, there, pages, node);
	free(where);
	CHECK_EQ(aml_area_munmap(area, buf, AREA_SIZE), AML_SUCCESS);
}

/* The area ranks `expect` first, with a value from HMAT, and places there. */
static void check_first_choice(const char *what, struct aml_area *area, int expect)
{
	print_ranking(what, area);
	struct aml_area_hwloc_preferred_data *data = ranking(area);
	CHECK(data->num_nodes > 0, "%s: no node ranked", what);
	CHECK(data->source == AML_HWLOC_SOURCE_MEMATTR, "%s: ranked from %s, not HMAT", what,
	      aml_hwloc_rank_source_name(data->source));
	CHECK((int)data->os_index[0] == expect, "%s: first choice node %u, want %d", what,
	      data->os_index[0], expect);
	check_pages_on(what, area, expect);
}

/* Fills `node` (preferred there, so the overflow spills instead of waking
 * the OOM killer) and returns the filling buffer. */
static char *fill_node(int node, size_t *size)
{
	long free_kb = vm_node_meminfo_kb(node, "MemFree");
	*size = ((size_t)free_kb << 10) + (16UL << 20);
	struct bitmask *mask = test_mask_of(&node, 1);
	struct aml_area *area;
	CHECK_EQ(aml_area_linux_create(&area, mask, AML_AREA_LINUX_POLICY_PREFERRED), AML_SUCCESS);
	char *buf = aml_area_mmap(area, *size, NULL);
	CHECK(buf != NULL, "fill node %d: %s", node, aml_strerror(aml_errno));
	test_touch(buf, *size);
	aml_area_linux_destroy(&area);
	numa_bitmask_free(mask);
	printf("filled node %d: MemFree %ld -> %ld KiB\n", node, free_kb,
	       vm_node_meminfo_kb(node, "MemFree"));
	CHECK(vm_node_meminfo_kb(node, "MemFree") < free_kb / 8, "node %d did not fill", node);
	return buf;
}

int main(int argc, char **argv)
{
	vm_start();
	const int bw_best = vm_env_int("AMLVM_BW_BEST"), bw_next = vm_env_int("AMLVM_BW_NEXT");
	const int lat_best = vm_env_int("AMLVM_LAT_BEST"), cap_best = vm_env_int("AMLVM_CAP_BEST");
	CHECK_EQ(aml_init(&argc, &argv), AML_SUCCESS);
	vm_run_on_node(0);
	const enum hwloc_distances_kind_e from_os = HWLOC_DISTANCES_KIND_FROM_OS;
	struct aml_area *area;

	/* The calling thread's binding as the initiator (node 0's CPUs). */
	CHECK_EQ(aml_area_hwloc_preferred_local_create(&area, from_os | HWLOC_DISTANCES_KIND_MEANS_BANDWIDTH),
	         AML_SUCCESS);
	check_first_choice("bandwidth, local", area, bw_best);
	aml_area_hwloc_preferred_destroy(&area);

	CHECK_EQ(aml_area_hwloc_preferred_local_create(&area, from_os | HWLOC_DISTANCES_KIND_MEANS_LATENCY),
	         AML_SUCCESS);
	check_first_choice("latency, local", area, lat_best);
	aml_area_hwloc_preferred_destroy(&area);

	/* AML's way: a core as the initiator (core 0 is one of node 0's). */
	hwloc_obj_t core = hwloc_get_obj_by_type(aml_topology, HWLOC_OBJ_CORE, 0);
	CHECK(core != NULL, "no core in aml_topology");
	hwloc_obj_t node0 = hwloc_get_numanode_obj_by_os_index(aml_topology, 0);
	CHECK(node0 != NULL && hwloc_bitmap_isincluded(core->cpuset, node0->cpuset),
	      "core 0 is not one of node 0's");
	CHECK_EQ(aml_area_hwloc_preferred_create(&area, core, from_os | HWLOC_DISTANCES_KIND_MEANS_BANDWIDTH),
	         AML_SUCCESS);
	check_first_choice("bandwidth, core 0", area, bw_best);
	aml_area_hwloc_preferred_destroy(&area);

	CHECK_EQ(aml_area_hwloc_ranked_create(&area, core, AML_HWLOC_RANK_CAPACITY), AML_SUCCESS);
	check_first_choice("capacity, core 0", area, cap_best);
	aml_area_hwloc_preferred_destroy(&area);

	/* The best bandwidth node full: the next best takes the allocation. */
	CHECK_EQ(aml_area_hwloc_preferred_local_create(&area, from_os | HWLOC_DISTANCES_KIND_MEANS_BANDWIDTH),
	         AML_SUCCESS);
	CHECK(ranking(area)->num_nodes > 1 && (int)ranking(area)->os_index[1] == bw_next,
	      "bandwidth: second choice node %u, want %d", ranking(area)->os_index[1], bw_next);
	size_t fill_size;
	char *fill = fill_node(bw_best, &fill_size);
	check_pages_on("bandwidth, best node full", area, bw_next);
	aml_area_hwloc_preferred_destroy(&area);
	munmap(fill, fill_size);

	CHECK_EQ(aml_finalize(), AML_SUCCESS);
	printf("hwloc preferred: bandwidth %d (then %d), latency %d, capacity %d\n", bw_best, bw_next,
	       lat_best, cap_best);
	return 0;
}
