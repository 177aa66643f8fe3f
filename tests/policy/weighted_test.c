/* weighted-interleave placements: every accepted form gives its nodes, its
 * weights (in increasing node order; none for auto) and canonical text,
 * which reads back the same; every bad weight list one exact reason; the
 * kind in AMLSHIM_POLICY and AMLSHIM_RULES, refused by AMLSHIM_SMALL. */
#include "policy_test.h"

struct weighted_case {
	const char *text;
	int nodes[6];              /* ending with -1; {-1}: all nodes */
	unsigned char weights[6];  /* of the nodes in increasing order; 0s: auto */
	const char *canonical;
};

static void check_accepted(const struct weighted_case *c)
{
	struct amlshim_placement p, again;
	char why[512] = "";
	memset(&p, 0xa5, sizeof(p));
	CHECK(amlshim_parse_placement(c->text, &p, why, sizeof(why)) == 0, "'%s' refused: %s", c->text, why);
	unsigned long mask[AMLSHIM_NODE_WORDS] = {0};
	for (int k = 0; c->nodes[k] >= 0; k++)
		mask[c->nodes[k] / (8 * sizeof(unsigned long))] |= 1UL << (c->nodes[k] % (8 * sizeof(unsigned long)));
	int all = c->nodes[0] < 0;
	check_placement(&p, AMLSHIM_PLACE_WEIGHTED_INTERLEAVE, all, all ? NULL : mask, 0, 0, c->canonical);
	unsigned char want[AMLSHIM_MAX_WEIGHTS] = {0};
	memcpy(want, c->weights, sizeof(c->weights));
	CHECK(memcmp(p.weights, want, sizeof(want)) == 0, "'%s': weights %u,%u,%u", c->text, p.weights[0],
	      p.weights[1], p.weights[2]);
	CHECK(amlshim_parse_placement(p.text, &again, why, sizeof(why)) == 0, "'%s' refused: %s", p.text, why);
	CHECK(memcmp(&again, &p, sizeof(p)) == 0, "'%s' reads back differently", p.text);
}

static void check_bad(const char *text, const char *reason)
{
	struct amlshim_placement p;
	char why[512];
	memset(&p, 0xa5, sizeof(p));
	CHECK(amlshim_parse_placement(text, &p, why, sizeof(why)) == -1, "'%s' accepted", text);
	CHECK_STR(why, reason);
	check_default_placement(&p);
}

int main(void)
{
	static const struct weighted_case accepted[] = {
		{"weighted-interleave", {-1}, {0}, "weighted-interleave"},
		{"Weighted-Interleave:AUTO", {-1}, {0}, "weighted-interleave"},
		{"weighted-interleave:auto:all", {-1}, {0}, "weighted-interleave"},
		{"weighted-interleave:auto:0-2", {0, 1, 2, -1}, {0}, "weighted-interleave:0-2"},
		{"weighted-interleave:0,2", {0, 2, -1}, {0}, "weighted-interleave:0,2"},
		{"weighted-interleave:0*3,3*1", {0, 3, -1}, {3, 1}, "weighted-interleave:0*3,3*1"},
		{"weighted-interleave:3*1,0*3", {0, 3, -1}, {3, 1}, "weighted-interleave:0*3,3*1"},
		{"weighted-interleave:2*1,0*1,1*2", {0, 1, 2, -1}, {1, 2, 1}, "weighted-interleave:0*1,1*2,2*1"},
		{"weighted-interleave:1023*255", {1023, -1}, {255}, "weighted-interleave:1023*255"},
		{"weighted-interleave:0*6,3*2+nothp", {0, 3, -1}, {6, 2}, "weighted-interleave:0*6,3*2+nothp"},
	};
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
		check_accepted(&accepted[i]);

	/* Node set names with auto weights stay in the canonical text (they
	 * were once dropped: 'weighted-interleave:auto:cxl,0-1' spelt '...:0,1'). */
	struct amlshim_placement named;
	char why[512] = "";
	CHECK(amlshim_parse_placement("weighted-interleave:auto:cxl,0-1", &named, why, sizeof(why)) == 0, "%s", why);
	CHECK_STR(named.text, "weighted-interleave:cxl,0,1");
	CHECK(named.node_names != 0, "the name 'cxl' was lost");
	CHECK(amlshim_parse_placement("weighted-interleave:Local", &named, why, sizeof(why)) == 0, "%s", why);
	CHECK_STR(named.text, "weighted-interleave:local");

	check_bad("weighted-interleave:0*0,3*1", "weight '0' of node 0 is not from 1 to 255");
	check_bad("weighted-interleave:0*-1", "weight '-1' of node 0 is not a number");
	check_bad("weighted-interleave:0*x", "weight 'x' of node 0 is not a number");
	check_bad("weighted-interleave:0*", "weight '' of node 0 is not a number");
	check_bad("weighted-interleave:0*256", "weight '256' of node 0 is not from 1 to 255");
	check_bad("weighted-interleave:0*99999999999999999999", "weight '99999999999999999999' of node 0 is not from 1 to 255");
	check_bad("weighted-interleave:0*3,0*1", "node 0 is given two weights");
	check_bad("weighted-interleave:0*3,3", "weight '3' is not NODE*WEIGHT");
	check_bad("weighted-interleave:0*3,", "weight '' is not NODE*WEIGHT");
	check_bad("weighted-interleave:0-1*3", "weight '0-1*3' must name one node");
	check_bad("weighted-interleave:all*3", "weight 'all*3' must name one node");
	check_bad("weighted-interleave:0*3,3*1:0-3",
	          "weights name their nodes: no node list after them ('0-3')");
	check_bad("weighted-interleave:0*1,1*1,2*1,3*1,4*1,5*1,6*1,7*1,8*1,9*1,10*1,11*1,12*1,13*1,14*1,15*1,16*1",
	          "weights for more than 16 nodes");
	check_bad("weighted-interleave+share", "modifier '+share' does not apply to weighted-interleave");

	/* POLICY and RULES take it; SMALL refuses it with one line. */
	struct amlshim_policy policy;
	struct test_env env;
	test_parse(&policy, &env, "AMLSHIM_POLICY", "weighted-interleave:0*3,3*1", NULL);
	CHECK_EQ(policy.num_rules, 1);
	CHECK_STR(policy.rules[0].placement.text, "weighted-interleave:0*3,3*1");
	test_parse(&policy, &env, "AMLSHIM_RULES", "0-1M=local;1M-=weighted-interleave:auto:0-3", NULL);
	CHECK_EQ(policy.num_rules, 2);
	CHECK_STR(policy.rules[1].placement.text, "weighted-interleave:0-3");
	test_parse(&policy, &env, "AMLSHIM_SMALL", "weighted-interleave:0*3,3*1", NULL);
	check_message(&env, 0, "AMLSHIM_SMALL", "weighted-interleave:0*3,3*1",
	              "weighted-interleave cannot place small objects (their extents are split and merged, so "
	              "the pattern would not start at each object)",
	              ACCEPTED_SMALL);
	test_parse(&policy, &env, "AMLSHIM_POLICY", "weighted-interleave:0*0", NULL);
	check_message(&env, 0, "AMLSHIM_POLICY", "weighted-interleave:0*0", "weight '0' of node 0 is not from 1 to 255",
	              ACCEPTED_POLICY);
	check_placement_fallback(&policy);
	printf("weighted-interleave: %zu forms accepted, bad weights refused\n", sizeof(accepted) / sizeof(accepted[0]));
	return 0;
}
