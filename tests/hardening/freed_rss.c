/* Large blocks a program frees do not stay in its RSS while it fills
 * others: pages given back with MADV_FREE still count in VmRSS and VmHWM
 * until the kernel wants them, so a program that frees one big buffer and
 * then fills another would peak at both (glibc unmaps blocks this large
 * at free). Each case touches what it allocates; VmRSS (LazyFree
 * included) may then exceed what the process held before (RSS less
 * LazyFree) by the live bytes and 8 MiB at most:
 *   a 64 MiB block freed, then a 40 MiB one filled (no reuse: 64 MiB is
 *     more than a quarter larger);
 *   a 2 MiB piece and a 64 MiB block, the block freed, then the piece
 *     grown by realloc to 40 MiB;
 *   a 2 MiB piece grown to 16 MiB past a live neighbour (it leaves its
 *     region: a mapping no piece request can reuse), both freed.
 * Configurations: AMLSHIM_POLICY=interleave; a rule binding 1M- to a node. */
#include "hardening.h"

#define MiB ((size_t)1 << 20)
#define SLACK_KIB (8L << 10)

static const char *config;

static void check_rss(const char *what, long before, size_t live)
{
	long after = hard_rss_kib(), bound = before + (long)(live >> 10) + SLACK_KIB;
	printf("%s, %s: held %ld KiB before, VmRSS %ld KiB after (bound %ld)\n", config, what, before, after, bound);
	fflush(stdout);
	CHECK(after <= bound, "%s, %s: VmRSS %ld KiB, more than %ld KiB", config, what, after, bound);
}

static char *filled(char *p, size_t size)
{
	CHECK(p != NULL, "%s: allocating %zu bytes", config, size);
	memset(p, 1, size);
	return p;
}

static int worker(void)
{
	free(malloc(100));
	long before = hard_held_kib();
	free(filled(malloc(64 * MiB), 64 * MiB));
	char *next = filled(malloc(40 * MiB), 40 * MiB);
	check_rss("a 64 MiB block freed, a 40 MiB one filled", before, 40 * MiB);
	free(next);

	before = hard_held_kib();
	char *piece = filled(malloc(2 * MiB), 2 * MiB), *big = filled(malloc(64 * MiB), 64 * MiB);
	free(big);
	char *grown = filled(realloc(piece, 40 * MiB), 40 * MiB);
	check_rss("a 64 MiB block freed, a piece grown to 40 MiB", before, 40 * MiB);
	free(grown);

	before = hard_held_kib();
	char *low = filled(malloc(2 * MiB), 2 * MiB), *high = filled(malloc(2 * MiB), 2 * MiB);
	grown = filled(realloc(low, 16 * MiB), 16 * MiB);
	free(grown);
	free(high);
	check_rss("a piece grown to 16 MiB past a live neighbour, freed", before, 0);
	return 0;
}

static struct hard_config configs[2];
static char rules[160];

int main(int argc, char **argv)
{
	snprintf(rules, sizeof(rules), "AMLSHIM_RULES=1M-=bind:%d", shim_test_first_node());
	configs[0] = (struct hard_config){"interleave", {"AMLSHIM_POLICY=interleave", NULL}};
	configs[1] = (struct hard_config){"bind rule", {rules, NULL}};
	int i = hard_worker(argc, argv, configs, 2);
	if (i >= 0) {
		config = configs[i].name;
		return worker();
	}
	hard_run_configs(argv, configs, 2, 60);
	return 0;
}
