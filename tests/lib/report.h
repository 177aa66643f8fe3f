/* The shim's report, read by the tests: written now through a memfd, or
 * read from a file (AMLSHIM_STATS_FILE), and the JSON fields the tests
 * check (README.md, "The report"). */
#ifndef AML_TESTS_REPORT_H
#define AML_TESTS_REPORT_H

#include <stddef.h>

#include "nodemask.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The number after "key": in [from, end) (end NULL: to the string's end);
 * -1 for null; LONG_MIN when missing or not a number. */
long test_json_number(const char *from, const char *end, const char *key);
/* The string after "key": in [from, end) into out, unescaped enough for
 * checks; 0, or -1 when missing. */
int test_json_string(const char *from, const char *end, const char *key, char *out, size_t len);
/* test_json_number from `from` to the end of the text. */
long shim_test_json_number(const char *from, const char *key);

/* amlshim_write_report, looked up at run time (the tests do not link it). */
int shim_test_write_report(int fd, int json);
/* The report now, into buf (NUL-terminated). No malloc: a memfd and read(2). */
void shim_test_report(char *buf, size_t len, int json);

struct shim_rule_stats {
	int found;
	long count, bytes, live_bytes, peak_bytes, realloc_moves, realloc_remaps, reuses, fallbacks, mmaps;
	char policy[96];
};

/* The statistics of the rule starting at min, from a JSON report. */
struct shim_rule_stats shim_test_rule_in(const char *json, size_t min);
/* The report shim_test_rule and shim_test_report_counter read last; tests
 * may fill it themselves. */
#define SHIM_TEST_REPORT_MAX (1 << 16)
extern char shim_test_report_buf[SHIM_TEST_REPORT_MAX];
/* The statistics of the rule starting at min, now. */
struct shim_rule_stats shim_test_rule(size_t min);
/* A top-level counter of the JSON report now ("foreign_frees", ...). */
long shim_test_report_counter(const char *key);
/* Sum of "resident_pages_exit" (or another per-node key) over the nodes;
 * per_node[n] gets each (up to max entries). */
long shim_test_node_pages(const char *json, const char *key, long *per_node, int max);

/* A whole report as the VM tests read it: the first rule and the pages
 * per node. */
struct shim_vm_report {
	int nodes;                 /* entries in "nodes" */
	long exit_pages[TEST_MAX_NODES];
	long peak_pages[TEST_MAX_NODES];
	int rules;                 /* entries in "rules" */
	/* The first rule's fields. */
	unsigned long count, bytes, fallbacks, peak_bytes, moves;
	char policy[128], area[512], note[256];
};

/* Parses the shim's JSON report: the first rule's counters and area, and
 * "node"/"resident_pages_*" per node. Fails the test on a bad report. */
struct shim_vm_report shim_vm_parse_report(const char *json);
/* The sum of pages[0..nodes). */
long shim_vm_sum(const long *pages, int nodes);
/* Prints the first rule and the pages per node at the peak and at exit. */
void shim_vm_print_report(const char *what, const struct shim_vm_report *r, int nodes);

#ifdef __cplusplus
}
#endif

#endif
