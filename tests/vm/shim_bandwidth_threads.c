/* AMLSHIM_POLICY=bandwidth is seen from the allocating thread's node: a
 * plain threaded program (tests/vm/programs/bandwidth_threads.c) under the
 * shim, one thread bound to node 0's CPUs and one to node 1's, each
 * mallocing 32 MiB. The node-0 thread's pages must all be on node 0's best
 * bandwidth node (node 2, HBM-like), the node-1 thread's on node 1's own
 * best: Linux exports only each node's local initiator, so from node 1 the
 * memory attributes rank node 1 first (node 2's 200 GiB/s from node 1 is
 * not exported). Node 1's best is taken from what the VM exports and
 * checked against hwloc's ranking from a thread on node 1. The report
 * counts both allocations, names the ranking's source (memory attributes,
 * from HMAT) and has both buffers' pages at the peak. */
#include <aml.h>
#include <aml/area/hwloc.h>
#include "shim_vm.h"

/* hwloc's first bandwidth choice from the calling thread's binding. */
static int hwloc_best_from_here(const char *what)
{
	struct aml_area *area;
	CHECK_EQ(aml_area_hwloc_preferred_local_create(
			 &area, HWLOC_DISTANCES_KIND_FROM_OS | HWLOC_DISTANCES_KIND_MEANS_BANDWIDTH),
	         AML_SUCCESS);
	const struct aml_area_hwloc_preferred_data *data = (const struct aml_area_hwloc_preferred_data *)area->data;
	CHECK(data->num_nodes > 0, "%s: hwloc ranked no node", what);
	printf("hwloc bandwidth ranking %s (%s):", what, aml_hwloc_rank_source_name(data->source));
	for (unsigned i = 0; i < data->num_nodes; i++)
		printf(" %u%s", data->os_index[i], i < data->num_valued ? "" : "(no value)");
	printf("\n");
	CHECK(data->source == AML_HWLOC_SOURCE_MEMATTR, "%s: ranked from %s, not HMAT", what,
	      aml_hwloc_rank_source_name(data->source));
	int best = (int)data->os_index[0];
	aml_area_hwloc_preferred_destroy(&area);
	return best;
}

/* The program's line for the thread on `node`'s CPUs: all its pages must
 * be on `expect`. */
static void check_thread(const char *out, int node, int expect)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "thread on node %d's CPUs: ", node);
	const char *line = strstr(out, prefix);
	CHECK(line != NULL, "no line for the thread on node %d's CPUs", node);
	int cpu, cpu_node, used;
	long pages;
	CHECK(sscanf(line + strlen(prefix), "cpu %d (node %d), %ld pages:%n", &cpu, &cpu_node, &pages, &used) == 3,
	      "odd line: %.120s", line);
	CHECK(cpu_node == node, "the thread bound to node %d's CPUs ran on cpu %d of node %d", node, cpu, cpu_node);
	long there = 0, all = 0;
	const char *p = line + strlen(prefix) + used;
	const char *end = strchr(p, '\n');
	while (p < end) {
		int n;
		long count;
		if (sscanf(p, " node%d=%ld%n", &n, &count, &used) == 2) {
			all += count;
			if (n == expect)
				there = count;
			p += used;
		} else if (sscanf(p, " not-resident=%ld%n", &count, &used) == 1) {
			all += count;
			p += used;
		} else {
			break;
		}
	}
	CHECK(all == pages, "thread on node %d's CPUs: %ld pages counted of %ld", node, all, pages);
	CHECK(there == pages, "thread on node %d's CPUs: %ld of %ld pages on node %d (its best bandwidth node): %.*s",
	      node, there, pages, expect, (int)(end - line), line);
	printf("thread on node %d's CPUs: all %ld pages on node %d\n", node, pages, expect);
}

int main(int argc, char **argv)
{
	int nodes = vm_start();
	const int best0 = shim_vm_best_bandwidth_from(0), best1 = shim_vm_best_bandwidth_from(1);
	CHECK(best0 == vm_env_int("AMLVM_BW_BEST"), "node 0's best %d, AMLVM_BW_BEST %d", best0,
	      vm_env_int("AMLVM_BW_BEST"));
	CHECK(best0 != best1, "node 0 and node 1 have the same best node %d: the test would prove nothing", best0);
	printf("best bandwidth from node 0's CPUs: node %d; from node 1's CPUs: node %d\n", best0, best1);

	/* hwloc agrees (the shim ranks with it; this is what it must see). */
	CHECK_EQ(aml_init(&argc, &argv), AML_SUCCESS);
	vm_run_on_node(0);
	CHECK(hwloc_best_from_here("from node 0") == best0, "hwloc's best from node 0 is not node %d", best0);
	vm_run_on_node(1);
	CHECK(hwloc_best_from_here("from node 1") == best1, "hwloc's best from node 1 is not node %d", best1);
	CHECK_EQ(aml_finalize(), AML_SUCCESS);
	/* The program's main thread starts on node 0; its threads bind themselves. */
	vm_run_on_node(0);

	char *args[] = {(char *)shim_vm_program("bandwidth_threads"), "0", "1", NULL};
	char *env[] = {"AMLSHIM_POLICY=bandwidth", NULL};
	struct shim_vm_run run = shim_vm_spawn(args, env, 1);
	shim_vm_print_output("bandwidth_threads under the shim, stdout", run.out);
	shim_vm_print_output("bandwidth_threads under the shim, stderr", run.err);
	CHECK(run.status == 0, "bandwidth_threads exited with %d", run.status);
	CHECK(run.err[0] == '\0', "bandwidth_threads wrote to stderr under the shim");
	check_thread(run.out, 0, best0);
	check_thread(run.out, 1, best1);

	CHECK(run.report != NULL, "no report from bandwidth_threads");
	struct shim_vm_report r = shim_vm_parse_report(run.report);
	shim_vm_print_report("bandwidth_threads", &r, nodes);
	CHECK(strcmp(r.policy, "bandwidth") == 0, "the report's rule is '%s'", r.policy);
	const unsigned long size = 32UL << 20;
	shim_vm_check_rule("bandwidth_threads", &r, 2, 2 * size);
	CHECK(r.count == 2 && r.bytes == 2 * size, "the rule counted %lu allocations of %lu bytes, want 2 of %lu",
	      r.count, r.bytes, 2 * size);
	/* The ranking's source, in the area text and the note. */
	CHECK(strstr(r.area, "source: memory attributes") != NULL, "the area does not name HMAT's memory attributes: %s",
	      r.area);
	CHECK(strstr(r.note, "ranked by memory attributes") != NULL, "the note does not name the source: %s", r.note);
	/* At the peak both buffers were live: half the pages on each best node. */
	const long pages = (long)(size / test_page_size());
	CHECK(r.peak_pages[best0] == pages && r.peak_pages[best1] == pages && shim_vm_sum(r.peak_pages, nodes) == 2 * pages,
	      "report at the peak: node %d %ld, node %d %ld, in all %ld; want %ld on each", best0, r.peak_pages[best0],
	      best1, r.peak_pages[best1], shim_vm_sum(r.peak_pages, nodes), pages);
	shim_vm_run_free(&run);
	printf("bandwidth per thread: node 0's CPUs -> node %d, node 1's CPUs -> node %d: ok\n", best0, best1);
	return 0;
}
