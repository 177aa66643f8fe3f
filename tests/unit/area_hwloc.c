/* hwloc areas: the static areas (usable before aml_init), created areas for
 * each policy over all nodes, each single node and a strict subset:
 * content round trip, the policy the kernel reports, the node of every
 * page; error paths; fprintf. */
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <sched.h>
#include <string.h>
#include <aml.h>
#include <aml/area/hwloc.h>
#include "areas.h"
#include "check.h"

#define MAX_NODES 64
static int nodes[MAX_NODES];
static int num_nodes;
static int local_node; /* node of the CPU this thread is pinned to */

static const char *policy_text(hwloc_membind_policy_t policy)
{
	switch (policy) {
	case HWLOC_MEMBIND_DEFAULT: return "default";
	case HWLOC_MEMBIND_FIRSTTOUCH: return "firsttouch";
	case HWLOC_MEMBIND_BIND: return "bind";
	case HWLOC_MEMBIND_INTERLEAVE: return "interleave";
	default: return "?";
	}
}

static hwloc_bitmap_t nodeset_of(const int *list, int count)
{
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	for (int i = 0; i < count; i++)
		hwloc_bitmap_set(set, (unsigned)list[i]);
	return set;
}

static unsigned long first_word(const int *list, int count)
{
	unsigned long mask = 0;
	for (int i = 0; i < count; i++)
		if (list[i] < 64)
			mask |= 1UL << list[i];
	return mask;
}

/* "0-3,6" for a list of increasing nodes: the oracle for fprintf. */
static void list_text(const int *list, int count, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < count; i++) {
		int j = i;
		while (j + 1 < count && list[j + 1] == list[j] + 1)
			j++;
		used += (size_t)(j > i ? snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "", list[i], list[j])
		                       : snprintf(buf + used, len - used, "%s%d", used ? "," : "", list[i]));
		i = j;
	}
}

/* Maps, writes, reads back, checks the kernel's policy and page nodes.
 * set/count: the nodes the area was made with (all nodes for NULL). */
static void check_area(const struct aml_area *area, hwloc_membind_policy_t policy,
                       const int *set, int count)
{
	const size_t pages = 64 * (size_t)count, size = pages * test_page_size();
	unsigned char *buf = aml_area_mmap(area, size, NULL);
	CHECK(buf != NULL, "mmap %s: %s", policy_text(policy), aml_strerror(aml_errno));
	for (size_t i = 0; i < size; i++)
		buf[i] = (unsigned char)(i * 13 + 1);
	for (size_t i = 0; i < size; i++)
		CHECK(buf[i] == (unsigned char)(i * 13 + 1), "%s: content at %zu", policy_text(policy), i);

	int mode;
	unsigned long kmask;
	CHECK_EQ(test_range_policy(buf, &mode, &kmask), 0);
	CHECK_EQ(test_range_policy(buf + size - 1, &mode, &kmask), 0);
	switch (policy) {
	case HWLOC_MEMBIND_DEFAULT:
		CHECK(mode == MPOL_DEFAULT, "default: kernel mode %d", mode);
		break;
	case HWLOC_MEMBIND_FIRSTTOUCH:
		/* Kernels before 4.x report MPOL_LOCAL as preferred with no node. */
		CHECK(mode == MPOL_LOCAL || (mode == MPOL_PREFERRED && kmask == 0),
		      "firsttouch: kernel mode %d mask %#lx", mode, kmask);
		break;
	case HWLOC_MEMBIND_BIND:
		CHECK(mode == MPOL_BIND, "bind: kernel mode %d", mode);
		CHECK(kmask == first_word(set, count), "bind: kernel mask %#lx", kmask);
		break;
	default:
		CHECK(mode == MPOL_INTERLEAVE, "interleave: kernel mode %d", mode);
		CHECK(kmask == first_word(set, count), "interleave: kernel mask %#lx", kmask);
		break;
	}

	int *where = test_resident_nodes(buf, size);
	if (policy == HWLOC_MEMBIND_BIND || policy == HWLOC_MEMBIND_INTERLEAVE) {
		long least, most, share = (long)(pages / count);
		test_check_in_set(policy_text(policy), where, pages, set, count, &least, &most);
		if (policy == HWLOC_MEMBIND_INTERLEAVE)
			CHECK(least >= share - 1 && most <= share + 1, "interleave: %ld to %ld of %zu pages per node",
			      least, most, pages);
	}
	for (size_t i = 0; policy != HWLOC_MEMBIND_BIND && policy != HWLOC_MEMBIND_INTERLEAVE && i < pages; i++)
		CHECK(where[i] == local_node, "%s: page %zu on node %d, toucher's node %d", policy_text(policy), i,
		      where[i], local_node);
	free(where);
	CHECK_EQ(aml_area_munmap(area, buf, size), AML_SUCCESS);
}

