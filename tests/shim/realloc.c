/* realloc across every boundary, with
 *   AMLSHIM_RULES=4K-64K=local;64K-1M=interleave;1M-=default
 * One buffer grows from 1 byte to 64 MiB in steps that cross the small
 * path / local / interleave / default boundaries (just below, at, just
 * above each), then shrinks back to 1 byte; its content is checked at
 * every step and its pages' policy matches the rule of its size, up to its
 * last byte (mremap keeps a VMA's policy for the part it grows).
 *
 * The local rule covers sizes below 64K, so the shim serves it from a
 * jemalloc arena of its own (a small-path class); the other two are areas.
 * From the report: crossing into a rule counts one allocation there;
 * leaving an area rule counts one move out of it; growing inside an area
 * rule is done by mremap (realloc_remaps) and never by copying (no move
 * counted); after the buffer is freed no rule has live bytes left. Then
 * big jumps between rules, aligned large blocks (which cannot be remapped
 * in place) and small in-place changes. Expectations are all checked and
 * all failures listed; content is checked at once (a loss ends the test). */
#include <malloc.h>

#include "shim_test.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

enum { RULE_LOCAL, RULE_INTERLEAVE, RULE_DEFAULT, RULES };
static const size_t rule_min[RULES] = {4 * KiB, 64 * KiB, MiB};
static const char *const rule_name[RULES] = {"local", "interleave", "default"};

static const size_t steps[] = {
	1, 2, 15, 16, 17, 24, 100, 1000, 4095,
	4096, 4097, 8191, 8192, 8193, 40000, 65535,
	65536, 65537, 100000, 500000, 1048575,
	1048576, 1048577, 2 * MiB, 2 * MiB + 1, 3 * MiB + 7, 8 * MiB, 16 * MiB - 3, 32 * MiB, 64 * MiB,
};
#define STEPS (sizeof(steps) / sizeof(steps[0]))

static int rule_of(size_t size)
{
	int rule = -1;
	for (int r = 0; r < RULES; r++)
		if (size >= rule_min[r])
			rule = r;
	return rule;
}

static void snapshot(struct shim_rule_stats *out)
{
	for (int r = 0; r < RULES; r++)
		out[r] = shim_test_rule(rule_min[r]);
}

/* The kernel policy expected for the pages of a block in each rule. */
static void check_placement(const char *p, size_t size)
{
	int rule = rule_of(size);
	if (rule < 0)
		return;
	const char *probe[2] = {p, p + size - 1};
	for (int i = 0; i < 2; i++) {
		unsigned long mask = 0;
		int mode = shim_test_policy(probe[i], &mask);
		int ok = rule == RULE_LOCAL        ? mode == MPOL_LOCAL || (mode == MPOL_PREFERRED && mask == 0)
		         : rule == RULE_INTERLEAVE ? mode == MPOL_INTERLEAVE
		                                   : mode == MPOL_DEFAULT;
		EXPECT(ok, "a block of %zu bytes (rule %s) has %s at its %s byte %p", size, rule_name[rule],
		       shim_test_policy_name(mode), i ? "last" : "first", (const void *)probe[i]);
	}
}

static void *step(void *p, size_t old_size, size_t size, uint64_t seed)
{
	void *q = realloc(p, size);
	CHECK(q != NULL, "realloc(%p, %zu -> %zu) failed", p, old_size, size);
	CHECK(((uintptr_t)q & 15) == 0, "realloc to %zu: %p is not 16-byte aligned", size, q);
	CHECK(malloc_usable_size(q) >= size, "realloc to %zu: usable size %zu", size, malloc_usable_size(q));
	size_t kept = old_size < size ? old_size : size;
	long bad = shim_test_verify_range(q, 0, kept, seed);
	CHECK(bad < 0, "realloc %zu -> %zu (%p -> %p): byte %ld lost", old_size, size, p, q, bad);
	if (size > old_size)
		shim_test_fill_range(q, old_size, size, seed);
	check_placement(q, size);
	return q;
}

