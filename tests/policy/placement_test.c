/* One placement string: every accepted form gives the exact structure and
 * canonical text, every bad one the exact reason and a "default" result. */
#include "policy_test.h"

static struct amlshim_placement parse_ok(const char *text)
{
	struct amlshim_placement p;
	memset(&p, 0xa5, sizeof(p));
	char why[256] = "";
	CHECK(amlshim_parse_placement(text, &p, why, sizeof(why)) == 0, "'%s' refused: %s", text, why);
	/* The canonical text is itself accepted, and means the same. */
	struct amlshim_placement again;
	CHECK(amlshim_parse_placement(p.text, &again, why, sizeof(why)) == 0, "'%s' refused", p.text);
	CHECK(again.kind == p.kind && again.all_nodes == p.all_nodes &&
	      memcmp(again.nodes, p.nodes, sizeof(p.nodes)) == 0 &&
	      again.block_size == p.block_size && again.device == p.device &&
	      strcmp(again.text, p.text) == 0, "'%s' reads back differently", p.text);
	return p;
}

static void check_bad(const char *text, const char *reason)
{
	struct amlshim_placement p;
	memset(&p, 0xa5, sizeof(p));
	char why[512];
	memset(why, 'x', sizeof(why));
	CHECK(amlshim_parse_placement(text, &p, why, sizeof(why)) == -1, "'%s' accepted", text);
	CHECK_STR(why, reason);
	check_default_placement(&p);
}

/* An accepted placement and the structure it must give. */
struct accepted {
	const char *text;
	enum amlshim_placement_kind kind;
	int nodes[5];      /* the node mask, ending with -1; {-1}: all nodes */
	size_t block_size;
	int device;
	const char *canonical;
};

static void check_accepted(const struct accepted *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct accepted *c = &cases[i];
		unsigned long mask[AMLSHIM_NODE_WORDS] = {0};
		for (int k = 0; c->nodes[k] >= 0; k++)
			mask[c->nodes[k] / (8 * sizeof(unsigned long))] |= 1UL << (c->nodes[k] % (8 * sizeof(unsigned long)));
		int all = c->nodes[0] < 0;
		struct amlshim_placement p = parse_ok(c->text);
		check_placement(&p, c->kind, all, all ? NULL : mask, c->block_size, c->device, c->canonical);
	}
}
#define CHECK_ACCEPTED(cases) check_accepted((cases), sizeof(cases) / sizeof((cases)[0]))

static void check_no_argument_kinds(void)
{
	static const struct { const char *text; enum amlshim_placement_kind kind; } cases[] = {
		{"default", AMLSHIM_PLACE_DEFAULT},   {"DEFAULT", AMLSHIM_PLACE_DEFAULT},
		{"local", AMLSHIM_PLACE_LOCAL},       {"Local", AMLSHIM_PLACE_LOCAL},
		{"bandwidth", AMLSHIM_PLACE_BANDWIDTH}, {"latency", AMLSHIM_PLACE_LATENCY},
		{"capacity", AMLSHIM_PLACE_CAPACITY},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct amlshim_placement p = parse_ok(cases[i].text);
		check_placement(&p, cases[i].kind, 1, NULL, 0, 0, amlshim_placement_kind_name(cases[i].kind));
	}
	check_bad("local:3", "local takes no argument");
	check_bad("local:", "local takes no argument");
	check_bad("default:0", "default takes no argument");
	check_bad("bandwidth:0", "bandwidth takes no argument");
	check_bad("latency:all", "latency takes no argument");
	check_bad("capacity:1M", "capacity takes no argument");
}

static void check_node_kinds(void)
{
	static const struct accepted cases[] = {
		{"bind:0-3", AMLSHIM_PLACE_BIND, {0, 1, 2, 3, -1}, 0, 0, "bind:0-3"},
		{"BIND:1", AMLSHIM_PLACE_BIND, {1, -1}, 0, 0, "bind:1"},
		{"bind:all", AMLSHIM_PLACE_BIND, {-1}, 0, 0, "bind:all"},
		{"preferred:2", AMLSHIM_PLACE_PREFERRED, {2, -1}, 0, 0, "preferred:2"},
		{"preferred:2-2", AMLSHIM_PLACE_PREFERRED, {2, -1}, 0, 0, "preferred:2"},
		{"preferred:1023", AMLSHIM_PLACE_PREFERRED, {1023, -1}, 0, 0, "preferred:1023"},
		{"interleave", AMLSHIM_PLACE_INTERLEAVE, {-1}, 0, 0, "interleave"},
		{"interleave:all", AMLSHIM_PLACE_INTERLEAVE, {-1}, 0, 0, "interleave"},
		{"interleave:0-3", AMLSHIM_PLACE_INTERLEAVE, {0, 1, 2, 3, -1}, 0, 0, "interleave:0-3"},
		{"Interleave:1,0", AMLSHIM_PLACE_INTERLEAVE, {0, 1, -1}, 0, 0, "interleave:0,1"},
	};
	CHECK_ACCEPTED(cases);

	check_bad("bind", "bind needs a node list (bind:NODES)");
	check_bad("bind:", "empty node list");
	check_bad("bind:3-1", "node range '3-1' goes down");
	check_bad("bind:1,,2", "empty entry in node list");
	check_bad("bind:1024", "node '1024' is out of range (the largest is 1023)");
	check_bad("preferred", "preferred needs a node (preferred:NODE)");
	check_bad("preferred:", "empty node list");
	check_bad("preferred:0,1", "preferred takes exactly one node, not '0,1'");
	check_bad("preferred:0-3", "preferred takes exactly one node, not '0-3'");
	check_bad("preferred:all", "preferred takes exactly one node, not 'all'");
	check_bad("preferred:-1", "node range '-1' has no start");
	check_bad("interleave:", "empty node list");
	check_bad("interleave:0-3 ", "'3 ' is not a node number");
	check_bad("interleave:0:1", "'0:1' is not a node number");
}

