/* Helpers for the C tests: assertions, skips and placement queries.
 * Exit codes: 0 pass, 77 skip, anything else fail. */
#ifndef AML_TESTS_CHECK_H
#define AML_TESTS_CHECK_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define TEST_SKIP_CODE 77

/* Fails the test (exit 1) with the location and a message. */
#define CHECK(cond, ...)                                                         \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                            \
			fprintf(stderr, "\n");                                   \
			exit(1);                                                 \
		}                                                                \
	} while (0)

#define CHECK_EQ(a, b) CHECK((long long)(a) == (long long)(b), "%lld != %lld", \
                             (long long)(a), (long long)(b))

/* Skip because the machine lacks hardware (a GPU, a second NUMA node):
 * always a skip, in CI too. */
void test_skip_hardware(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Skip because a tool or package is missing: a failure when CI=true. */
void test_skip_dependency(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

size_t test_page_size(void);
/* Memory nodes this process may allocate on, increasing; returns count. */
int test_allowed_nodes(int *nodes, int max);
/* Node of the (resident) page at addr, or -errno (move_pages with NULL). */
int test_page_node(const void *addr);
/* Nodes of every page of [addr, addr+size): nodes[i] for page i. Returns 0
 * or -1 when the kernel refused (errno set). Pages not present give <0. */
int test_pages_nodes(const void *addr, size_t size, int *nodes);
/* Pages on each node (counts[node], up to max_node), of a resident range. */
int test_node_histogram(const void *addr, size_t size, long *counts, int max_node);
/* Kernel policy (MPOL_*) and node mask (first word) for the page at addr. */
int test_range_policy(const void *addr, int *mode, unsigned long *mask);
/* Lines in /proc/self/maps. */
int test_vma_count(void);
/* Touches every page of a range for writing. */
void test_touch(void *addr, size_t size);
/* Resident pages of [addr, addr + size) (mincore). */
size_t test_resident_pages(const void *addr, size_t size);
/* Seconds on the monotonic clock. */
double test_now(void);
/* The THP mode in sysfs is always or madvise, and this process has not
 * turned THP off (prctl): madvised anonymous memory gets huge pages. */
int test_thp_usable(void);

#endif
