/* Node set names under the shim, page by page: tests/vm/programs/
 * node_pages.c (it links nothing of ours: it mallocs 64 MiB, writes every
 * byte and prints where move_pages says each page is) runs pinned to one
 * CPU under LD_PRELOAD=libamlshim.so, AMLSHIM_STRICT=1 and an
 * AMLSHIM_POLICY naming a node set. In the 4-node VM (node 0: CPUs 0-1,
 * node 1: CPUs 2-3, node 2 HBM-like and node 3 CXL-like, both attached to
 * node 0's socket):
 *   interleave:socket     from CPU 0 -> nodes 0, 2, 3, each about a third
 *   interleave:socket     from CPU 2 -> node 1 only
 *   bind:hbm@socket       from CPU 0 -> node 2 only
 *   interleave:dram       from CPU 0 -> nodes 0, 1, each about half
 *   interleave:local,3    from CPU 2 -> nodes 1, 3, each about half
 *   interleave:local      from CPU 2 -> node 1 only
 * and without hwloc (an empty libhwloc.so.15 first on LD_LIBRARY_PATH:
 * sysfs's packages, HMAT initiators and bandwidths decide):
 *   interleave:socket     from CPU 0 -> nodes 0, 2, 3
 *   bind:hbm@socket       from CPU 0 -> node 2 only
 *   interleave:cxl        from CPU 2 -> node 3 only
 * and with an XML topology of the VM where node 3 is GPU memory
 * (tests/topologies/vm-gpu-node.xml; bandwidth from CPUs 0-1: node 2
 * 400000, node 3 200000, node 0 100000, node 1 50000):
 *   weighted-interleave   from CPU 0 -> nodes 2, 0, 1 by 16:4:2, none on
 *                         the GPU memory (a default spread leaves it out)
 *   weighted-interleave:dram,hbm,gpu  from CPU 0 -> 2, 3, 0, 1 by 16:8:4:2
 * Every page on a node of the set, and every node of the set holding its
 * share (within a huge page and 2%: THP interleaves huge pages). */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim_vm.h"

struct node_set_case {
	const char *policy;
	int cpu;
	int no_hwloc;
	int nodes[4]; /* the set, ending with -1 when under 4 */
	const char *xml; /* HWLOC_XMLFILE under tests/topologies, or NULL */
	int weights[4];  /* of nodes[] (weighted-interleave), or 0s: even */
};

static const struct node_set_case cases[] = {
	{"interleave:socket", 0, 0, {0, 2, 3, -1}, NULL, {0}},
	{"interleave:socket", 2, 0, {1, -1}, NULL, {0}},
	{"bind:hbm@socket", 0, 0, {2, -1}, NULL, {0}},
	{"interleave:dram", 0, 0, {0, 1, -1}, NULL, {0}},
	{"interleave:local,3", 2, 0, {1, 3, -1}, NULL, {0}},
	{"interleave:local", 2, 0, {1, -1}, NULL, {0}},
	{"interleave:socket", 0, 1, {0, 2, 3, -1}, NULL, {0}},
	{"bind:hbm@socket", 0, 1, {2, -1}, NULL, {0}},
	{"interleave:cxl", 2, 1, {3, -1}, NULL, {0}},
	{"weighted-interleave", 0, 0, {2, 0, 1, -1}, "vm-gpu-node.xml", {16, 4, 2}},
	{"weighted-interleave:dram,hbm,gpu", 0, 0, {2, 3, 0, 1}, "vm-gpu-node.xml", {16, 8, 4, 2}},
};
#define CASES (int)(sizeof(cases) / sizeof(cases[0]))
#define NO_HWLOC_DIR "/tmp/shimvm-no-hwloc"

