/* vm.max_map_count (65530 by default) is never approached by what the
 * shim itself adds: each large block is at most one kernel VMA (a run of
 * blocks with one policy merges into one), a block-interleave allocation
 * is one or two however many blocks it has, and nothing is left behind
 * when blocks are freed. With 20 000 live blocks:
 *   one rule (interleave, 64K-): at most 1 000 VMAs (neighbours merge);
 *   two rules alternating (interleave / bind): at most one per block;
 *   block-interleave:4K, 2 000 allocations of 1 MiB (256 blocks each):
 *     at most 2 per allocation;
 * and after freeing everything, within 64 of the start each time. The
 * numbers are printed; the alternating case is the worst a program can
 * make the shim do (glibc would keep such blocks below its mmap threshold
 * in its heap): 20 000 blocks are 31% of max_map_count. */
#include "hardening.h"

#define BLOCKS 20000

static void *blocks[BLOCKS];

static long case_run(const char *name, size_t a, size_t b, long bound, int count)
{
	long before = test_vma_count();
	for (int i = 0; i < count; i++) {
		blocks[i] = malloc(i % 2 ? b : a);
		CHECK(blocks[i] != NULL, "%s: malloc %d", name, i);
		((char *)blocks[i])[0] = 1;
	}
	long live = test_vma_count();
	for (int i = 0; i < count; i++)
		free(blocks[i]);
	/* Freed blocks may wait in the pools' caches (8 per pool). */
	long after = test_vma_count();
	printf("%-52s VMAs %ld -> %ld with %d live blocks -> %ld after freeing them (bound %ld)\n", name, before, live,
	       count, after, bound);
	fflush(stdout);
	CHECK(live - before <= bound, "%s: %ld VMAs for %d blocks (bound %ld)", name, live - before, count, bound);
	CHECK(after <= before + 64, "%s: %ld VMAs left after freeing everything (%ld before)", name, after, before);
	return live - before;
}

static struct hard_config configs[3];
static char rules[160];

int main(int argc, char **argv)
{
	snprintf(rules, sizeof(rules), "AMLSHIM_RULES=64K-128K=interleave;128K-=bind:%d", shim_test_first_node());
	configs[0] = (struct hard_config){"one rule", {"AMLSHIM_POLICY=interleave", "AMLSHIM_THRESHOLD=64K", NULL}};
	configs[1] = (struct hard_config){"two rules alternating", {rules, NULL}};
	configs[2] = (struct hard_config){"block-interleave:4K", {"AMLSHIM_POLICY=block-interleave:4K", "AMLSHIM_THRESHOLD=64K", NULL}};
	int i = hard_worker(argc, argv, configs, 3);
	if (i >= 0) {
		long max = hard_max_map_count();
		if (i == 0)
			case_run("one rule (interleave), 64K and 128K blocks", (size_t)64 << 10, (size_t)128 << 10, 1000, BLOCKS);
		else if (i == 1)
			case_run("two rules alternating, 64K and 128K blocks", (size_t)64 << 10, (size_t)128 << 10, BLOCKS + 64,
			         BLOCKS);
		else
			case_run("block-interleave:4K, 1 MiB allocations", (size_t)1 << 20, (size_t)1 << 20, 2 * 2000 + 64, 2000);
		printf("max_map_count %ld\n", max);
		return 0;
	}
	hard_run_configs(argv, configs, 3, 120);
	return 0;
}
