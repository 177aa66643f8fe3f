/* Node set names under the shim, page by page: a copy of this test pinned
 * to one CPU runs under LD_PRELOAD=libamlshim.so with AMLSHIM_POLICY
 * naming a node set, mallocs 64 MiB, writes every page and asks
 * move_pages where each page is. In the 4-node VM (node 0: CPUs 0-1,
 * node 1: CPUs 2-3, node 2 HBM-like and node 3 CXL-like, both attached to
 * node 0's socket):
 *   interleave:socket     from CPU 0 -> nodes 0, 2, 3, each about a third
 *   interleave:socket     from CPU 2 -> node 1 only
 *   bind:hbm@socket       from CPU 0 -> node 2 only
 *   interleave:dram       from CPU 0 -> nodes 0, 1, each about half
 *   interleave:local,3    from CPU 2 -> nodes 1, 3, each about half
 *   interleave:local      from CPU 2 -> node 1 only
 * Every page on a node of the set, and every node of the set holding its
 * share (within a huge page and 2%: THP interleaves huge pages). */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim_vm.h"
#include "pages.h"

#define BYTES (64UL << 20)

struct node_set_case {
	const char *policy;
	int cpu;
	int nodes[4]; /* the set, ending with -1 */
};

static const struct node_set_case cases[] = {
	{"interleave:socket", 0, {0, 2, 3, -1}},
	{"interleave:socket", 2, {1, -1}},
	{"bind:hbm@socket", 0, {2, -1}},
	{"interleave:dram", 0, {0, 1, -1}},
	{"interleave:local,3", 2, {1, 3, -1}},
	{"interleave:local", 2, {1, -1}},
};
#define CASES (int)(sizeof(cases) / sizeof(cases[0]))

/* Under the shim: the buffer's pages must lie on the set, evenly. */
static int run_case(const struct node_set_case *c)
{
	char what[96];
	snprintf(what, sizeof(what), "%s from CPU %d", c->policy, c->cpu);
	CHECK(shim_test_active(), "%s: not under the shim", what);
	unsigned char *buf = malloc(BYTES);
	CHECK(buf != NULL, "%s: malloc", what);
	memset(buf, 0x5a, BYTES);
	size_t pages = BYTES / test_page_size();
	int *where = test_resident_nodes(buf, BYTES);
	int count = 0;
	while (count < 4 && c->nodes[count] >= 0)
		count++;
	test_print_histogram(what, where, pages, c->nodes[0]);
	long least, most;
	test_check_in_set(what, where, pages, c->nodes, count, &least, &most);
	long share = (long)pages / count, slack = share / 50 + 513;
	CHECK(least >= share - slack && most <= share + slack,
	      "%s: a node of the set holds %ld pages, another %ld; each should hold about %ld", what, least, most,
	      share);
	printf("%s: all %zu pages on the %d nodes of the set, %ld to %ld each\n", what, pages, count, least, most);
	free(where);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2) /* a copy, under the shim */
		return run_case(&cases[atoi(argv[1]) % CASES]);
	int nodes = vm_start();
	if (nodes != 4)
		test_skip_hardware("the cases are those of the 4-node VM (this one has %d nodes)", nodes);
	char lib[4096];
	CHECK(shim_test_lib_path(lib, sizeof(lib)) == 0, "no libamlshim.so");
	for (int i = 0; i < CASES; i++) {
		char index[16], policy[96], *args[] = {argv[0], index, NULL};
		snprintf(index, sizeof(index), "%d", i);
		snprintf(policy, sizeof(policy), "AMLSHIM_POLICY=%s", cases[i].policy);
		const char *drop[] = {"AMLSHIM_", NULL};
		const char *add[] = {policy, "AMLSHIM_STRICT=1", SHIM_TEST_REEXEC_VAR "=1", NULL};
		char **env = test_environment(drop, lib, add, NULL);
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(cases[i].cpu, &one);
		/* The copy inherits the binding: the shim resolves the names from it. */
		CHECK(sched_setaffinity(0, sizeof(one), &one) == 0, "bind to CPU %d", cases[i].cpu);
		pid_t pid = test_start_program(argv[0], args, env, NULL, NULL);
		int status = shim_test_wait(pid, 300);
		free(env);
		CHECK(status == 0, "%s from CPU %d: the copy under the shim exited with %d", cases[i].policy, cases[i].cpu,
		      status);
	}
	printf("node set names: every case placed on its set\n");
	return 0;
}