static void check_created(hwloc_membind_policy_t policy, const int *set, int count, int pass_null)
{
	hwloc_bitmap_t nodeset = pass_null ? NULL : nodeset_of(set, count);
	struct aml_area *area = NULL;
	CHECK_EQ(aml_area_hwloc_create(&area, nodeset, policy), AML_SUCCESS);
	CHECK(area != NULL, "create gave no area");
	/* The nodeset is copied: changing ours afterwards changes nothing. */
	if (nodeset)
		hwloc_bitmap_zero(nodeset);
	struct aml_area_hwloc_data *data = (struct aml_area_hwloc_data *)area->data;
	CHECK(data->policy == policy && data->nodeset != NULL, "area data");
	CHECK_EQ(hwloc_bitmap_weight(data->nodeset), count);
	check_area(area, policy, set, count);

	char expect[512], nodes_text[256];
	list_text(set, count, nodes_text, sizeof(nodes_text));
	snprintf(expect, sizeof(expect), "> area-hwloc: policy %s, nodes %s\n", policy_text(policy), nodes_text);
	char *text = test_area_text(area, "> ");
	CHECK(strcmp(text, expect) == 0, "fprintf: got '%s', want '%s'", text, expect);
	free(text);
	aml_area_hwloc_destroy(&area);
	CHECK(area == NULL, "destroy must clear the pointer");
	hwloc_bitmap_free(nodeset);
}

static void pin_to_current_cpu(void)
{
	int cpu = sched_getcpu();
	CHECK(cpu >= 0, "sched_getcpu: %s", strerror(errno));
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	CHECK_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
	local_node = numa_node_of_cpu(cpu);
	CHECK(local_node >= 0, "node of cpu %d", cpu);
}

