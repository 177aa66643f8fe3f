/* realloc keeps every byte malloc_usable_size promised (defect D13 of
 * tests/hardening/NOTES.md): programs grow strings and vectors into the
 * slack that malloc_usable_size reports, as glibc and jemalloc allow.
 *
 * For every allocator of the malloc family, sizes on each route (small
 * path, small-path class, area rule, the implicit kernel-default pool) and
 * fresh or reused blocks (a freed larger block taken from the pool, whose
 * usable size exceeds the request): fill all usable bytes, then realloc to
 * grow (one byte more, twice plus one) and to shrink (one byte less, half,
 * below the threshold, one byte), and check that the first
 * min(usable, new size) bytes survived. Run under several policies, each in
 * a copy of this program, strict and not. */
#include <malloc.h>

#include "shim_test.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

enum alloc_kind { MALLOC, CALLOC, REALLOC_NULL, ALIGNED_ALLOC, POSIX_MEMALIGN, MEMALIGN, VALLOC, PVALLOC, KINDS };
static const char *const kind_name[KINDS] = {"malloc", "calloc", "realloc(NULL)", "aligned_alloc",
                                             "posix_memalign", "memalign", "valloc", "pvalloc"};

static void *allocate(enum alloc_kind kind, size_t size)
{
	void *p = NULL;
	switch (kind) {
	case MALLOC: return malloc(size);
	case CALLOC: return calloc(1, size);
	case REALLOC_NULL: return realloc(NULL, size);
	case ALIGNED_ALLOC: return aligned_alloc(64 * KiB, (size + 64 * KiB - 1) & ~(64 * KiB - 1));
	case POSIX_MEMALIGN: return posix_memalign(&p, 4096, size) == 0 ? p : NULL;
	case MEMALIGN: return memalign(8, size);
	case VALLOC: return valloc(size);
	case PVALLOC: return pvalloc(size);
	default: return NULL;
	}
}

static const char *mode = "";

/* One allocation, its usable bytes filled, reallocated to target. */
static void check_one(enum alloc_kind kind, size_t size, size_t target_of_usable(size_t), const char *what,
                      int reused)
{
	const uint64_t seed = 0x5eed0000u + (uint64_t)kind * 131 + size;
	if (reused) {
		/* A larger block freed into the pool: the next allocation of
		 * this size may take it, with more usable bytes than asked. */
		void *big = allocate(kind, size);
		CHECK(big != NULL, "%s: %s(%zu) failed", mode, kind_name[kind], size);
		big = realloc(big, 2 * size + 1);
		CHECK(big != NULL, "%s: realloc to %zu failed", mode, 2 * size + 1);
		big = realloc(big, 1);
		free(big);
	}
	void *p = allocate(kind, size);
	CHECK(p != NULL, "%s: %s(%zu) failed", mode, kind_name[kind], size);
	size_t usable = malloc_usable_size(p);
	CHECK(usable >= size, "%s: %s(%zu): usable size %zu", mode, kind_name[kind], size, usable);
	shim_test_fill_range(p, 0, usable, seed);
	size_t target = target_of_usable(usable);
	void *q = realloc(p, target);
	CHECK(q != NULL, "%s: realloc(%s(%zu), %zu) failed", mode, kind_name[kind], size, target);
	size_t kept = usable < target ? usable : target;
	long bad = shim_test_verify_range(q, 0, kept, seed);
	EXPECT(bad < 0, "%s%s %s(%zu), usable %zu, realloc %s to %zu: byte %ld of %zu lost", reused ? "reused " : "",
	       mode, kind_name[kind], size, usable, what, target, bad, kept);
	free(q);
}

static size_t grow_one(size_t usable) { return usable + 1; }
static size_t grow_double(size_t usable) { return 2 * usable + 1; }
static size_t shrink_one(size_t usable) { return usable - 1; }
static size_t shrink_half(size_t usable) { return usable / 2 + 1; }
static size_t shrink_small(size_t usable) { return usable > 40 * KiB ? 40 * KiB : usable / 2 + 1; }
static size_t shrink_byte(size_t usable) { (void)usable; return 1; }

static const struct {
	size_t (*target)(size_t);
	const char *what;
} changes[] = {
	{grow_one, "usable+1"}, {grow_double, "2*usable+1"}, {shrink_one, "usable-1"},
	{shrink_half, "usable/2+1"}, {shrink_small, "below 64K"}, {shrink_byte, "1"},
};

static void run_matrix(void)
{
	static const size_t sizes[] = {100, 5000, 40 * KiB, 64 * KiB, 64 * KiB + 1, 131073, 256 * KiB, 300000,
	                               MiB - 1, MiB, MiB + 1, 3 * MiB + 5};
	for (int kind = 0; kind < KINDS; kind++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			for (size_t c = 0; c < sizeof(changes) / sizeof(changes[0]); c++)
				for (int reused = 0; reused < 2; reused++)
					check_one((enum alloc_kind)kind, sizes[s], changes[c].target, changes[c].what, reused);
}

/* The defect's own reproducer, step by step. */
static void reproducer(void)
{
	void *p = aligned_alloc(65536, 65536);
	CHECK(p != NULL, "aligned_alloc");
	p = realloc(p, 131073);
	p = realloc(p, 1);
	free(p);
	p = aligned_alloc(65536, 65536);
	CHECK(p != NULL, "aligned_alloc");
	size_t usable = malloc_usable_size(p);
	memset(p, 0xab, usable);
	unsigned char *q = realloc(p, 2 * usable + 1);
	CHECK(q != NULL, "realloc");
	size_t kept = 0;
	while (kept < usable && q[kept] == 0xab)
		kept++;
	EXPECT(kept == usable, "%s: reproducer: %zu of %zu usable bytes survived realloc", mode, kept, usable);
	free(q);
}

static const struct shim_test_mode modes[] = {
	{"interleave", {"AMLSHIM_POLICY=interleave", "AMLSHIM_THRESHOLD=64K", NULL}},
	{"interleave-strict", {"AMLSHIM_POLICY=interleave", "AMLSHIM_THRESHOLD=64K", "AMLSHIM_STRICT=1", NULL}},
	{"block", {"AMLSHIM_POLICY=block-interleave:2M", "AMLSHIM_THRESHOLD=256K", NULL}},
	{"block-strict", {"AMLSHIM_POLICY=block-interleave:2M", "AMLSHIM_THRESHOLD=256K", "AMLSHIM_STRICT=1", NULL}},
	{"weighted", {"AMLSHIM_POLICY=weighted-interleave:0*3", "AMLSHIM_THRESHOLD=256K", NULL}},
	{"rules", {"AMLSHIM_RULES=4K-64K=local;64K-1M=interleave;1M-=preferred:0", NULL}},
	{"default", {NULL}},
};
#define MODES (sizeof(modes) / sizeof(modes[0]))

int main(int argc, char **argv)
{
	int m = shim_test_mode_start(argv, modes, MODES);
	if (m >= 0) {
		mode = modes[m].name;
		reproducer();
		run_matrix();
		return shim_test_expect_summary("realloc_usable");
	}
	/* The parent runs under the shim too, then each mode in a copy. */
	int failed = shim_test_run_modes(argc, argv, modes, MODES, 300);
	if (failed)
		return shim_test_expect_summary("realloc_usable");
	printf("realloc_usable: %zu modes x %d allocators x every size and change: every usable byte kept\n", MODES,
	       KINDS);
	return 0;
}
