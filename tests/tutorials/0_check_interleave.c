/* Tutorial 0: telling whether memory is interleaved.
 *
 * Before using areas, we need a way to see what they do. This program
 * places three buffers by hand with mbind(2) and asks the checker of
 * interleave_check.h about each:
 *
 *   1. interleaved over every usable node before being touched;
 *   2. bound to a single node;
 *   3. touched while bound to a single node, *then* given an interleave
 *      policy: the pages stay where they are (mbind without MPOL_MF_MOVE
 *      only changes where future pages go).
 *
 * On a machine with several nodes the checker looks at the pages, so
 * buffer 3 is "not interleaved" despite its policy. On a single-node
 * machine pages cannot tell, the checker reads the policy, and buffer 3
 * is "interleaved" like buffer 1. Buffer 2 is "not interleaved" on both.
 *
 * Exit status: 0 when every answer is the expected one, 1 otherwise. */
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "interleave_check.h"

enum { PAGES = 64 };

/* A fresh private anonymous buffer: no page exists until it is touched. */
static char *new_buffer(size_t size)
{
	char *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(buf != MAP_FAILED, "mmap");
	return buf;
}

/* Asks the checker, prints its answer and compares it with the expected one. */
static void ask(const char *name, const char *buf, size_t size, int expected)
{
	const char *how = "";
	int verdict = is_interleaved(buf, size, (size_t)sysconf(_SC_PAGESIZE), &how);
	printf("%-44s %s (%s)\n", name, interleave_verdict(verdict), how);
	CHECK(verdict == expected, "%s: expected %s", name, interleave_verdict(expected));
}

int main(void)
{
	if (numa_available() < 0)
		test_skip_hardware("kernel without NUMA support");
	const size_t size = PAGES * (size_t)sysconf(_SC_PAGESIZE);

	/* Node masks for mbind: every usable node, and the first of them. */
	unsigned long all[CHECK_MASK_WORDS], first[CHECK_MASK_WORDS] = {0};
	int nodes = allowed_nodes_mask(all);
	CHECK(nodes >= 1, "no usable node");
	int first_node = 0;
	while (!node_mask_isset(all, first_node))
		first_node++;
	node_mask_set(first, first_node);
	const unsigned long maxnode = CHECK_MASK_BITS + 1;
	printf("%d usable node(s), first is node %d\n", nodes, first_node);

	/* 1. Interleave policy first, then touch: page i goes to the next node. */
	char *interleaved = new_buffer(size);
	CHECK(mbind(interleaved, size, MPOL_INTERLEAVE, all, maxnode, 0) == 0, "mbind interleave");
	memset(interleaved, 1, size);
	ask("1. mbind(MPOL_INTERLEAVE), then touched:", interleaved, size, 1);

	/* 2. Bound to one node: every page there. */
	char *bound = new_buffer(size);
	CHECK(mbind(bound, size, MPOL_BIND, first, maxnode, 0) == 0, "mbind bind");
	memset(bound, 1, size);
	ask("2. mbind(MPOL_BIND, first node), touched:", bound, size, 0);

	/* 3. Touched while bound, interleave policy afterwards: a promise for
	 * pages to come, not a move of the pages already there. */
	char *late = new_buffer(size);
	CHECK(mbind(late, size, MPOL_BIND, first, maxnode, 0) == 0, "mbind bind");
	memset(late, 1, size);
	CHECK(mbind(late, size, MPOL_INTERLEAVE, all, maxnode, 0) == 0, "mbind interleave");
	ask("3. touched while bound, then interleave:", late, size, nodes >= 2 ? 0 : 1);

	/* The two views separately, for the curious: on one node buffer 1 and 2
	 * differ only by policy; their pages all sit on the same node. */
	printf("by policy: 1 %s, 2 %s; by pages: 1 %s, 2 %s\n",
	       interleave_verdict(interleaved_by_policy(interleaved, size)),
	       interleave_verdict(interleaved_by_policy(bound, size)),
	       interleave_verdict(interleaved_by_pages(interleaved, size, size / PAGES)),
	       interleave_verdict(interleaved_by_pages(bound, size, size / PAGES)));
	CHECK(interleaved_by_policy(interleaved, size) == 1 && interleaved_by_policy(bound, size) == 0,
	      "policy view");
	CHECK(interleaved_by_pages(bound, size, size / PAGES) == 0, "a buffer on one node is not interleaved by pages");

	/* The page rule itself, on made-up placements (one node per block), so
	 * that it is seen at work even on a one-node machine. */
	const int abab[] = {0, 1, 0, 1, 0, 1}, abcabc[] = {2, 3, 1, 2, 3, 1, 2}, rotated[] = {3, 0, 1, 2, 3, 0};
	const int aabb[] = {0, 0, 1, 1, 0, 0}, abac[] = {0, 1, 0, 2, 0, 1}, aaaa[] = {1, 1, 1, 1};
	const int abca_b[] = {0, 1, 2, 0, 2, 1};
	CHECK(nodes_round_robin(abab, 6) && nodes_round_robin(abcabc, 7) && nodes_round_robin(rotated, 6),
	      "round-robin placements must pass");
	CHECK(!nodes_round_robin(aabb, 6) && !nodes_round_robin(abac, 6) && !nodes_round_robin(aaaa, 4) &&
	      !nodes_round_robin(abca_b, 6), "other placements must not");
	printf("rule: 0 1 0 1 / 2 3 1 2 3 1 2 / 3 0 1 2 3 0 interleaved; "
	       "0 0 1 1 / 0 1 0 2 / 1 1 1 1 / 0 1 2 0 2 1 not\n");

	munmap(interleaved, size);
	munmap(bound, size);
	munmap(late, size);
	return 0;
}
