/* Helpers for the policy tests: an environment made of a table, a sink that
 * keeps the lines, and string/placement assertions. Header-only because
 * every .c file in tests/policy is a test program of its own. */
#ifndef AMLSHIM_TESTS_POLICY_TEST_H
#define AMLSHIM_TESTS_POLICY_TEST_H

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "policy.h"

#define CHECK_STR(a, b)                                                                   \
	do {                                                                              \
		const char *check_a_ = (a), *check_b_ = (b);                              \
		CHECK(strcmp(check_a_, check_b_) == 0, "\n  got      '%s'\n  expected '%s'", \
		      check_a_, check_b_);                                                \
	} while (0)

/* The "accepted:" part of each variable's message, as documented. Spelled
 * out here (not taken from the parser) so a change of wording shows. */
#define ACCEPTED_PLACEMENT                                                                   \
	"default, local, bind:NODES, preferred:NODE, interleave[:NODES], "                   \
	"block-interleave:SIZE[:NODES], weighted-interleave[:auto][:NODES], "                \
	"weighted-interleave:NODE*WEIGHT,... like 0*3,2*1, bandwidth, latency, capacity, "   \
	"cuda-mapped[:DEV], cuda-managed[:DEV] (NODES: node numbers 0-1023 like 0-3,6, node " \
	"sets local, socket, dram, hbm, cxl, gpu, KIND@socket like local,3, or all; SIZE: "  \
	"bytes like 2M, a multiple of 4K; WEIGHT: 1-255; DEV: 0-1023)"
#define ACCEPTED_POLICY ACCEPTED_PLACEMENT
#define ACCEPTED_SMALL                                                                      \
	"default, local, bind:NODES, preferred:NODE, interleave[:NODES], bandwidth, latency, " \
	"capacity (NODES: node numbers 0-1023 like 0-3,6, node sets local, socket, dram, hbm, cxl, gpu, " \
	"KIND@socket like local,3, or all)"
#define ACCEPTED_THRESHOLD                                                                  \
	"a size in bytes: digits with an optional K, M, G or T suffix (powers of 1024; B or " \
	"iB may follow), like 0, 4096, 64K, 1M, 2GiB"
#define ACCEPTED_RULES                                                                       \
	"MIN-MAX=PLACEMENT rules separated by ';', like 0-64K=local;64K-1G=interleave;"      \
	"1G-=block-interleave:2M; a rule covers sizes in [MIN,MAX), MIN- has no upper bound, " \
	"-MAX starts at 0; at most 16 rules, none overlapping; PLACEMENT is one of "         \
	ACCEPTED_PLACEMENT
#define ACCEPTED_MMAP "on, off, 1, 0"
#define ACCEPTED_DEEPBIND "keep, drop"
#define ACCEPTED_STATS "0, off, 1, text, json"
#define ACCEPTED_STATS_FILE \
	"a non-empty path shorter than 256 bytes, where %p stands for the process id, %r for the "   \
	"global rank (the process id when no launcher gives one), %h for the host name and %% for %"
#define ACCEPTED_LOG "error, warn, info, debug"
#define ACCEPTED_STRICT "0, 1"
#define ACCEPTED_SHARE_SETTLE "a duration: 0, or 1 to 100000000 followed by ms or s, like 500ms or 1s"
#define ACCEPTED_LEDGER "1 to 64 of A-Z a-z 0-9 . _ - (not starting with .)"

#define TEST_MAX_VARS 16
#define TEST_MAX_LINES 16

struct test_env {
	const char *names[TEST_MAX_VARS];
	const char *values[TEST_MAX_VARS];
	int count;
	int reads[TEST_MAX_VARS]; /* times each variable was read */
	const char *unset_reads[2 * TEST_MAX_VARS]; /* names read but not in the table */
	int num_unset_reads;
	char lines[TEST_MAX_LINES][AMLSHIM_MESSAGE_MAX];
	int num_lines;
};

static inline const char *test_env_read(const char *name, void *ctx)
{
	struct test_env *env = ctx;
	for (int i = 0; i < env->count; i++) {
		if (strcmp(env->names[i], name) == 0) {
			env->reads[i]++;
			return env->values[i];
		}
	}
	CHECK(env->num_unset_reads < 2 * TEST_MAX_VARS, "too many reads");
	env->unset_reads[env->num_unset_reads++] = name;
	return NULL;
}

static inline void test_sink(const char *line, void *ctx)
{
	struct test_env *env = ctx;
	CHECK(env->num_lines < TEST_MAX_LINES, "too many message lines");
	size_t len = strlen(line);
	CHECK(len < AMLSHIM_MESSAGE_MAX, "line of %zu bytes", len);
	memcpy(env->lines[env->num_lines++], line, len + 1);
}