static void check_block_interleave(void)
{
	static const struct accepted cases[] = {
		{"block-interleave:2M", AMLSHIM_PLACE_BLOCK_INTERLEAVE, {-1}, 2 << 20, 0, "block-interleave:2M"},
		{"block-interleave:4096:all", AMLSHIM_PLACE_BLOCK_INTERLEAVE, {-1}, 4096, 0, "block-interleave:4K"},
		{"block-interleave:2MiB:0,1", AMLSHIM_PLACE_BLOCK_INTERLEAVE, {0, 1, -1}, 2 << 20, 0,
		 "block-interleave:2M:0,1"},
		{"Block-Interleave:8k:1-3", AMLSHIM_PLACE_BLOCK_INTERLEAVE, {1, 2, 3, -1}, 8 << 10, 0,
		 "block-interleave:8K:1-3"},
		{"block-interleave:1572864:0", AMLSHIM_PLACE_BLOCK_INTERLEAVE, {0, -1}, 1536 << 10, 0,
		 "block-interleave:1536K:0"},
		{"block-interleave:1T", AMLSHIM_PLACE_BLOCK_INTERLEAVE, {-1}, (size_t)1 << 40, 0, "block-interleave:1T"},
	};
	CHECK_ACCEPTED(cases);

	check_bad("block-interleave", "block-interleave needs a block size (block-interleave:SIZE[:NODES])");
	check_bad("block-interleave:", "empty size");
	check_bad("block-interleave:3000", "block size 3000 is not a multiple of 4K (the page size)");
	check_bad("block-interleave:6K", "block size 6K is not a multiple of 4K (the page size)");
	check_bad("block-interleave:4097:0", "block size 4097 is not a multiple of 4K (the page size)");
	check_bad("block-interleave:0", "block size must be greater than 0");
	check_bad("block-interleave:0K:0-1", "block size must be greater than 0");
	check_bad("block-interleave:1.5M", "'1.5M' is not a size");
	check_bad("block-interleave:-2M", "'-2M' is not a size");
	check_bad("block-interleave:16E", "'16E' is not a size");
	check_bad("block-interleave:99999999999999999999",
	          "'99999999999999999999' is too large (the largest size is 18446744073709551615)");
	check_bad("block-interleave:2M:", "empty node list");
	check_bad("block-interleave:2M:0:1", "'0:1' is not a node number");
	check_bad("block-interleave::0", "empty size");
	check_bad("block-interleave:2M:3-1", "node range '3-1' goes down");
}

static void check_cuda(void)
{
	static const struct accepted cases[] = {
		{"cuda-mapped", AMLSHIM_PLACE_CUDA_MAPPED, {-1}, 0, 0, "cuda-mapped"},
		{"cuda-mapped:0", AMLSHIM_PLACE_CUDA_MAPPED, {-1}, 0, 0, "cuda-mapped"},
		{"cuda-mapped:3", AMLSHIM_PLACE_CUDA_MAPPED, {-1}, 0, 3, "cuda-mapped:3"},
		{"cuda-managed", AMLSHIM_PLACE_CUDA_MANAGED, {-1}, 0, 0, "cuda-managed"},
		{"CUDA-MANAGED:0007", AMLSHIM_PLACE_CUDA_MANAGED, {-1}, 0, 7, "cuda-managed:7"},
		{"cuda-managed:1023", AMLSHIM_PLACE_CUDA_MANAGED, {-1}, 0, 1023, "cuda-managed:1023"},
	};
	CHECK_ACCEPTED(cases);

	check_bad("cuda-mapped:", "device '' is not a number from 0 to 1023");
	check_bad("cuda-mapped:-1", "device '-1' is not a number from 0 to 1023");
	check_bad("cuda-managed:1024", "device '1024' is not a number from 0 to 1023");
	check_bad("cuda-managed:99999999999999999999", 
	          "device '99999999999999999999' is not a number from 0 to 1023");
	check_bad("cuda-mapped:0x1", "device '0x1' is not a number from 0 to 1023");
	check_bad("cuda-mapped:1:2", "device '1:2' is not a number from 0 to 1023");
	check_bad("cuda-mapped:all", "device 'all' is not a number from 0 to 1023");
}