int main(void)
{
	num_nodes = test_numa_nodes(nodes, MAX_NODES);
	pin_to_current_cpu();

	/* Static areas work before anyone loads the topology. */
	CHECK(aml_topology == NULL, "nothing should have loaded the topology yet");
	check_area(&aml_area_hwloc_interleave, HWLOC_MEMBIND_INTERLEAVE, nodes, num_nodes);
	CHECK(aml_topology != NULL, "the static area loads the topology");
	CHECK(hwloc_get_nbobjs_by_type(aml_topology, HWLOC_OBJ_NUMANODE) == num_nodes,
	      "hwloc and the kernel disagree on the allowed nodes");
	check_area(&aml_area_hwloc_default, HWLOC_MEMBIND_DEFAULT, nodes, num_nodes);
	check_area(&aml_area_hwloc_firsttouch, HWLOC_MEMBIND_FIRSTTOUCH, nodes, num_nodes);
	char all_text[256], expect[512];
	list_text(nodes, num_nodes, all_text, sizeof(all_text));
	snprintf(expect, sizeof(expect), "area-hwloc: policy interleave, nodes %s\n", all_text);
	char *text = test_area_text(&aml_area_hwloc_interleave, NULL);
	CHECK(strcmp(text, expect) == 0, "fprintf: got '%s', want '%s'", text, expect);
	free(text);
	text = test_area_text(&aml_area_hwloc_firsttouch, "# ");
	CHECK(strncmp(text, "# area-hwloc: policy firsttouch, nodes ", 39) == 0, "fprintf: %s", text);
	free(text);

	const hwloc_membind_policy_t policies[] = {HWLOC_MEMBIND_DEFAULT, HWLOC_MEMBIND_FIRSTTOUCH,
	                                           HWLOC_MEMBIND_BIND, HWLOC_MEMBIND_INTERLEAVE};
	for (size_t p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
		check_created(policies[p], nodes, num_nodes, 1);
		check_created(policies[p], nodes, num_nodes, 0);
		for (int i = 0; i < num_nodes; i++)
			check_created(policies[p], &nodes[i], 1, 0);
		if (num_nodes >= 2) {
			/* Every odd-position node: a strict subset. */
			int subset[MAX_NODES], n = 0;
			for (int i = 1; i < num_nodes; i += 2)
				subset[n++] = nodes[i];
			check_created(policies[p], subset, n, 0);
		}
	}

	/* Error paths: exact codes, and a failed create leaves NULL. */
	struct aml_area *area = (struct aml_area *)&area;
	CHECK_EQ(aml_area_hwloc_create(NULL, NULL, HWLOC_MEMBIND_BIND), -AML_EINVAL);
	CHECK_EQ(aml_area_hwloc_create(&area, NULL, (hwloc_membind_policy_t)42), -AML_EINVAL);
	CHECK(area == NULL, "failed create leaves NULL");
	CHECK_EQ(aml_errno, AML_EINVAL);
	CHECK_EQ(aml_area_hwloc_create(&area, NULL, HWLOC_MEMBIND_MIXED), -AML_EINVAL);
	CHECK_EQ(aml_area_hwloc_create(&area, NULL, HWLOC_MEMBIND_NEXTTOUCH), -AML_ENOTSUP);
	CHECK_EQ(aml_errno, AML_ENOTSUP);
	hwloc_bitmap_t empty = hwloc_bitmap_alloc();
	CHECK_EQ(aml_area_hwloc_create(&area, empty, HWLOC_MEMBIND_BIND), -AML_EINVAL);
	CHECK_EQ(aml_area_hwloc_create(&area, empty, HWLOC_MEMBIND_INTERLEAVE), -AML_EINVAL);
	int absent = nodes[num_nodes - 1] + 1; /* not a node of the topology */
	hwloc_bitmap_t outside = nodeset_of(&absent, 1);
	CHECK_EQ(aml_area_hwloc_create(&area, outside, HWLOC_MEMBIND_BIND), -AML_EDOM);
	CHECK_EQ(aml_errno, AML_EDOM);
	hwloc_bitmap_set(outside, (unsigned)nodes[0]); /* one good node does not help */
	CHECK_EQ(aml_area_hwloc_create(&area, outside, HWLOC_MEMBIND_INTERLEAVE), -AML_EDOM);
	hwloc_bitmap_t infinite = hwloc_bitmap_alloc_full();
	CHECK_EQ(aml_area_hwloc_create(&area, infinite, HWLOC_MEMBIND_BIND), -AML_EDOM);
	CHECK(area == NULL, "failed create leaves NULL");
	hwloc_bitmap_free(empty);
	hwloc_bitmap_free(outside);
	hwloc_bitmap_free(infinite);
	aml_area_hwloc_destroy(NULL);
	aml_area_hwloc_destroy(&area);
	CHECK(aml_area_mmap(&aml_area_hwloc_interleave, 0, NULL) == NULL, "size 0");
	CHECK_EQ(aml_errno, AML_EINVAL);

	/* After aml_finalize the static areas keep working, and created areas
	 * reload the topology. */
	CHECK_EQ(aml_finalize(), AML_SUCCESS);
	CHECK(aml_topology == NULL, "finalize drops the topology");
	check_area(&aml_area_hwloc_interleave, HWLOC_MEMBIND_INTERLEAVE, nodes, num_nodes);
	check_created(HWLOC_MEMBIND_BIND, &nodes[num_nodes - 1], 1, 0);
	printf("hwloc area: %d node(s) checked, toucher on node %d\n", num_nodes, local_node);
	return 0;
}
