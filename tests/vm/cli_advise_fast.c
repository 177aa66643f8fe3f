/* amlshim advise's fast memory (scripts/amlshim/advise_fast.c) on the VM:
 * from node 0's CPUs, --fast=bandwidth is the best node by bandwidth
 * (AMLVM_BW_BEST: node 2, the HBM-like one, on 4 nodes) with that node's
 * size as the default capacity; --fast=hbm is a node without CPUs (the
 * same node when the best one has none, an error when there is none);
 * --fast=NODES sums the nodes' sizes. Links the command's objects. */
#include "advise.h"
#include "vmtest.h"

static int has_cpus(int node)
{
	struct bitmask *cpus = numa_allocate_cpumask();
	CHECK_EQ(numa_node_to_cpus(node, cpus), 0);
	int any = numa_bitmask_weight(cpus) > 0;
	numa_bitmask_free(cpus);
	return any;
}

static unsigned long long node_bytes(int node)
{
	return (unsigned long long)vm_node_meminfo_kb(node, "MemTotal") * 1024;
}

int main(void)
{
	struct vm_nodes nodes = vm_start_nodes();
	vm_run_on_node(0);
	int best = vm_env_int("AMLVM_BW_BEST");
	struct fast_nodes fast;
	char why[300];

	CHECK(advise_resolve_fast("bandwidth", &fast, why, sizeof(why)) == 0, "bandwidth: %s", why);
	CHECK(fast.count == 1 && fast.first == best, "bandwidth: nodes %s, expected %d (%s)", fast.text, best, fast.how);
	CHECK(fast.size_known && fast.bytes == node_bytes(best), "bandwidth: %llu bytes, node %d has %llu",
	      fast.bytes, best, node_bytes(best));
	printf("--fast=bandwidth: node %s, %llu MiB (%s)\n", fast.text, fast.bytes >> 20, fast.how);

	int cpuless = -1;
	for (int i = 0; i < nodes.count && cpuless < 0; i++)
		if (!has_cpus(i))
			cpuless = i;
	int rc = advise_resolve_fast("hbm", &fast, why, sizeof(why));
	if (cpuless < 0) {
		CHECK(rc == -1 && strstr(why, "no node without CPUs"), "hbm with no CPU-less node: %s", why);
	} else {
		CHECK(rc == 0, "hbm: %s", why);
		CHECK(fast.count == 1 && !has_cpus(fast.first), "hbm: node %s has CPUs", fast.text);
		if (!has_cpus(best))
			CHECK(fast.first == best, "hbm: node %d, the best by bandwidth is %d", fast.first, best);
		printf("--fast=hbm: node %s (%s)\n", fast.text, fast.how);
	}

	int last = nodes.count - 1;
	char spec[32];
	snprintf(spec, sizeof(spec), "0,%d", last);
	CHECK(advise_resolve_fast(spec, &fast, why, sizeof(why)) == 0, "%s: %s", spec, why);
	CHECK(fast.count == 2 && fast.bytes == node_bytes(0) + node_bytes(last), "%s: %llu bytes", spec, fast.bytes);
	return 0;
}
