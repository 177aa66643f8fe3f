/* Shared by the fuzz targets (tests/fuzz/fuzz_*.c): the invariants every
 * parse of the AMLSHIM_* environment must keep, whatever the input.
 * A violated invariant aborts (libFuzzer and the ASan replay both report
 * an abort as a crash, with the input saved). */
#ifndef AMLSHIM_TESTS_FUZZ_H
#define AMLSHIM_TESTS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h" /* CHECK_OR */
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...) CHECK_OR(abort(), "fuzz invariant broken at", cond, __VA_ARGS__)

static const char *const fuzz_variables[] = {
	"AMLSHIM_POLICY", "AMLSHIM_THRESHOLD", "AMLSHIM_RULES", "AMLSHIM_SMALL", "AMLSHIM_MMAP",
	"AMLSHIM_STATS", "AMLSHIM_STATS_FILE", "AMLSHIM_LOG", "AMLSHIM_STRICT", "AMLSHIM_DEEPBIND",
	"AMLSHIM_SHARE_SETTLE", "AMLSHIM_LEDGER",
};
#define FUZZ_NUM_VARIABLES 12

/* An environment of at most the twelve variables; NULL = unset. */
struct fuzz_env {
	const char *values[FUZZ_NUM_VARIABLES];
	int reads[FUZZ_NUM_VARIABLES];
	int foreign_reads; /* names that are not ours */
};

static inline const char *fuzz_env_read(const char *name, void *ctx)
{
	struct fuzz_env *env = ctx;
	for (int i = 0; i < FUZZ_NUM_VARIABLES; i++) {
		if (strcmp(name, fuzz_variables[i]) == 0) {
			env->reads[i]++;
			return env->values[i];
		}
	}
	env->foreign_reads++;
	return NULL;
}

struct fuzz_messages {
	int count;
	char first[AMLSHIM_MESSAGE_MAX + 1];
	int names[FUZZ_NUM_VARIABLES]; /* messages per variable */
};

/* Every message line: "amlshim: NAME=... is not valid: ...; accepted: ...",
 * bounded, printable ASCII only (values are escaped), one per variable. */
static inline void fuzz_sink(const char *line, void *ctx)
{
	struct fuzz_messages *messages = ctx;
	size_t len = strnlen(line, AMLSHIM_MESSAGE_MAX + 1);
	FUZZ_CHECK(len < AMLSHIM_MESSAGE_MAX, "a message of %zu bytes", len);
	FUZZ_CHECK(strncmp(line, "amlshim: AMLSHIM_", 17) == 0, "message prefix: %.40s", line);
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK((unsigned char)line[i] >= 0x20 && (unsigned char)line[i] < 0x7f,
		           "byte %#x at %zu of a message: a value was not escaped", (unsigned char)line[i], i);
	int named = -1;
	for (int i = 0; i < FUZZ_NUM_VARIABLES; i++) {
		size_t n = strlen(fuzz_variables[i]);
		if (strncmp(line + 9, fuzz_variables[i], n) == 0 && line[9 + n] == '=')
			named = i;
	}
	FUZZ_CHECK(named >= 0, "a message names no variable: %.60s", line);
	messages->names[named]++;
	FUZZ_CHECK(messages->names[named] == 1, "two messages about %s", fuzz_variables[named]);
	FUZZ_CHECK(strstr(line, " is not valid: ") != NULL, "message without ' is not valid: ': %.80s", line);
	FUZZ_CHECK(strstr(line, "; accepted: ") != NULL || (len > 3 && strcmp(line + len - 3, "...") == 0),
	           "message without '; accepted: ' that was not cut: %.80s", line);
	if (messages->count++ == 0)
		memcpy(messages->first, line, len + 1);
}

static inline int fuzz_terminated(const char *text, size_t cap)
{
	return memchr(text, '\0', cap) != NULL;
}

/* The one rule covering size, by a plain scan of the whole table. */
static inline const struct amlshim_rule *fuzz_rule_scan(const struct amlshim_policy *policy, size_t size)
{
	const struct amlshim_rule *found = NULL;
	for (int i = 0; i < policy->num_rules; i++) {
		const struct amlshim_rule *r = &policy->rules[i];
		if (size >= r->min && (size < r->max || r->max == SIZE_MAX)) {
			FUZZ_CHECK(found == NULL, "size %zu is in two rules", size);
			found = r;
		}
	}
	return found;
}