/* An environment from name, value pairs ending with NULL. */
static inline void test_env_fill(struct test_env *env, va_list ap)
{
	memset(env, 0, sizeof(*env));
	for (const char *name; (name = va_arg(ap, const char *));) {
		CHECK(env->count < TEST_MAX_VARS, "too many variables");
		env->names[env->count] = name;
		env->values[env->count++] = va_arg(ap, const char *);
	}
}

/* Parses an environment given as name, value pairs ending with NULL. */
static inline void test_parse(struct amlshim_policy *policy, struct test_env *env, ...)
{
	va_list ap;
	va_start(ap, env);
	test_env_fill(env, ap);
	va_end(ap);
	amlshim_policy_parse(policy, test_env_read, env, test_sink, env);
	for (int i = 0; i < env->count; i++)
		CHECK(env->reads[i] <= 1, "%s read %d times", env->names[i], env->reads[i]);
	CHECK_EQ(policy->errors, env->num_lines);
}

/* The one line a bad plain value (printable, no quote or backslash, at
 * most AMLSHIM_QUOTE_MAX bytes) gives. */
static inline void check_message(const struct test_env *env, int line, const char *name,
                                 const char *value, const char *reason, const char *accepted)
{
	char want[2 * AMLSHIM_MESSAGE_MAX];
	CHECK(strlen(value) <= AMLSHIM_QUOTE_MAX && !strpbrk(value, "'\\\n"), "not a plain value");
	snprintf(want, sizeof(want), "amlshim: %s='%s' is not valid: %s; accepted: %s", name, value,
	         reason, accepted);
	CHECK(line < env->num_lines, "no line %d (%d lines) for %s='%s'", line, env->num_lines, name, value);
	CHECK_STR(env->lines[line], want);
}

/* Node mask from a list of node numbers ending with -1. */
static inline void test_mask(unsigned long *mask, ...)
{
	va_list ap;
	memset(mask, 0, AMLSHIM_NODE_WORDS * sizeof(*mask));
	va_start(ap, mask);
	for (int node; (node = va_arg(ap, int)) >= 0;)
		mask[node / (8 * sizeof(unsigned long))] |= 1UL << (node % (8 * sizeof(unsigned long)));
	va_end(ap);
}

static inline int test_mask_empty(const unsigned long *mask)
{
	for (size_t w = 0; w < AMLSHIM_NODE_WORDS; w++)
		if (mask[w])
			return 0;
	return 1;
}

#define CHECK_MASK(got, want) \
	CHECK(memcmp((got), (want), AMLSHIM_NODE_WORDS * sizeof(unsigned long)) == 0, "node masks differ")

/* Every field of a placement: kind, all_nodes, block size, device, text, and
 * the mask (NULL: must be empty). */
static inline void check_placement(const struct amlshim_placement *p, enum amlshim_placement_kind kind,
                                   int all_nodes, const unsigned long *mask, size_t block_size,
                                   int device, const char *text)
{
	CHECK_EQ(p->kind, kind);
	CHECK_EQ(p->all_nodes, all_nodes);
	if (mask)
		CHECK_MASK(p->nodes, mask);
	else
		CHECK(test_mask_empty(p->nodes), "mask should be empty for %s", text);
	CHECK_EQ(p->block_size, block_size);
	CHECK_EQ(p->device, device);
	CHECK_STR(p->text, text);
}

static inline void check_default_placement(const struct amlshim_placement *p)
{
	check_placement(p, AMLSHIM_PLACE_DEFAULT, 1, NULL, 0, 0, "default");
}

/* The placement fallback: no rules, small objects kernel default. */
static inline void check_placement_fallback(const struct amlshim_policy *p)
{
	CHECK_EQ(p->num_rules, 0);
	CHECK_EQ(p->rules_override, 0);
	check_default_placement(&p->small);
	CHECK(amlshim_policy_rule_for(p, 1UL << 30) == NULL, "a rule survived the fallback");
}

/* Every non-placement field at its default. */
static inline void check_switch_defaults(const struct amlshim_policy *p)
{
	CHECK_EQ(p->mmap_on, 1);
	CHECK_EQ(p->deepbind, AMLSHIM_DEEPBIND_KEEP);
	CHECK_EQ(p->stats, AMLSHIM_STATS_OFF);
	CHECK_STR(p->stats_file, "");
	CHECK_EQ(p->log_level, AMLSHIM_LOG_WARN);
	CHECK_EQ(p->strict, 0);
	CHECK_EQ(p->share_settle_ns, AMLSHIM_DEFAULT_SHARE_SETTLE_NS);
	CHECK_STR(p->ledger, "");
}

#endif
