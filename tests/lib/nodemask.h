/* Node sets for the tests: the nodes this process may use, a libnuma mask
 * of chosen nodes, a node list parsed from text. */
#ifndef AML_TESTS_NODEMASK_H
#define AML_TESTS_NODEMASK_H

#ifdef __cplusplus
extern "C" {
#endif

/* The most nodes a test looks at (counts[], histograms). */
#define TEST_MAX_NODES 64

struct bitmask; /* libnuma's */

/* Memory nodes this process may allocate on, increasing; returns count. */
int test_allowed_nodes(int *nodes, int max);
/* The allowed nodes of a test that needs NUMA: skips on a kernel without
 * it, fails when there is no node; returns the count. */
int test_numa_nodes(int *nodes, int max);
/* First node this process may allocate on (0 when libnuma cannot tell). */
int shim_test_first_node(void);
/* A libnuma node mask of the given nodes (free with numa_bitmask_free). */
struct bitmask *test_mask_of(const int *nodes, int count);
/* A list of numbers separated by commas or spaces; returns the count. */
int test_parse_list(const char *text, int *out, int max);

#ifdef __cplusplus
}
#endif

#endif