static inline void fuzz_check_lookup(const struct amlshim_policy *policy, size_t size)
{
	const struct amlshim_rule *fast = amlshim_policy_rule_for(policy, size);
	const struct amlshim_rule *slow = fuzz_rule_scan(policy, size);
	FUZZ_CHECK(fast == slow, "rule_for(%zu) gives rule %ld, the scan rule %ld", size,
	           fast ? (long)(fast - policy->rules) : -1L, slow ? (long)(slow - policy->rules) : -1L);
}

static inline void fuzz_check_placement(const struct amlshim_placement *p)
{
	FUZZ_CHECK((unsigned)p->kind < AMLSHIM_PLACE_KIND_COUNT, "kind %d", (int)p->kind);
	FUZZ_CHECK(fuzz_terminated(p->text, sizeof(p->text)), "placement text not terminated");
	FUZZ_CHECK(p->text[0] != '\0', "empty placement text");
	const char *name = amlshim_placement_kind_name(p->kind);
	FUZZ_CHECK(strncmp(p->text, name, strlen(name)) == 0, "text '%s' for kind %s", p->text, name);
	if (p->kind == AMLSHIM_PLACE_BLOCK_INTERLEAVE)
		FUZZ_CHECK(p->block_size > 0 && p->block_size % 4096 == 0, "block size %zu", p->block_size);
	if (p->kind == AMLSHIM_PLACE_CUDA_MAPPED || p->kind == AMLSHIM_PLACE_CUDA_MANAGED)
		FUZZ_CHECK(p->device >= 0 && p->device < AMLSHIM_MAX_DEVICES, "device %d", p->device);
	int any = 0;
	for (size_t w = 0; w < AMLSHIM_NODE_WORDS; w++)
		any |= p->nodes[w] != 0;
	FUZZ_CHECK(!(p->all_nodes && (any || p->node_names)), "'all' with a node mask or names");
	FUZZ_CHECK(p->node_names < 1U << AMLSHIM_NAME_COUNT, "node names 0x%x", p->node_names);
	if (p->kind == AMLSHIM_PLACE_BIND || p->kind == AMLSHIM_PLACE_PREFERRED)
		FUZZ_CHECK(p->all_nodes || any || p->node_names, "%s without nodes", name);
	/* Weights: none, or one from 1 for each node of the set, in order. */
	int weighted = 0, set = 0;
	for (size_t i = 0; i < AMLSHIM_MAX_WEIGHTS; i++) {
		FUZZ_CHECK(p->weights[i] != 0 || i + 1 == AMLSHIM_MAX_WEIGHTS || p->weights[i + 1] == 0,
		           "a weight after a 0 in '%s'", p->text);
		weighted += p->weights[i] != 0;
	}
	for (size_t w = 0; w < AMLSHIM_NODE_WORDS; w++)
		set += __builtin_popcountl(p->nodes[w]);
	FUZZ_CHECK(!weighted || (p->kind == AMLSHIM_PLACE_WEIGHTED_INTERLEAVE && !p->all_nodes && weighted == set),
	           "%d weights for %d nodes in '%s'", weighted, set, p->text);
	/* The canonical text parses back to the same placement, unless it was
	 * cut ("...": a long scattered node list). */
	size_t len = strlen(p->text);
	if (len >= 3 && strcmp(p->text + len - 3, "...") == 0)
		return;
	struct amlshim_placement again;
	char why[512];
	FUZZ_CHECK(amlshim_parse_placement(p->text, &again, why, sizeof(why)) == 0,
	           "canonical text '%s' does not parse: %s", p->text, why);
	FUZZ_CHECK(again.kind == p->kind && again.all_nodes == p->all_nodes &&
	                   memcmp(again.nodes, p->nodes, sizeof(p->nodes)) == 0 &&
	                   again.node_names == p->node_names &&
	                   again.block_size == p->block_size && again.device == p->device &&
	                   memcmp(again.weights, p->weights, sizeof(p->weights)) == 0 &&
	                   strcmp(again.text, p->text) == 0,
	           "canonical text '%s' parses to another placement ('%s')", p->text, again.text);
}

