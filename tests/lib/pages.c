/* Where pages are: move_pages(2) with no target nodes for the node of each
 * page, get_mempolicy(2) for the policy of a range, mincore(2) for what is
 * resident. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <numaif.h>

#include "check.h"

#ifndef MPOL_LOCAL
#define MPOL_LOCAL 4
#endif

size_t test_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

int test_page_node(const void *addr)
{
	void *page = (void *)((unsigned long)addr & ~(test_page_size() - 1));
	int status = -1;
	if (syscall(SYS_move_pages, 0, 1UL, &page, NULL, &status, 0) != 0)
		return -errno;
	return status;
}

int test_pages_nodes(const void *addr, size_t size, int *nodes)
{
	size_t page = test_page_size();
	size_t count = (size + page - 1) / page;
	enum { CHUNK = 4096 };
	void *pages[CHUNK];
	for (size_t done = 0; done < count; done += CHUNK) {
		size_t n = count - done < CHUNK ? count - done : CHUNK;
		for (size_t i = 0; i < n; i++)
			pages[i] = (char *)addr + (done + i) * page;
		if (syscall(SYS_move_pages, 0, n, pages, NULL, nodes + done, 0) != 0)
			return -1;
	}
	return 0;
}

int *test_page_nodes_of(const void *addr, size_t size)
{
	size_t pages = (size + test_page_size() - 1) / test_page_size();
	int *where = calloc(pages, sizeof(int));
	CHECK(where != NULL, "out of memory");
	CHECK(test_pages_nodes(addr, size, where) == 0, "move_pages failed");
	return where;
}

int *test_resident_nodes(const void *addr, size_t size)
{
	size_t pages = (size + test_page_size() - 1) / test_page_size();
	int *where = test_page_nodes_of(addr, size);
	for (size_t i = 0; i < pages; i++)
		CHECK(where[i] >= 0 && where[i] < TEST_MAX_NODES, "page %zu not resident (%d)", i, where[i]);
	return where;
}

int test_node_histogram(const void *addr, size_t size, long *counts, int max_node)
{
	size_t page = test_page_size();
	size_t count = (size + page - 1) / page;
	int *nodes = calloc(count, sizeof(int));
	if (!nodes)
		return -1;
	int ret = test_pages_nodes(addr, size, nodes);
	for (int n = 0; n <= max_node; n++)
		counts[n] = 0;
	for (size_t i = 0; ret == 0 && i < count; i++)
		if (nodes[i] >= 0 && nodes[i] <= max_node)
			counts[nodes[i]]++;
	free(nodes);
	return ret;
}

long test_print_histogram(const char *what, const int *where, size_t pages, int node)
{
	long counts[TEST_MAX_NODES] = {0}, other = 0;
	for (size_t i = 0; i < pages; i++) {
		if (where[i] >= 0 && where[i] < TEST_MAX_NODES)
			counts[where[i]]++;
		else
			other++;
	}
	printf("%s:", what);
	for (int n = 0; n < TEST_MAX_NODES; n++)
		if (counts[n])
			printf(" node%d=%ld", n, counts[n]);
	if (other)
		printf(" not-resident=%ld", other);
	printf(" (of %zu pages)\n", pages);
	fflush(stdout);
	return node >= 0 && node < TEST_MAX_NODES ? counts[node] : 0;
}

void test_check_in_set(const char *what, const int *where, size_t pages, const int *set, int count, long *least,
                       long *most)
{
	long per_node[TEST_MAX_NODES] = {0};
	for (size_t i = 0; i < pages; i++) {
		int in_set = 0;
		for (int k = 0; k < count; k++)
			in_set |= where[i] == set[k];
		CHECK(in_set, "%s: page %zu on node %d, outside the set", what, i, where[i]);
		per_node[where[i]]++;
	}
	long fewest = (long)pages, most_pages = 0;
	for (int k = 0; k < count; k++) {
		fewest = per_node[set[k]] < fewest ? per_node[set[k]] : fewest;
		most_pages = per_node[set[k]] > most_pages ? per_node[set[k]] : most_pages;
	}
	if (least)
		*least = fewest;
	if (most)
		*most = most_pages;
}

size_t test_blocks_misplaced(const char *what, const int *where, size_t pages, size_t block_pages, const int *set,
                             int count)
{
	size_t wrong = 0;
	for (size_t i = 0; i < pages; i++) {
		int want = set[(i / block_pages) % (size_t)count];
		if (where[i] != want && wrong++ < 5 && what)
			fprintf(stderr, "%s: page %zu (block %zu) on node %d, want %d\n", what, i, i / block_pages,
			        where[i], want);
	}
	return wrong;
}

int test_range_policy(const void *addr, int *mode, unsigned long *mask)
{
	unsigned long masks[1024 / (8 * sizeof(unsigned long))] = {0};
	long ret = syscall(SYS_get_mempolicy, mode, masks, 1025UL, addr, MPOL_F_ADDR);
	if (mask)
		*mask = masks[0];
	return ret == 0 ? 0 : -errno;
}

int shim_test_policy(const void *addr, unsigned long *mask)
{
	int mode = -1;
	int ret = test_range_policy(addr, &mode, mask);
	CHECK(ret == 0, "get_mempolicy(MPOL_F_ADDR, %p): %s", addr, strerror(-ret));
	return mode;
}

const char *shim_test_policy_name(int mode)
{
	switch (mode) {
	case MPOL_DEFAULT: return "MPOL_DEFAULT";
	case MPOL_PREFERRED: return "MPOL_PREFERRED";
	case MPOL_BIND: return "MPOL_BIND";
	case MPOL_INTERLEAVE: return "MPOL_INTERLEAVE";
	case MPOL_LOCAL: return "MPOL_LOCAL";
	default: return "another policy";
	}
}

void test_touch(void *addr, size_t size)
{
	size_t page = test_page_size();
	for (size_t off = 0; off < size; off += page)
		((volatile char *)addr)[off] = (char)(off / page);
}

size_t test_resident_pages(const void *addr, size_t size)
{
	const size_t page = test_page_size(), pages = (size + page - 1) / page;
	unsigned char *vec = malloc(pages);
	CHECK(vec != NULL, "malloc");
	CHECK(mincore((void *)addr, size, vec) == 0, "mincore: %s", strerror(errno));
	size_t count = 0;
	for (size_t i = 0; i < pages; i++)
		count += vec[i] & 1;
	free(vec);
	return count;
}

int test_weighted_node(const int *set, const unsigned *weights, int count, size_t i)
{
	size_t cycle = 0;
	for (int k = 0; k < count; k++)
		cycle += weights[k];
	size_t at = cycle ? i % cycle : 0;
	for (int k = 0; k < count; k++) {
		if (at < weights[k])
			return set[k];
		at -= weights[k];
	}
	return -1;
}
