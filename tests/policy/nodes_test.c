/* Node lists: every accepted form gives the exact mask (or "all"), every bad
 * one is refused with its reason and leaves an empty mask, and the
 * canonical spelling compresses runs. */
#include "policy_test.h"

static void check_nodes(const char *text, int all, const unsigned long *want)
{
	unsigned long got[AMLSHIM_NODE_WORDS];
	memset(got, 0xa5, sizeof(got));
	int all_nodes = -1;
	CHECK(amlshim_parse_nodes(text, got, &all_nodes) == 0, "'%s' refused", text);
	CHECK(all_nodes == all, "'%s': all_nodes %d", text, all_nodes);
	CHECK(memcmp(got, want, sizeof(got)) == 0, "'%s': wrong mask", text);
}

/* Refused on its own, and inside a placement with exactly this reason. */
static void check_bad_nodes(const char *text, const char *reason)
{
	unsigned long got[AMLSHIM_NODE_WORDS];
	memset(got, 0xa5, sizeof(got));
	int all_nodes = -1;
	CHECK(amlshim_parse_nodes(text, got, &all_nodes) == -1, "'%s' accepted", text);
	CHECK(test_mask_empty(got) && all_nodes == 0, "'%s': output not cleared", text);

	char placement[128], why[256];
	snprintf(placement, sizeof(placement), "interleave:%s", text);
	struct amlshim_placement p;
	CHECK(amlshim_parse_placement(placement, &p, why, sizeof(why)) == -1, "'%s' accepted", placement);
	CHECK_STR(why, reason);
	check_default_placement(&p);
}

/* Canonical spelling of a list, as a placement shows it. */
static void check_spelling(const char *list, const char *want)
{
	char text[1200], why[256] = "";
	snprintf(text, sizeof(text), "interleave:%s", list);
	struct amlshim_placement p;
	CHECK(amlshim_parse_placement(text, &p, why, sizeof(why)) == 0, "'%s': %s", text, why);
	CHECK_STR(p.text, want);
}

int main(void)
{
	unsigned long mask[AMLSHIM_NODE_WORDS];
	unsigned long none[AMLSHIM_NODE_WORDS] = {0};

	test_mask(mask, 0, -1);
	check_nodes("0", 0, mask);
	check_nodes("000", 0, mask);
	test_mask(mask, 2, -1);
	check_nodes("2", 0, mask);
	test_mask(mask, 0, 1, 2, 3, -1);
	check_nodes("0-3", 0, mask);
	check_nodes("0-1,2-3", 0, mask);
	check_nodes("3,2,1,0", 0, mask);
	check_nodes("0-3,1-2,3", 0, mask);
	test_mask(mask, 0, 1, 2, 3, 6, -1);
	check_nodes("0-3,6", 0, mask);
	check_nodes("6,0-3", 0, mask);
	test_mask(mask, 5, -1);
	check_nodes("5-5", 0, mask);
	check_nodes("5,5", 0, mask);
	test_mask(mask, 63, 64, 1023, -1);
	check_nodes("63-64,1023", 0, mask);
	memset(mask, 0xff, sizeof(mask));
	check_nodes("0-1023", 0, mask);
	check_nodes("all", 1, none);
	check_nodes("ALL", 1, none);
	check_nodes("All", 1, none);

	CHECK(amlshim_parse_nodes(NULL, mask, &(int){0}) == -1, "NULL accepted");
	check_bad_nodes("", "empty node list");
	check_bad_nodes("3-1", "node range '3-1' goes down");
	check_bad_nodes("1,,2", "empty entry in node list");
	check_bad_nodes(",1", "empty entry in node list");
	check_bad_nodes("1,", "empty entry in node list");
	check_bad_nodes(",", "empty entry in node list");
	check_bad_nodes("-1", "node range '-1' has no start");
	check_bad_nodes("1-", "node range '1-' has no end");
	check_bad_nodes("-", "node range '-' has no start");
	check_bad_nodes("1-2-3", "'2-3' is not a node number");
	check_bad_nodes("=1", "'=1' is not a node number");
	check_bad_nodes(" 1", "' 1' is not a node number");
	check_bad_nodes("1 ", "'1 ' is not a node number");
	check_bad_nodes("1;2", "'1;2' is not a node number");
	check_bad_nodes("0x1", "'0x1' is not a node number");
	check_bad_nodes("1024", "node '1024' is out of range (the largest is 1023)");
	check_bad_nodes("0-1024", "node '1024' is out of range (the largest is 1023)");
	check_bad_nodes("99999999999999999999999", 
	                "node '99999999999999999999999' is out of range (the largest is 1023)");
	check_bad_nodes("all,1", "'all' must stand alone in a node list");
	check_bad_nodes("1,all", "'all' must stand alone in a node list");
	check_bad_nodes("1,\n", "'\\x0a' is not a node number");

	check_spelling("0", "interleave:0");
	check_spelling("0,1", "interleave:0,1");
	check_spelling("0-1", "interleave:0,1");
	check_spelling("0-2", "interleave:0-2");
	check_spelling("6,3,0-2", "interleave:0-3,6");
	check_spelling("1,3,5", "interleave:1,3,5");
	check_spelling("0,1,3-5,7,8", "interleave:0,1,3-5,7,8");
	check_spelling("1023", "interleave:1023");
	check_spelling("0-1023", "interleave:0-1023");
	check_spelling("all", "interleave");

	/* A list too long for the 96-byte text is cut with "...". */
	char list[1200] = "";
	for (int node = 0; node < 200; node += 2)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%d", node ? "," : "", node);
	char text[1300];
	snprintf(text, sizeof(text), "interleave:%s", list);
	struct amlshim_placement p;
	char why[64];
	CHECK(amlshim_parse_placement(text, &p, why, sizeof(why)) == 0, "long list refused");
	size_t len = strlen(p.text);
	CHECK(len < sizeof(p.text) && len >= sizeof(p.text) - 8, "text '%s'", p.text);
	CHECK_STR(p.text + len - 3, "...");
	CHECK(strncmp(p.text, "interleave:0,2,4,6,8,10,", 24) == 0, "text starts '%s'", p.text);
	CHECK(p.nodes[0] == 0x5555555555555555UL, "mask word 0 %lx", p.nodes[0]);
	return 0;
}
