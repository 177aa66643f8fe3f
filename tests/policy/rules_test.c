/* AMLSHIM_RULES: accepted tables come out sorted with exact bounds and
 * placements, every malformed table gives exactly one line with the reason
 * and no rules at all, and rule_for honours [min, max) on every boundary. */
#include "policy_test.h"

#define K ((size_t)1 << 10)
#define M ((size_t)1 << 20)
#define G ((size_t)1 << 30)

static void parse_rules(struct amlshim_policy *p, struct test_env *env, const char *rules)
{
	test_parse(p, env, "AMLSHIM_RULES", rules, NULL);
	CHECK(env->num_lines == 0, "'%s' refused: %s", rules, env->lines[0]);
	CHECK_EQ(p->rules_override, 0);
	check_switch_defaults(p);
}

static void check_rule(const struct amlshim_policy *p, int i, size_t min, size_t max,
                       enum amlshim_placement_kind kind, const char *text)
{
	CHECK(i < p->num_rules, "no rule %d", i);
	const struct amlshim_rule *r = &p->rules[i];
	CHECK(r->min == min, "rule %d: min %zu, expected %zu", i, r->min, min);
	CHECK(r->max == max, "rule %d: max %zu, expected %zu", i, r->max, max);
	CHECK_EQ(r->placement.kind, kind);
	CHECK_STR(r->placement.text, text);
}

static void check_bad_rules(const char *rules, const char *reason)
{
	struct amlshim_policy p;
	struct test_env env;
	test_parse(&p, &env, "AMLSHIM_RULES", rules, NULL);
	CHECK(env.num_lines == 1, "'%s': %d lines", rules, env.num_lines);
	CHECK_EQ(p.errors, 1);
	check_message(&env, 0, "AMLSHIM_RULES", rules, reason, ACCEPTED_RULES);
	check_placement_fallback(&p);
	check_switch_defaults(&p);
}

/* The reference: any rule with min <= size < max (max SIZE_MAX: no bound). */
static const struct amlshim_rule *reference_rule_for(const struct amlshim_policy *p, size_t size)
{
	for (int i = 0; i < p->num_rules; i++)
		if (p->rules[i].min <= size && (size < p->rules[i].max || p->rules[i].max == SIZE_MAX))
			return &p->rules[i];
	return NULL;
}

/* rule_for agrees with the reference just around every bound. */
static void check_lookup_everywhere(const struct amlshim_policy *p)
{
	static const size_t fixed[] = {0, 1, 4095, 4096, SIZE_MAX - 1, SIZE_MAX};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		CHECK(amlshim_policy_rule_for(p, fixed[i]) == reference_rule_for(p, fixed[i]), "size %zu",
		      fixed[i]);
	for (int i = 0; i < p->num_rules; i++) {
		size_t bounds[2] = {p->rules[i].min, p->rules[i].max};
		for (int b = 0; b < 2; b++)
			for (size_t size = bounds[b] - 2; size != bounds[b] + 3; size++)
				CHECK(amlshim_policy_rule_for(p, size) == reference_rule_for(p, size),
				      "size %zu near a bound of rule %d", size, i);
	}
}