/* Everything a parsed policy must be, whatever the input. */
static inline void fuzz_check_policy(const struct amlshim_policy *policy, const uint8_t *data, size_t size)
{
	FUZZ_CHECK(policy->num_rules >= 0 && policy->num_rules <= AMLSHIM_MAX_RULES, "%d rules", policy->num_rules);
	for (int i = 0; i < policy->num_rules; i++) {
		const struct amlshim_rule *r = &policy->rules[i];
		/* max SIZE_MAX includes SIZE_MAX: AMLSHIM_THRESHOLD=18446744073709551615
		 * gives the one-size rule [SIZE_MAX, SIZE_MAX]. */
		FUZZ_CHECK(r->min < r->max || (r->min == SIZE_MAX && r->max == SIZE_MAX), "rule %d: [%zu, %zu)", i,
		           r->min, r->max);
		if (i + 1 < policy->num_rules) {
			FUZZ_CHECK(r->max != SIZE_MAX, "an open-ended rule %d is not last", i);
			FUZZ_CHECK(r->max <= policy->rules[i + 1].min, "rules %d and %d overlap", i, i + 1);
		}
		fuzz_check_placement(&r->placement);
		/* Every edge of the rule, and its neighbours. */
		size_t edges[] = {r->min, r->min - 1, r->min + 1, r->max, r->max - 1, r->max + 1};
		for (size_t e = 0; e < sizeof(edges) / sizeof(edges[0]); e++)
			fuzz_check_lookup(policy, edges[e]);
	}
	fuzz_check_lookup(policy, 0);
	fuzz_check_lookup(policy, SIZE_MAX);
	/* Sizes taken from the input itself. */
	for (size_t at = 0; at + 8 <= size && at < 64; at += 8) {
		size_t value;
		memcpy(&value, data + at, 8);
		fuzz_check_lookup(policy, value);
		fuzz_check_lookup(policy, value >> (value & 63));
	}
	fuzz_check_placement(&policy->small);
	FUZZ_CHECK(policy->small.kind != AMLSHIM_PLACE_BLOCK_INTERLEAVE && policy->small.kind != AMLSHIM_PLACE_CUDA_MAPPED &&
	                   policy->small.kind != AMLSHIM_PLACE_CUDA_MANAGED &&
	                   policy->small.kind != AMLSHIM_PLACE_WEIGHTED_INTERLEAVE,
	           "AMLSHIM_SMALL accepted %s", policy->small.text);
	FUZZ_CHECK(policy->mmap_on == 0 || policy->mmap_on == 1, "mmap_on %d", policy->mmap_on);
	FUZZ_CHECK(policy->strict == 0 || policy->strict == 1, "strict %d", policy->strict);
	FUZZ_CHECK(policy->deepbind == AMLSHIM_DEEPBIND_KEEP || policy->deepbind == AMLSHIM_DEEPBIND_DROP,
	           "deepbind %d", (int)policy->deepbind);
	FUZZ_CHECK((unsigned)policy->stats <= AMLSHIM_STATS_JSON, "stats %d", (int)policy->stats);
	FUZZ_CHECK((unsigned)policy->log_level <= AMLSHIM_LOG_DEBUG, "log %d", (int)policy->log_level);
	FUZZ_CHECK(fuzz_terminated(policy->stats_file, sizeof(policy->stats_file)), "stats_file not terminated");
	FUZZ_CHECK(policy->share_settle_ns <= 100000000ULL * 1000000000ULL, "settle %llu ns", policy->share_settle_ns);
	FUZZ_CHECK(fuzz_terminated(policy->ledger, sizeof(policy->ledger)) && policy->ledger[0] != '.' &&
	                   strspn(policy->ledger, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	                           strlen(policy->ledger),
	           "ledger name '%s'", policy->ledger);
	/* A stats file, when set, has only %p, %r, %h and %% sequences. */
	for (const char *c = policy->stats_file; *c; c++) {
		if (*c == '%') {
			FUZZ_CHECK(c[1] == 'p' || c[1] == 'r' || c[1] == 'h' || c[1] == '%',
			           "stats file '%s' kept a bad %% sequence", policy->stats_file);
			c++;
		}
	}
}

/* A NUL-terminated copy of data[0..size) (the parser takes C strings). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

#endif
