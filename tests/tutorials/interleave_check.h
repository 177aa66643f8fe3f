/* Tutorial 0's checker: is a buffer interleaved over NUMA nodes?
 *
 * There are two ways to look at a buffer:
 *
 *  - By its pages: where the memory is right now. move_pages(2) with a NULL
 *    node list does not move anything; it reports the node of each page.
 *    A buffer is interleaved when it is made of blocks (block_size bytes,
 *    one page for the kernel's own interleave) that each sit on one node,
 *    the nodes taken in turn from a cycle of at least two distinct nodes:
 *    A B C A B C ... (the cycle may start anywhere).
 *
 *  - By its policy: what the kernel will do when a page of it is faulted in.
 *    get_mempolicy(2) with MPOL_F_ADDR reports the policy of the range
 *    holding an address: interleaved means MPOL_INTERLEAVE over two or more
 *    nodes, or over every node this process may use.
 *
 * Pages are the truth, a policy is only a promise (pages faulted in before
 * an mbind stay where they are). So with two or more usable nodes the
 * checker trusts the pages. With a single usable node every buffer is on
 * that node, interleaved or not, so pages cannot tell; the checker then
 * asks the kernel for the policy.
 *
 * Only libnuma and system calls are used: no library internals. */
#ifndef TUTORIAL_INTERLEAVE_CHECK_H
#define TUTORIAL_INTERLEAVE_CHECK_H

#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MPOL_WEIGHTED_INTERLEAVE /* kernel 6.9+, missing from older headers */
#define MPOL_WEIGHTED_INTERLEAVE 6
#endif

#define CHECK_MASK_BITS 1024 /* node numbers this checker understands */
#define CHECK_MASK_WORDS (CHECK_MASK_BITS / (8 * sizeof(unsigned long)))

/* Kernel node masks (as mbind and get_mempolicy take them): one bit per node. */
static inline void node_mask_set(unsigned long *mask, int node)
{
	mask[node / (8 * sizeof(unsigned long))] |= 1UL << (node % (8 * sizeof(unsigned long)));
}

static inline int node_mask_isset(const unsigned long *mask, int node)
{
	return (mask[node / (8 * sizeof(unsigned long))] >> (node % (8 * sizeof(unsigned long)))) & 1UL;
}

/* Nodes this process may allocate on, as a kernel mask; returns the count. */
static inline int allowed_nodes_mask(unsigned long *mask)
{
	memset(mask, 0, CHECK_MASK_WORDS * sizeof(unsigned long));
	struct bitmask *allowed = numa_get_mems_allowed();
	int count = 0;
	for (unsigned node = 0; allowed && node < allowed->size && node < CHECK_MASK_BITS; node++)
		if (numa_bitmask_isbitset(allowed, node)) {
			node_mask_set(mask, (int)node);
			count++;
		}
	if (allowed)
		numa_bitmask_free(allowed);
	return count;
}

/* The rule, on a list of nodes (one per block): 1 when they go round a
 * cycle of two or more distinct nodes, A B C A B C A..., else 0. The cycle
 * is the blocks up to the first node seen twice; it must then repeat
 * exactly. A short list of distinct nodes (A B) counts as a cycle. */
static inline int nodes_round_robin(const int *block_node, size_t blocks)
{
	size_t cycle = blocks;
	for (size_t b = 1; b < blocks && cycle == blocks; b++)
		for (size_t c = 0; c < b; c++)
			if (block_node[c] == block_node[b]) {
				cycle = b;
				break;
			}
	if (cycle < 2)
		return 0;
	for (size_t b = cycle; b < blocks; b++)
		if (block_node[b] != block_node[b % cycle])
			return 0;
	return 1;
}

/* 1 when the blocks of the buffer land round-robin on 2+ nodes, 0 when
 * not, -1 when a page is not there yet (touch the buffer first). */
static inline int interleaved_by_pages(const void *buf, size_t size, size_t block_size)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	const size_t pages = (size + page - 1) / page;
	const size_t pages_per_block = block_size > page ? block_size / page : 1;
	const size_t blocks = (pages + pages_per_block - 1) / pages_per_block;
	void **addrs = malloc(pages * sizeof(void *));
	int *where = malloc(pages * sizeof(int));
	int *block_node = malloc(blocks * sizeof(int));
	int verdict = -1;
	if (!addrs || !where || !block_node)
		goto out;
	for (size_t p = 0; p < pages; p++)
		addrs[p] = (char *)buf + p * page;
	if (move_pages(0, pages, addrs, NULL, where, 0) != 0)
		goto out;
	/* The node of each block; a block split over two nodes is not block
	 * interleaving. */
	for (size_t b = 0; b < blocks; b++) {
		block_node[b] = where[b * pages_per_block];
		for (size_t p = b * pages_per_block; p < pages && p < (b + 1) * pages_per_block; p++) {
			if (where[p] < 0)
				goto out; /* not resident: -1 */
			if (where[p] != block_node[b]) {
				verdict = 0;
				goto out;
			}
		}
	}
	verdict = nodes_round_robin(block_node, blocks);
out:
	free(addrs);
	free(where);
	free(block_node);
	return verdict;
}

/* 1 when every page's range has an interleave policy over 2+ nodes or over
 * all usable nodes, 0 when not, -1 when the kernel refuses to say. */
static inline int interleaved_by_policy(const void *buf, size_t size)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned long allowed[CHECK_MASK_WORDS];
	allowed_nodes_mask(allowed);
	for (size_t off = 0; off < size; off += page) {
		int mode = -1, nodes = 0;
		unsigned long mask[CHECK_MASK_WORDS] = {0};
		if (get_mempolicy(&mode, mask, CHECK_MASK_BITS + 1, (char *)buf + off, MPOL_F_ADDR) != 0)
			return -1;
		for (size_t w = 0; w < CHECK_MASK_WORDS; w++)
			nodes += __builtin_popcountl(mask[w]);
		int all = memcmp(mask, allowed, sizeof(mask)) == 0;
		if ((mode != MPOL_INTERLEAVE && mode != MPOL_WEIGHTED_INTERLEAVE) || (nodes < 2 && !all))
			return 0;
	}
	return 1;
}

/* The checker: pages when they can tell, the policy otherwise. how (may be
 * NULL) says which one answered. 1 interleaved, 0 not, -1 error. */
static inline int is_interleaved(const void *buf, size_t size, size_t block_size, const char **how)
{
	unsigned long allowed[CHECK_MASK_WORDS];
	if (allowed_nodes_mask(allowed) >= 2) {
		if (how)
			*how = "by where its pages are";
		return interleaved_by_pages(buf, size, block_size);
	}
	if (how)
		*how = "by its kernel policy: one node, pages cannot tell";
	return interleaved_by_policy(buf, size);
}

static inline const char *interleave_verdict(int verdict)
{
	return verdict == 1 ? "interleaved" : verdict == 0 ? "not interleaved" : "cannot tell (error)";
}

#endif
