/* Where pages are: the node of each page (move_pages), per-node
 * histograms, the kernel policy of a range, resident pages. */
#ifndef AML_TESTS_PAGES_H
#define AML_TESTS_PAGES_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

size_t test_page_size(void);
/* Node of the (resident) page at addr, or -errno (move_pages with NULL). */
int test_page_node(const void *addr);
/* Nodes of every page of [addr, addr+size): nodes[i] for page i. Returns 0
 * or -1 when the kernel refused (errno set). Pages not present give <0. */
int test_pages_nodes(const void *addr, size_t size, int *nodes);
/* The same, calloc'ed (free it); fails the test when the kernel refuses. */
int *test_page_nodes_of(const void *addr, size_t size);
/* The same, and fails the test unless every page is resident on a node
 * below TEST_MAX_NODES. */
int *test_resident_nodes(const void *addr, size_t size);
/* Pages on each node (counts[node], up to max_node), of a resident range. */
int test_node_histogram(const void *addr, size_t size, long *counts, int max_node);
/* Prints "what: node0=N ... (of P pages)" for the nodes of `pages` pages
 * (where[], from test_page_nodes_of) and returns the pages on `node`. */
long test_print_histogram(const char *what, const int *where, size_t pages, int node);
/* Fails the test unless each of the `pages` pages (where[]) is on a node
 * of set[0..count); *least and *most (when given) get the fewest and most
 * pages a node of the set holds. */
void test_check_in_set(const char *what, const int *where, size_t pages, const int *set, int count, long *least,
                       long *most);
/* Pages not on the node of their block, set[(page / block_pages) % count]
 * (block interleave); prints the first few unless what is NULL. */
size_t test_blocks_misplaced(const char *what, const int *where, size_t pages, size_t block_pages, const int *set,
                             int count);
/* Weighted interleave: the node of unit i of an allocation, each cycle
 * putting weights[0] units on set[0], then weights[1] on set[1], ... */
int test_weighted_node(const int *set, const unsigned *weights, int count, size_t i);
/* Kernel policy (MPOL_*) and node mask (first word) for the page at addr. */
int test_range_policy(const void *addr, int *mode, unsigned long *mask);
/* The same, failing the test on an error: the mode; mask may be NULL. */
int shim_test_policy(const void *addr, unsigned long *mask);
/* "MPOL_BIND", ... for a mode. */
const char *shim_test_policy_name(int mode);
/* Touches every page of a range for writing. */
void test_touch(void *addr, size_t size);
/* Resident pages of [addr, addr + size) (mincore). */
size_t test_resident_pages(const void *addr, size_t size);

#define CHECK_POLICY(addr, expected)                                                            \
	do {                                                                                    \
		int mode_ = shim_test_policy((addr), NULL);                                     \
		CHECK(mode_ == (expected), "policy of %p is %s (%d), expected %s", (void *)(addr), \
		      shim_test_policy_name(mode_), mode_, shim_test_policy_name(expected));   \
	} while (0)

#ifdef __cplusplus
}
#endif

#endif