static void check_accepted_tables(void)
{
	struct amlshim_policy p;
	struct test_env env;
	unsigned long mask[AMLSHIM_NODE_WORDS];

	parse_rules(&p, &env, "0-64K=local;64K-1G=interleave;1G-=block-interleave:2M");
	CHECK_EQ(p.num_rules, 3);
	check_rule(&p, 0, 0, 64 * K, AMLSHIM_PLACE_LOCAL, "local");
	check_rule(&p, 1, 64 * K, G, AMLSHIM_PLACE_INTERLEAVE, "interleave");
	check_rule(&p, 2, G, SIZE_MAX, AMLSHIM_PLACE_BLOCK_INTERLEAVE, "block-interleave:2M");
	CHECK_EQ(p.rules[2].placement.block_size, 2 * M);
	CHECK_EQ(p.rules[2].placement.all_nodes, 1);
	CHECK_EQ(p.threshold, AMLSHIM_DEFAULT_THRESHOLD);
	check_default_placement(&p.small);
	check_lookup_everywhere(&p);

	/* Written out of order: sorted by min. */
	parse_rules(&p, &env, "1G-=capacity;2M-1G=bind:0-1;0-64K=preferred:1");
	CHECK_EQ(p.num_rules, 3);
	check_rule(&p, 0, 0, 64 * K, AMLSHIM_PLACE_PREFERRED, "preferred:1");
	check_rule(&p, 1, 2 * M, G, AMLSHIM_PLACE_BIND, "bind:0,1");
	check_rule(&p, 2, G, SIZE_MAX, AMLSHIM_PLACE_CAPACITY, "capacity");
	test_mask(mask, 0, 1, -1);
	CHECK_MASK(p.rules[1].placement.nodes, mask);
	test_mask(mask, 1, -1);
	CHECK_MASK(p.rules[0].placement.nodes, mask);
	check_lookup_everywhere(&p);

	/* -MAX starts at 0, MIN- is open, "-" alone covers everything. */
	parse_rules(&p, &env, "-1M=local");
	CHECK_EQ(p.num_rules, 1);
	check_rule(&p, 0, 0, M, AMLSHIM_PLACE_LOCAL, "local");
	parse_rules(&p, &env, "4K-=cuda-managed:1");
	check_rule(&p, 0, 4 * K, SIZE_MAX, AMLSHIM_PLACE_CUDA_MANAGED, "cuda-managed:1");
	CHECK_EQ(p.rules[0].placement.device, 1);
	parse_rules(&p, &env, "-=bandwidth");
	check_rule(&p, 0, 0, SIZE_MAX, AMLSHIM_PLACE_BANDWIDTH, "bandwidth");

	/* One trailing ';' is fine; default rules are kept (they are explicit). */
	parse_rules(&p, &env, "0-4K=default;4K-=interleave:0,1;");
	CHECK_EQ(p.num_rules, 2);
	check_rule(&p, 0, 0, 4 * K, AMLSHIM_PLACE_DEFAULT, "default");
	check_rule(&p, 1, 4 * K, SIZE_MAX, AMLSHIM_PLACE_INTERLEAVE, "interleave:0,1");

	/* Gaps are allowed; adjacent rules share a bound. */
	parse_rules(&p, &env, "4K-64K=local;64K-1M=interleave;2M-=block-interleave:2M:0-3");
	CHECK_EQ(p.num_rules, 3);
	check_rule(&p, 2, 2 * M, SIZE_MAX, AMLSHIM_PLACE_BLOCK_INTERLEAVE, "block-interleave:2M:0-3");
	const struct amlshim_rule *r = p.rules;
	CHECK(amlshim_policy_rule_for(&p, 0) == NULL, "0");
	CHECK(amlshim_policy_rule_for(&p, 4095) == NULL, "4095");
	CHECK(amlshim_policy_rule_for(&p, 4096) == &r[0], "4096: min is inclusive");
	CHECK(amlshim_policy_rule_for(&p, 64 * K - 1) == &r[0], "64K-1");
	CHECK(amlshim_policy_rule_for(&p, 64 * K) == &r[1], "64K: max is exclusive");
	CHECK(amlshim_policy_rule_for(&p, M - 1) == &r[1], "1M-1");
	CHECK(amlshim_policy_rule_for(&p, M) == NULL, "1M: in the gap");
	CHECK(amlshim_policy_rule_for(&p, 2 * M - 1) == NULL, "2M-1: in the gap");
	CHECK(amlshim_policy_rule_for(&p, 2 * M) == &r[2], "2M");
	CHECK(amlshim_policy_rule_for(&p, SIZE_MAX - 1) == &r[2], "open end");
	CHECK(amlshim_policy_rule_for(&p, SIZE_MAX) == &r[2], "open end covers SIZE_MAX");
	check_lookup_everywhere(&p);

	/* A closed last rule: nothing at or above its max. */
	parse_rules(&p, &env, "0-1M=local");
	CHECK(amlshim_policy_rule_for(&p, 0) == &p.rules[0], "0");
	CHECK(amlshim_policy_rule_for(&p, M - 1) == &p.rules[0], "1M-1");
	CHECK(amlshim_policy_rule_for(&p, M) == NULL, "1M");
	CHECK(amlshim_policy_rule_for(&p, SIZE_MAX) == NULL, "SIZE_MAX");

	/* The largest MAX spelled out is the open end. */
	parse_rules(&p, &env, "1-18446744073709551615=latency");
	check_rule(&p, 0, 1, SIZE_MAX, AMLSHIM_PLACE_LATENCY, "latency");
	CHECK(amlshim_policy_rule_for(&p, SIZE_MAX) == &p.rules[0], "SIZE_MAX");
	CHECK(amlshim_policy_rule_for(&p, 0) == NULL, "0");

	/* Sixteen rules is the limit, and is accepted. */
	char rules[1024] = "";
	for (int i = 15; i >= 0; i--)
		snprintf(rules + strlen(rules), sizeof(rules) - strlen(rules), "%dK-%dK=%s;", 4 * i,
		         4 * (i + 1), i % 2 ? "local" : "interleave");
	parse_rules(&p, &env, rules);
	CHECK_EQ(p.num_rules, AMLSHIM_MAX_RULES);
	for (int i = 0; i < AMLSHIM_MAX_RULES; i++)
		check_rule(&p, i, 4 * K * i, 4 * K * (i + 1),
		           i % 2 ? AMLSHIM_PLACE_LOCAL : AMLSHIM_PLACE_INTERLEAVE, i % 2 ? "local" : "interleave");
	check_lookup_everywhere(&p);

	/* No policy at all: rule_for finds nothing. */
	test_parse(&p, &env, NULL);
	CHECK(amlshim_policy_rule_for(&p, 0) == NULL && amlshim_policy_rule_for(&p, SIZE_MAX) == NULL,
	      "empty table");
}