static void check_case(const struct node_set_case *c)
{
	char what[128], policy[96], strict[] = "AMLSHIM_STRICT=1", library_path[] = "LD_LIBRARY_PATH=" NO_HWLOC_DIR;
	snprintf(what, sizeof(what), "%s from CPU %d%s", c->policy, c->cpu, c->no_hwloc ? ", without hwloc" : "");
	snprintf(policy, sizeof(policy), "AMLSHIM_POLICY=%s", c->policy);
	char xml[PATH_MAX + 32], this_system[] = "HWLOC_THISSYSTEM=1";
	char *env[] = {policy, strict, c->no_hwloc ? library_path : NULL, NULL, NULL};
	if (c->xml) {
		/* The tests run from the image's /amlshim, which holds tests/topologies. */
		char relative[96], *path;
		snprintf(relative, sizeof(relative), "tests/topologies/%s", c->xml);
		CHECK((path = realpath(relative, NULL)) != NULL, "%s: %s not found", what, relative);
		snprintf(xml, sizeof(xml), "HWLOC_XMLFILE=%s", path);
		free(path);
		snprintf(what + strlen(what), sizeof(what) - strlen(what), ", topology %s", c->xml);
		env[2] = xml;
		env[3] = this_system;
	}
	char *argv[] = {(char *)shim_vm_program("node_pages"), NULL};
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(c->cpu, &one);
	/* The program inherits the binding: the shim resolves the names from it. */
	CHECK(sched_setaffinity(0, sizeof(one), &one) == 0, "bind to CPU %d", c->cpu);
	struct shim_vm_run run = shim_vm_spawn(argv, env, 1);
	shim_vm_print_output(what, run.out);
	shim_vm_print_output("stderr", run.err);
	CHECK(run.status == 0, "%s: exited with %d", what, run.status);
	long on[VM_MAX_NODES] = {0}, pages = 0, count = 0, elsewhere = 0;
	for (char *line = strtok(run.out, "\n"); line; line = strtok(NULL, "\n")) {
		int node;
		long n;
		if (sscanf(line, "node %d: %ld", &node, &n) == 2 && node >= 0 && node < VM_MAX_NODES)
			on[node] = n;
		else if (sscanf(line, "elsewhere: %ld", &n) == 1)
			elsewhere = n;
		else
			CHECK(sscanf(line, "pages: %ld", &pages) == 1, "%s: bad line '%s'", what, line);
	}
	CHECK(pages > 0 && elsewhere == 0, "%s: %ld of %ld pages on no node", what, elsewhere, pages);
	while (count < 4 && c->nodes[count] >= 0)
		count++;
	long total_weight = 0, in_set = 0;
	for (int i = 0; i < count; i++)
		total_weight += c->weights[0] ? c->weights[i] : 1;
	for (int i = 0; i < count; i++) {
		long n = on[c->nodes[i]];
		long share = pages * (c->weights[0] ? c->weights[i] : 1) / total_weight, slack = pages / 50 + 513;
		in_set += n;
		CHECK(n >= share - slack && n <= share + slack, "%s: node %d holds %ld pages, its share is about %ld", what,
		      c->nodes[i], n, share);
	}
	CHECK(in_set == pages, "%s: %ld of %ld pages outside the set", what, pages - in_set, pages);
	printf("%s: all %ld pages on the %ld nodes of the set, each within %ld pages of its share\n", what, pages,
	       count, pages / 50 + 513);
	shim_vm_run_free(&run);
}

int main(void)
{
	int nodes = vm_start();
	if (nodes != 4)
		test_skip_hardware("the cases are those of the 4-node VM (this one has %d nodes)", nodes);
	/* An empty libhwloc.so.15: the shim cannot load hwloc (see ranked_error). */
	mkdir(NO_HWLOC_DIR, 0755);
	int fd = open(NO_HWLOC_DIR "/libhwloc.so.15", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0, "create " NO_HWLOC_DIR "/libhwloc.so.15");
	close(fd);
	for (int i = 0; i < CASES; i++)
		check_case(&cases[i]);
	printf("node set names: every case placed on its set\n");
	return 0;
}
