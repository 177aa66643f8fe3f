/* The shim's report, read by the tests: one reader of JSON numbers and
 * strings (bounded by the object they belong to), the rule statistics the
 * shim tests check and the per-node pages the VM tests check. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "check.h"
#include "report.h"

/* Where "key" followed by suffix starts its value in [from, end), or NULL. */
static const char *json_value(const char *from, const char *end, const char *key, const char *suffix)
{
	char pattern[96];
	snprintf(pattern, sizeof(pattern), "\"%s\":%s", key, suffix);
	const char *at = from ? strstr(from, pattern) : NULL;
	if (!at || (end && at >= end))
		return NULL;
	return at + strlen(pattern);
}

long test_json_number(const char *from, const char *end, const char *key)
{
	const char *at = json_value(from, end, key, "");
	if (!at)
		return LONG_MIN;
	if (strncmp(at, "null", 4) == 0)
		return -1;
	char *stop;
	long value = strtol(at, &stop, 10);
	return stop == at ? LONG_MIN : value;
}

int test_json_string(const char *from, const char *end, const char *key, char *out, size_t len)
{
	const char *at = json_value(from, end, key, "\"");
	out[0] = '\0';
	if (!at)
		return -1;
	size_t used = 0;
	for (const char *c = at; *c && *c != '"' && used + 1 < len; c++) {
		if (*c == '\\' && c[1])
			c++;
		out[used++] = *c;
	}
	out[used] = '\0';
	return 0;
}

long shim_test_json_number(const char *from, const char *key)
{
	return test_json_number(from, NULL, key);
}

int shim_test_write_report(int fd, int json)
{
	int (*write_report)(int, int);
	*(void **)&write_report = dlsym(RTLD_DEFAULT, "amlshim_write_report");
	CHECK(write_report != NULL, "amlshim_write_report not found: not running under the shim");
	return write_report(fd, json);
}

void shim_test_report(char *buf, size_t len, int json)
{
	int fd = test_memfd("amlshim-report");
	CHECK(shim_test_write_report(fd, json) == 0, "amlshim_write_report failed");
	size_t used = shim_test_read_back(fd, buf, len);
	close(fd);
	CHECK(used > 0 && used < len - 1, "report of %zu bytes", used);
}

struct shim_rule_stats shim_test_rule_in(const char *json, size_t min)
{
	struct shim_rule_stats s;
	memset(&s, 0, sizeof(s));
	char pattern[64];
	snprintf(pattern, sizeof(pattern), "{\"min\":%zu,", min);
	const char *rule = strstr(json, pattern);
	if (!rule)
		return s;
	s.found = 1;
	s.count = shim_test_json_number(rule, "count");
	s.bytes = shim_test_json_number(rule, "bytes");
	s.live_bytes = shim_test_json_number(rule, "live_bytes");
	s.peak_bytes = shim_test_json_number(rule, "peak_bytes");
	s.realloc_moves = shim_test_json_number(rule, "realloc_moves");
	s.realloc_remaps = shim_test_json_number(rule, "realloc_remaps");
	s.reuses = shim_test_json_number(rule, "reuses");
	s.fallbacks = shim_test_json_number(rule, "fallbacks");
	s.mmaps = shim_test_json_number(rule, "mmaps");
	test_json_string(rule, NULL, "policy", s.policy, sizeof(s.policy));
	return s;
}

char shim_test_report_buf[SHIM_TEST_REPORT_MAX];

struct shim_rule_stats shim_test_rule(size_t min)
{
	shim_test_report(shim_test_report_buf, sizeof(shim_test_report_buf), 1);
	struct shim_rule_stats s = shim_test_rule_in(shim_test_report_buf, min);
	CHECK(s.found, "no rule with min %zu in the report: %s", min, shim_test_report_buf);
	return s;
}

long shim_test_report_counter(const char *key)
{
	shim_test_report(shim_test_report_buf, sizeof(shim_test_report_buf), 1);
	long value = shim_test_json_number(shim_test_report_buf, key);
	CHECK(value != LONG_MIN, "no \"%s\" in the report: %s", key, shim_test_report_buf);
	return value;
}