static void check_rejected_tables(void)
{
	check_bad_rules(";", "rule 1 is empty");
	check_bad_rules(";;", "rule 1 is empty");
	check_bad_rules(";0-=local", "rule 1 is empty");
	check_bad_rules("0-64K=local;;64K-=interleave", "rule 2 is empty");
	check_bad_rules("0-64K=local;;", "rule 2 is empty");
	check_bad_rules("0-64K", "rule 1 '0-64K': no '=' (write MIN-MAX=PLACEMENT)");
	check_bad_rules("0-1M=local;interleave",
	                "rule 2 'interleave': no '=' (write MIN-MAX=PLACEMENT)");
	check_bad_rules("64K=local", "rule 1 '64K=local': no '-' in the size range (write MIN-MAX, MIN- or -MAX)");
	check_bad_rules("=local", "rule 1 '=local': no '-' in the size range (write MIN-MAX, MIN- or -MAX)");
	check_bad_rules("1M-1M=local", "rule 1 '1M-1M=local': MIN must be less than MAX");
	check_bad_rules("2M-1M=local", "rule 1 '2M-1M=local': MIN must be less than MAX");
	check_bad_rules("-0=local", "rule 1 '-0=local': MIN must be less than MAX");
	check_bad_rules("18446744073709551615-=local",
	                "rule 1 '18446744073709551615-=local': MIN must be less than MAX");
	check_bad_rules("1.5M-=local", "rule 1 '1.5M-=local': '1.5M' is not a size");
	check_bad_rules("0-1M-2M=local", "rule 1 '0-1M-2M=local': '1M-2M' is not a size");
	check_bad_rules("0-16E=local", "rule 1 '0-16E=local': '16E' is not a size");
	check_bad_rules("0-18446744073709551616=local",
	                "rule 1 '0-18446744073709551616=local': '18446744073709551616' is too large "
	                "(the largest size is 18446744073709551615)");
	check_bad_rules(" 0-1M=local", "rule 1 ' 0-1M=local': ' 0' is not a size");
	check_bad_rules("0-1M=local; 1M-=interleave", "rule 2 ' 1M-=interleave': ' 1M' is not a size");
	check_bad_rules("0-1M=bogus", "rule 1 '0-1M=bogus': unknown policy 'bogus'");
	check_bad_rules("0-1M=", "rule 1 '0-1M=': empty policy");
	check_bad_rules("0-1M=local=x", "rule 1 '0-1M=local=x': unknown policy 'local=x'");
	check_bad_rules("0-1M=local:3", "rule 1 '0-1M=local:3': local takes no argument");
	check_bad_rules("1M-=block-interleave:3000",
	                "rule 1 '1M-=block-interleave:3000': block size 3000 is not a multiple of 4K "
	                "(the page size)");
	check_bad_rules("0-1M=bind:3-1", "rule 1 '0-1M=bind:3-1': node range '3-1' goes down");
	check_bad_rules("0-2M=local;1M-=interleave",
	                "rule 1 '0-2M=local' overlaps rule 2 '1M-=interleave'");
	check_bad_rules("1M-=interleave;0-2M=local",
	                "rule 2 '0-2M=local' overlaps rule 1 '1M-=interleave'");
	check_bad_rules("0-1M=local;0-1M=bind:0", "rule 1 '0-1M=local' overlaps rule 2 '0-1M=bind:0'");
	check_bad_rules("0-=local;1G-2G=capacity", "rule 1 '0-=local' overlaps rule 2 '1G-2G=capacity'");
	check_bad_rules("4K-8K=local;0-4097=capacity",
	                "rule 2 '0-4097=capacity' overlaps rule 1 '4K-8K=local'");

	/* Seventeen rules: too many, however valid each is. */
	char rules[1024] = "";
	for (int i = 0; i < AMLSHIM_MAX_RULES + 1; i++)
		snprintf(rules + strlen(rules), sizeof(rules) - strlen(rules), "%s%d-%d=local", i ? ";" : "",
		         i, i + 1);
	struct amlshim_policy p;
	struct test_env env;
	test_parse(&p, &env, "AMLSHIM_RULES", rules, NULL);
	CHECK_EQ(env.num_lines, 1);
	CHECK(strstr(env.lines[0], " is not valid: more than 16 rules; accepted: MIN-MAX=PLACEMENT"),
	      "'%s'", env.lines[0]);
	check_placement_fallback(&p);
}

int main(void)
{
	check_accepted_tables();
	check_rejected_tables();
	return 0;
}