#define CHECK_DELTA(rule, field, expected)                                                              \
	EXPECT(after[rule].field - before[rule].field == (expected), "%s: rule %s: %s grew by %ld, expected %ld", \
	      phase, rule_name[rule], #field, after[rule].field - before[rule].field, (long)(expected))
#define CHECK_DELTA_MIN(rule, field, least)                                                             \
	EXPECT(after[rule].field - before[rule].field >= (least), "%s: rule %s: %s grew by %ld, expected >= %ld", \
	      phase, rule_name[rule], #field, after[rule].field - before[rule].field, (long)(least))

static void check_policies_are_rules(void)
{
	static const char *const expected[RULES] = {"local", "interleave", "default"};
	for (int r = 0; r < RULES; r++) {
		struct shim_rule_stats s = shim_test_rule(rule_min[r]);
		EXPECT(strcmp(s.policy, expected[r]) == 0, "rule at %zu has policy '%s', expected '%s'", rule_min[r],
		      s.policy, expected[r]);
	}
}

static void grow_and_shrink(void)
{
	struct shim_rule_stats start[RULES], before[RULES], after[RULES];
	const char *phase;
	const uint64_t seed = 0xfeed;
	snapshot(start);
	memcpy(before, start, sizeof(before));

	phase = "growing";
	void *p = malloc(steps[0]);
	CHECK(p != NULL, "malloc(1)");
	shim_test_fill(p, steps[0], seed);
	for (size_t i = 1; i < STEPS; i++)
		p = step(p, steps[i - 1], steps[i], seed);
	snapshot(after);
	/* Each rule entered once; the area rules left (interleave) or grown
	 * (default) by mremap, never copied inside a rule. */
	CHECK_DELTA(RULE_LOCAL, count, 1);
	CHECK_DELTA(RULE_INTERLEAVE, count, 1);
	CHECK_DELTA(RULE_DEFAULT, count, 1);
	CHECK_DELTA(RULE_INTERLEAVE, realloc_moves, 1);
	CHECK_DELTA(RULE_DEFAULT, realloc_moves, 0);
	CHECK_DELTA_MIN(RULE_INTERLEAVE, realloc_remaps, 1);
	CHECK_DELTA_MIN(RULE_DEFAULT, realloc_remaps, 3);
	EXPECT(after[RULE_DEFAULT].live_bytes - start[RULE_DEFAULT].live_bytes == (long)(64 * MiB),
	       "live bytes of the default rule: %ld more, the buffer is 64 MiB",
	       after[RULE_DEFAULT].live_bytes - start[RULE_DEFAULT].live_bytes);
	EXPECT(after[RULE_DEFAULT].peak_bytes >= (long)(64 * MiB), "peak of the default rule %ld",
	       after[RULE_DEFAULT].peak_bytes);

	phase = "shrinking";
	memcpy(before, after, sizeof(before));
	for (size_t i = STEPS - 1; i > 0; i--)
		p = step(p, steps[i], steps[i - 1], seed);
	snapshot(after);
	CHECK_DELTA(RULE_LOCAL, count, 1);
	CHECK_DELTA(RULE_INTERLEAVE, count, 1);
	CHECK_DELTA(RULE_DEFAULT, count, 0);
	CHECK_DELTA(RULE_INTERLEAVE, realloc_moves, 1);
	CHECK_DELTA(RULE_DEFAULT, realloc_moves, 1);
	CHECK_DELTA_MIN(RULE_DEFAULT, realloc_remaps, 1);
	free(p);

	phase = "freed";
	snapshot(after);
	for (int r = 0; r < RULES; r++)
		EXPECT(after[r].live_bytes == start[r].live_bytes, "%s: rule %s has %ld live bytes, %ld at the start", phase,
		       rule_name[r], after[r].live_bytes, start[r].live_bytes);
}

/* Big jumps: small straight to the default rule and back, and every pair
 * of rules in both directions. */
static void jumps(void)
{
	static const size_t sizes[] = {10, 5000, 70000, 3 * MiB, 10, 3 * MiB, 5000, 70000, 10, 70000, 3 * MiB, 5000, 10};
	const uint64_t seed = 0xbeef;
	void *p = malloc(sizes[0]);
	CHECK(p != NULL, "malloc");
	shim_test_fill(p, sizes[0], seed);
	for (size_t i = 1; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		p = step(p, sizes[i - 1], sizes[i], seed);
	free(p);
}

/* Blocks with a large alignment (the program's pointer is not the start of
 * the mapping) keep content and alignment-independent placement. */
static void aligned_blocks(void)
{
	static const size_t alignments[] = {8192, 64 * KiB, 2 * MiB};
	for (size_t a = 0; a < 3; a++) {
		void *p;
		CHECK(posix_memalign(&p, alignments[a], 100 * KiB) == 0, "posix_memalign");
		const uint64_t seed = 0x1111 + a;
		shim_test_fill(p, 100 * KiB, seed);
		check_placement(p, 100 * KiB);
		p = step(p, 100 * KiB, 900 * KiB, seed);
		p = step(p, 900 * KiB, 5 * MiB, seed);
		p = step(p, 5 * MiB, 80 * KiB, seed);
		p = step(p, 80 * KiB, 50, seed);
		free(p);
	}
}

/* In-place cases: same size, a little smaller, a little larger. */
static void small_changes(void)
{
	const uint64_t seed = 0x2222;
	size_t size = 3 * MiB;
	void *p = malloc(size);
	CHECK(p != NULL, "malloc");
	shim_test_fill(p, size, seed);
	static const size_t next[] = {3 * MiB, 3 * MiB - 1, 3 * MiB - 4096, 3 * MiB + 1, 3 * MiB + 4096, 2 * MiB, 6 * MiB};
	for (size_t i = 0; i < sizeof(next) / sizeof(next[0]); i++) {
		p = step(p, size, next[i], seed);
		size = next[i];
	}
	free(p);
}

int main(int argc, char **argv)
{
	(void)argc;
	static const char *const env[] = {"AMLSHIM_RULES=4K-64K=local;64K-1M=interleave;1M-=default", NULL};
	shim_test_start(argv, env);
	check_policies_are_rules();
	grow_and_shrink();
	jumps();
	aligned_blocks();
	small_changes();
	struct shim_rule_stats end[RULES];
	snapshot(end);
	printf("realloc: remaps interleave %ld, default %ld; moves %ld, %ld\n", end[1].realloc_remaps,
	       end[2].realloc_remaps, end[1].realloc_moves, end[2].realloc_moves);
	return shim_test_expect_summary("realloc");
}