static void check_names(void)
{
	check_bad("", "empty policy");
	check_bad("bogus", "unknown policy 'bogus'");
	check_bad("interleav:0", "unknown policy 'interleav'");
	check_bad("interleaves", "unknown policy 'interleaves'");
	check_bad(":3", "unknown policy ''");
	check_bad(" local", "unknown policy ' local'");
	check_bad("local ", "unknown policy 'local '");
	check_bad("block_interleave:2M", "unknown policy 'block_interleave'");
	check_bad("loc\nal", "unknown policy 'loc\\x0aal'");

	/* NULL text, NULL or tiny reason buffers. */
	struct amlshim_placement p;
	char why[64];
	CHECK(amlshim_parse_placement(NULL, &p, why, sizeof(why)) == -1, "NULL accepted");
	CHECK_STR(why, "no policy given");
	CHECK(amlshim_parse_placement("bogus", &p, NULL, 0) == -1, "accepted without a buffer");
	char small[8];
	CHECK(amlshim_parse_placement("bogus", &p, small, sizeof(small)) == -1, "accepted");
	CHECK_STR(small, "...");

	for (int kind = 0; kind < AMLSHIM_PLACE_KIND_COUNT; kind++)
		CHECK(strcmp(amlshim_placement_kind_name((enum amlshim_placement_kind)kind), "unknown") != 0,
		      "kind %d has no name", kind);
	CHECK_STR(amlshim_placement_kind_name(AMLSHIM_PLACE_BLOCK_INTERLEAVE), "block-interleave");
	CHECK_STR(amlshim_placement_kind_name(AMLSHIM_PLACE_CUDA_MANAGED), "cuda-managed");
	CHECK_STR(amlshim_placement_kind_name(AMLSHIM_PLACE_KIND_COUNT), "unknown");
	CHECK_STR(amlshim_placement_kind_name((enum amlshim_placement_kind)-1), "unknown");
}

/* "+share", "+thp", "+nothp", "+huge:SIZE" after a placement. */
static void check_modifiers(void)
{
	struct amlshim_placement p = parse_ok("Bandwidth+Share");
	CHECK(p.kind == AMLSHIM_PLACE_BANDWIDTH && p.share == AMLSHIM_SHARE_STATIC, "bandwidth+share");
	CHECK_STR(p.text, "bandwidth+share");
	p = parse_ok("bind:2+huge:2M+share:dynamic");
	CHECK(p.share == AMLSHIM_SHARE_DYNAMIC && p.pages == AMLSHIM_PAGES_HUGETLB && p.huge_size == (2u << 20),
	      "bind:2+huge:2M+share:dynamic");
	CHECK_STR(p.text, "bind:2+share:dynamic+huge:2M");
	p = parse_ok("interleave:0-3+thp");
	CHECK(p.pages == AMLSHIM_PAGES_THP && p.share == AMLSHIM_SHARE_NONE, "interleave+thp");
	CHECK_STR(p.text, "interleave:0-3+thp");
	CHECK_STR(parse_ok("default+nothp").text, "default+nothp");
	CHECK_STR(parse_ok("latency+share:static").text, "latency+share");
	check_bad("interleave+", "empty modifier after '+'");
	check_bad("interleave+thp+", "empty modifier after '+'");
	check_bad("+thp", "unknown policy ''");
	check_bad("interleave+fast", "unknown modifier 'fast' (share, share:dynamic, thp, nothp, huge:SIZE)");
	check_bad("interleave+share", "modifier '+share' does not apply to interleave");
	check_bad("cuda-mapped+thp", "modifier '+thp' does not apply to cuda-mapped");
	check_bad("block-interleave:2M:0,1+thp", "modifier '+thp' does not apply to block-interleave (it chooses its "
	          "page size: blocks of whole huge pages, e.g. 2M, get them)");
	check_bad("weighted-interleave:0*3,1*1+thp", "modifier '+thp' does not apply to weighted-interleave (it "
	          "chooses its page size: blocks of whole huge pages, e.g. 2M, get them)");
	CHECK_STR(parse_ok("block-interleave:64K:0,1+nothp").text, "block-interleave:64K:0,1+nothp");
	check_bad("bandwidth+share+share", "'+share' given twice");
	check_bad("bandwidth+share:often", "share mode 'often' is not static or dynamic");
	check_bad("interleave+thp+nothp", "one page size modifier at most (thp, nothp or huge:SIZE)");
	check_bad("interleave+thp:2M", "'+thp' takes no argument");
	check_bad("bind:0+huge", "huge needs a page size (+huge:2M)");
	check_bad("bind:0+huge:3M", "huge page size '3M' is not a power of two of at least 64K");
	check_bad("bind:0+huge:4K", "huge page size '4K' is not a power of two of at least 64K");
}

int main(void)
{
	check_no_argument_kinds();
	check_node_kinds();
	check_block_interleave();
	check_cuda();
	check_names();
	check_modifiers();
	return 0;
}
