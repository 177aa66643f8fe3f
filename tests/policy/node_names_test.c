/* Node set names in node lists ("interleave:socket", "bind:hbm@socket",
 * "interleave:local,3"): the bits they set, their canonical spelling (names
 * first, then numbers; it reads back the same), where they are accepted,
 * and one clear reason for each bad name. */
#include "policy_test.h"

#define BIT(name) (1U << (name))
#define KIND(kind) BIT(AMLSHIM_NAME_KIND + (kind))
#define KIND_SOCKET(kind) BIT(AMLSHIM_NAME_KIND_SOCKET + (kind))

/* Accepted with these names, these numbers (ending -1) and this spelling. */
static void check_names(const char *text, unsigned names, const char *canonical, ...)
{
	struct amlshim_placement p, again;
	char why[256] = "";
	memset(&p, 0xa5, sizeof(p));
	CHECK(amlshim_parse_placement(text, &p, why, sizeof(why)) == 0, "'%s' refused: %s", text, why);
	CHECK(p.node_names == names, "'%s': names 0x%x, not 0x%x", text, p.node_names, names);
	CHECK(!p.all_nodes, "'%s': all nodes", text);
	unsigned long want[AMLSHIM_NODE_WORDS];
	memset(want, 0, sizeof(want));
	va_list ap;
	va_start(ap, canonical);
	for (int node = va_arg(ap, int); node >= 0; node = va_arg(ap, int))
		want[node / (8 * sizeof(unsigned long))] |= 1UL << (node % (8 * sizeof(unsigned long)));
	va_end(ap);
	CHECK(memcmp(p.nodes, want, sizeof(want)) == 0, "'%s': wrong numbers", text);
	CHECK_STR(p.text, canonical);
	CHECK(amlshim_parse_placement(p.text, &again, why, sizeof(why)) == 0, "'%s' refused: %s", p.text, why);
	CHECK(again.node_names == p.node_names && memcmp(again.nodes, p.nodes, sizeof(p.nodes)) == 0 &&
	      strcmp(again.text, p.text) == 0, "'%s' reads back as '%s'", p.text, again.text);
}

static void check_bad(const char *text, const char *reason)
{
	struct amlshim_placement p;
	char why[512];
	CHECK(amlshim_parse_placement(text, &p, why, sizeof(why)) == -1, "'%s' accepted", text);
	CHECK_STR(why, reason);
	CHECK(p.kind == AMLSHIM_PLACE_DEFAULT && p.node_names == 0, "'%s': not the default", text);
}

int main(void)
{
	check_names("interleave:socket", BIT(AMLSHIM_NAME_SOCKET), "interleave:socket", -1);
	check_names("interleave:local", BIT(AMLSHIM_NAME_LOCAL), "interleave:local", -1);
	check_names("interleave:local,3", BIT(AMLSHIM_NAME_LOCAL), "interleave:local,3", 3, -1);
	check_names("interleave:3,LOCAL", BIT(AMLSHIM_NAME_LOCAL), "interleave:local,3", 3, -1);
	check_names("Interleave:Socket,Local,0-2", BIT(AMLSHIM_NAME_LOCAL) | BIT(AMLSHIM_NAME_SOCKET),
	            "interleave:local,socket,0-2", 0, 1, 2, -1);
	check_names("interleave:dram", KIND(AMLSHIM_KIND_DRAM), "interleave:dram", -1);
	check_names("interleave:gpu,hbm,cxl", KIND(AMLSHIM_KIND_GPU) | KIND(AMLSHIM_KIND_HBM) | KIND(AMLSHIM_KIND_CXL),
	            "interleave:hbm,cxl,gpu", -1);
	check_names("interleave:dram@socket", KIND_SOCKET(AMLSHIM_KIND_DRAM), "interleave:dram@socket", -1);
	check_names("bind:HBM@Socket", KIND_SOCKET(AMLSHIM_KIND_HBM), "bind:hbm@socket", -1);
	check_names("bind:cxl@socket,gpu@socket", KIND_SOCKET(AMLSHIM_KIND_CXL) | KIND_SOCKET(AMLSHIM_KIND_GPU),
	            "bind:cxl@socket,gpu@socket", -1);
	check_names("bind:local,local", BIT(AMLSHIM_NAME_LOCAL), "bind:local", -1);
	check_names("preferred:hbm@socket", KIND_SOCKET(AMLSHIM_KIND_HBM), "preferred:hbm@socket", -1);
	check_names("block-interleave:2M:socket,1", BIT(AMLSHIM_NAME_SOCKET), "block-interleave:2M:socket,1", 1, -1);
	check_names("interleave:socket+thp", BIT(AMLSHIM_NAME_SOCKET), "interleave:socket+thp", -1);

	/* "local" alone is still the placement kind, with no nodes. */
	struct amlshim_placement p;
	char why[256];
	CHECK(amlshim_parse_placement("local", &p, why, sizeof(why)) == 0 && p.kind == AMLSHIM_PLACE_LOCAL &&
	      p.node_names == 0 && strcmp(p.text, "local") == 0, "'local' is not the local placement");
	CHECK(amlshim_parse_placement("interleave", &p, why, sizeof(why)) == 0 && p.all_nodes && !p.node_names,
	      "'interleave': not all nodes");

	check_bad("interleave:foo", "'foo' is not a node number or node set name");
	check_bad("interleave:socket@dram",
	          "'socket@dram': a kind goes before @socket (dram@socket, hbm@socket, cxl@socket, gpu@socket)");
	check_bad("bind:local@socket",
	          "'local@socket': a kind goes before @socket (dram@socket, hbm@socket, cxl@socket, gpu@socket)");
	check_bad("bind:@socket",
	          "'@socket': a kind goes before @socket (dram@socket, hbm@socket, cxl@socket, gpu@socket)");
	check_bad("bind:hbm@", "'hbm@': '@' must be followed by socket (KIND@socket)");
	check_bad("interleave:local-3", "node range 'local-3' holds a name: ranges are of node numbers");
	check_bad("interleave:1-local", "node range '1-local' holds a name: ranges are of node numbers");
	check_bad("interleave:1-b", "node range '1-b' holds a name: ranges are of node numbers");
	check_bad("interleave:allx", "'allx' is not a node number or node set name");
	check_bad("interleave:all,local", "'all' must stand alone in a node list");
	check_bad("interleave:local,", "empty entry in node list");
	check_bad("preferred:local,0", "preferred takes exactly one node, not 'local,0'");
	check_bad("preferred:hbm,cxl", "preferred takes exactly one node, not 'hbm,cxl'");
	check_bad("local:socket", "local takes no argument");

	/* The numbers-only parser names no node sets. */
	unsigned long mask[AMLSHIM_NODE_WORDS];
	int all;
	CHECK(amlshim_parse_nodes("socket", mask, &all) == -1, "amlshim_parse_nodes took a name");

	for (unsigned name = 0; name < AMLSHIM_NAME_COUNT; name++)
		CHECK(strcmp(amlshim_node_name(name), "unknown") != 0, "name %u has no spelling", name);
	CHECK_STR(amlshim_node_name(AMLSHIM_NAME_COUNT), "unknown");
	CHECK_STR(amlshim_node_kind_name(AMLSHIM_KIND_GPU), "gpu");
	printf("node set names: parsed, spelled, refused: ok\n");
	return 0;
}