long shim_test_node_pages(const char *json, const char *key, long *per_node, int max)
{
	const char *nodes = strstr(json, "\"nodes\":[");
	CHECK(nodes != NULL, "no nodes in the report: %s", json);
	const char *end = strchr(nodes, ']');
	CHECK(end != NULL, "bad nodes array");
	long total = 0;
	for (int i = 0; i < max; i++)
		if (per_node)
			per_node[i] = 0;
	const char *at = nodes;
	while ((at = strstr(at, "{\"node\":")) && at < end) {
		long node = strtol(at + 8, NULL, 10);
		long pages = shim_test_json_number(at, key);
		CHECK(pages != LONG_MIN && pages >= 0, "bad %s for node %ld", key, node);
		total += pages;
		if (per_node && node >= 0 && node < max)
			per_node[node] = pages;
		at++;
	}
	return total;
}

/* A field of the rule [rule, end) that must be there. */
static unsigned long rule_field(const char *rule, const char *end, const char *key)
{
	long value = test_json_number(rule, end, key);
	CHECK(value != LONG_MIN, "no %s in the rule", key);
	return (unsigned long)value;
}

struct shim_vm_report shim_vm_parse_report(const char *json)
{
	struct shim_vm_report r;
	memset(&r, 0, sizeof(r));
	const char *rules = strstr(json, "\"rules\":[");
	CHECK(rules != NULL, "report without rules: %.200s", json);
	const char *rules_end = strstr(rules, "],\"nodes\":[");
	CHECK(rules_end != NULL, "report without nodes after the rules: %.200s", json);
	for (const char *p = rules; (p = strstr(p, "{\"min\":")) && p < rules_end; p++)
		r.rules++;
	CHECK(r.rules >= 1, "report with no rule: %.200s", json);
	const char *rule = strstr(rules, "{\"min\":");
	const char *rule_end = strchr(rule, '}');
	r.count = rule_field(rule, rule_end, "count");
	r.bytes = rule_field(rule, rule_end, "bytes");
	r.peak_bytes = rule_field(rule, rule_end, "peak_bytes");
	r.fallbacks = rule_field(rule, rule_end, "fallbacks");
	r.moves = rule_field(rule, rule_end, "realloc_moves");
	CHECK(test_json_string(rule, rule_end, "policy", r.policy, sizeof(r.policy)) == 0, "no policy");
	CHECK(test_json_string(rule, rule_end, "area", r.area, sizeof(r.area)) == 0, "no area");
	CHECK(test_json_string(rule, rule_end, "note", r.note, sizeof(r.note)) == 0, "no note");

	const char *nodes = rules_end + 2;
	const char *nodes_end = strchr(nodes, ']');
	CHECK(nodes_end != NULL, "unterminated nodes list");
	for (const char *p = nodes; (p = strstr(p, "{\"node\":")) && p < nodes_end; p++) {
		const char *end = strchr(p, '}');
		long node = test_json_number(p, end, "node");
		CHECK(node >= 0 && node < TEST_MAX_NODES, "bad node entry %.80s", p);
		r.exit_pages[node] = test_json_number(p, end, "resident_pages_exit");
		CHECK(r.exit_pages[node] != LONG_MIN, "no resident_pages_exit in %.80s", p);
		r.peak_pages[node] = test_json_number(p, end, "resident_pages_peak");
		CHECK(r.peak_pages[node] != LONG_MIN, "no resident_pages_peak in %.80s", p);
		if (node + 1 > r.nodes)
			r.nodes = (int)node + 1;
	}
	return r;
}

long shim_vm_sum(const long *pages, int nodes)
{
	long sum = 0;
	for (int n = 0; n < nodes; n++)
		sum += pages[n];
	return sum;
}

void shim_vm_print_report(const char *what, const struct shim_vm_report *r, int nodes)
{
	printf("%s: rule '%s': count %lu, bytes %lu, peak bytes %lu, fallbacks %lu\n", what, r->policy, r->count,
	       r->bytes, r->peak_bytes, r->fallbacks);
	printf("%s: area: %s%s%s\n", what, r->area, r->note[0] ? "; note: " : "", r->note);
	printf("%s: resident pages at peak:", what);
	for (int n = 0; n < nodes; n++)
		printf(" node%d=%ld", n, r->peak_pages[n]);
	printf(" (sum %ld); at exit:", shim_vm_sum(r->peak_pages, nodes));
	for (int n = 0; n < nodes; n++)
		printf(" node%d=%ld", n, r->exit_pages[n]);
	printf("\n");
	fflush(stdout);
}
