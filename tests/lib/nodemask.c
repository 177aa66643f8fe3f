/* Node sets for the tests: allowed nodes (libnuma), masks of chosen
 * nodes, node lists given as text (the VM's AMLVM_* variables). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <numa.h>

#include "check.h"
#include "nodemask.h"

int test_allowed_nodes(int *nodes, int max)
{
	struct bitmask *allowed = numa_get_mems_allowed();
	int count = 0;
	for (unsigned node = 0; allowed && node < allowed->size && count < max; node++)
		if (numa_bitmask_isbitset(allowed, node))
			nodes[count++] = (int)node;
	if (allowed)
		numa_bitmask_free(allowed);
	return count;
}

int test_numa_nodes(int *nodes, int max)
{
	if (numa_available() < 0)
		test_skip_hardware("kernel without NUMA support");
	int count = test_allowed_nodes(nodes, max);
	CHECK(count > 0, "no memory node");
	return count;
}

int shim_test_first_node(void)
{
	int nodes[TEST_MAX_NODES];
	return test_allowed_nodes(nodes, TEST_MAX_NODES) > 0 ? nodes[0] : 0;
}

struct bitmask *test_mask_of(const int *nodes, int count)
{
	struct bitmask *mask = numa_allocate_nodemask();
	for (int i = 0; i < count; i++)
		numa_bitmask_setbit(mask, (unsigned)nodes[i]);
	return mask;
}

int test_parse_list(const char *text, int *out, int max)
{
	int count = 0;
	while (*text && count < max) {
		char *end;
		long value = strtol(text, &end, 10);
		if (end == text) {
			text++;
			continue;
		}
		out[count++] = (int)value;
		text = end;
	}
	return count;
}
