/* Stress under the shim: 8 threads for tens of seconds of random malloc,
 * calloc, realloc, reallocarray, free, posix_memalign, aligned_alloc,
 * memalign, valloc, pvalloc and anonymous mmap/munmap (whole and in part),
 * over every size class from 0 bytes to 64 MiB and every kind of rule, with
 * content checks: each live block carries a pattern (first and last 64
 * bytes, one word per page) checked before every realloc and free, calloc
 * memory must read zero, realloc must keep the prefix, malloc_usable_size
 * bytes past the request are written too (a block overlapping another
 * shows). Blocks live in a shared table, so most are freed or reallocated
 * by another thread than the one that allocated them.
 *
 * Four configurations, each in a child with a time limit (no deadlock):
 *   rules for every path   0-4K local, 4K-64K interleave, 64K-1M bind,
 *                          1M-16M interleave, 16M- block-interleave:2M
 *                          (STRESS_SECONDS, default 16 s)
 *   preferred, threshold 8K, small objects interleaved   (a quarter of it)
 *   rules with gaps: bandwidth, block-interleave, capacity (a quarter)
 *   no AMLSHIM_* variable (plain path)                    (a quarter)
 *
 * The load runs in two phases; after each, everything is freed and the
 * process sits idle for 1.5 s. Bounds checked (numbers printed):
 *   - VMAs stay below max_map_count / 8 (8191 of 65530) at every sample;
 *   - held memory (RSS less LazyFree) 1.5 s after a phase is at most
 *     max(64 MiB, a quarter of the phase's peak) above the start (the
 *     README: freed large blocks are kept "for at most a second");
 *   - no growth: after phase 2 at most 64 MiB more than after phase 1;
 *   - the report: live bytes back to 0 for every rule, no fallbacks.
 * Plain glibc, for comparison: "stress_mix plain 0" (without the shim). */
#include <malloc.h>

#include "hardening.h"

#define THREADS 8
#define SLOTS 2048
#define LIVE_CAP ((size_t)512 << 20)
#define IDLE_SLACK_KIB (64L << 10)
#define GROWTH_SLACK_KIB (64L << 10)

enum kind { K_MALLOC, K_CALLOC, K_MEMALIGN, K_POSIX, K_ALIGNED, K_VALLOC, K_PVALLOC, K_MMAP };

struct slot {
	int lock;
	void *ptr;
	size_t size;   /* bytes the pattern covers */
	size_t mapped; /* mmap kind: bytes mapped */
	uint64_t seed;
	int kind;
	size_t align;
};

static struct slot slots[SLOTS];
static size_t live_bytes;
static int stop;
static long vma_peak;

struct worker {
	pthread_t thread;
	int id;
	uint64_t rng;
	unsigned long ops, allocs, frees, reallocs, mmaps, cross;
};

/* Every class: mostly small, some medium, a few of tens of MiB. */
static size_t random_size(struct worker *w)
{
	uint64_t r = shim_test_next(&w->rng);
	unsigned pick = (unsigned)(r % 1000);
	r >>= 10;
	if (pick < 20)
		return 0;
	if (pick < 450)
		return r % 256;
	if (pick < 700)
		return 256 + r % 3840;
	if (pick < 850)
		return 4096 + r % (60 << 10);
	if (pick < 960)
		return (64 << 10) + r % ((size_t)960 << 10);
	if (pick < 995)
		return ((size_t)1 << 20) + r % ((size_t)15 << 20);
	return ((size_t)16 << 20) + r % ((size_t)48 << 20);
}

static void add_live(size_t n)
{
	__atomic_add_fetch(&live_bytes, n, __ATOMIC_RELAXED);
}

static void sub_live(size_t n)
{
	__atomic_sub_fetch(&live_bytes, n, __ATOMIC_RELAXED);
}

static void check_slot(const struct slot *s, const char *when)
{
	long bad = hard_check(s->ptr, s->size, s->seed);
	CHECK(bad < 0, "%s: block %p of %zu bytes (kind %d) lost its content at offset %ld", when, s->ptr, s->size,
	      s->kind, bad);
}

static void allocate(struct worker *w, struct slot *s)
{
	size_t size = random_size(w);
	if (__atomic_load_n(&live_bytes, __ATOMIC_RELAXED) + size > LIVE_CAP)
		size = size % 4096;
	int kind = (int)(shim_test_next(&w->rng) % 100);
	kind = kind < 50 ? K_MALLOC : kind < 65 ? K_CALLOC : kind < 72 ? K_MEMALIGN : kind < 80 ? K_POSIX
	       : kind < 86 ? K_ALIGNED : kind < 90 ? K_VALLOC : kind < 93 ? K_PVALLOC : K_MMAP;
	size_t align = 0;
	void *p = NULL;
	switch (kind) {
	case K_MALLOC: p = malloc(size); break;
	case K_CALLOC: {
		size_t count = 1 + shim_test_next(&w->rng) % 16;
		size = size / count;
		/* reallocarray(NULL, ...) is a malloc: only calloc reads zero. */
		int zeroed = shim_test_next(&w->rng) % 4 != 0;
		p = zeroed ? calloc(count, size) : reallocarray(NULL, count, size);
		size *= count;
		if (p && zeroed) {
			long bad = hard_check_zero(p, size);
			CHECK(bad < 0, "calloc(%zu, %zu) is not zero at offset %ld", count, size / count, bad);
		}
		break;
	}
	case K_MEMALIGN:
		align = (size_t)1 << (shim_test_next(&w->rng) % 22);
		p = memalign(align, size);
		break;
	case K_POSIX:
		align = sizeof(void *) << (shim_test_next(&w->rng) % 19);
		CHECK(posix_memalign(&p, align, size) == 0 || size > LIVE_CAP, "posix_memalign(%zu, %zu)", align, size);
		break;
	case K_ALIGNED:
		align = (size_t)1 << (shim_test_next(&w->rng) % 22);
		p = aligned_alloc(align, size);
		break;
	case K_VALLOC: align = 4096; p = valloc(size); break;
	case K_PVALLOC:
		align = 4096;
		p = pvalloc(size);
		size = (size + 4095) & ~(size_t)4095; /* glibc: pvalloc(0) is a minimal block */
		break;
	case K_MMAP:
		size = 4096 + size;
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(p != MAP_FAILED, "mmap of %zu bytes: %s", size, strerror(errno));
		s->mapped = size;
		w->mmaps++;
		break;
	}
	CHECK(p != NULL, "allocation of %zu bytes (kind %d) failed", size, kind);
	if (align)
		CHECK(((uintptr_t)p & (align - 1)) == 0, "%p is not aligned to %zu (kind %d)", p, align, kind);
	if (kind != K_MMAP) {
		size_t usable = malloc_usable_size(p);
		CHECK(usable >= size, "malloc_usable_size %zu < %zu", usable, size);
		/* Bytes up to the usable size are the program's too. */
		if (usable > size && usable - size <= 4096)
			memset((char *)p + size, 0xee, usable - size);
	}
	s->ptr = p;
	s->size = size;
	s->kind = kind;
	s->align = align;
	s->seed = shim_test_next(&w->rng);
	hard_fill(p, size, s->seed);
	add_live(size);
	w->allocs++;
}

static void release(struct worker *w, struct slot *s)
{
	check_slot(s, "free");
	if (s->kind == K_MMAP) {
		/* Sometimes the head first, then the rest (a trimmed mapping). */
		if (s->mapped > 8192 && shim_test_next(&w->rng) % 2) {
			CHECK(munmap(s->ptr, 4096) == 0, "munmap head");
			CHECK(munmap((char *)s->ptr + 4096, s->mapped - 4096) == 0, "munmap rest");
		} else {
			CHECK(munmap(s->ptr, s->mapped) == 0, "munmap: %s", strerror(errno));
		}
	} else {
		free(s->ptr);
	}
	sub_live(s->size);
	s->ptr = NULL;
	w->frees++;
}

static void reallocate(struct worker *w, struct slot *s)
{
	check_slot(s, "realloc");
	size_t size = random_size(w);
	if (size == 0)
		size = 1; /* realloc(p, 0) frees: not this operation */
	if (__atomic_load_n(&live_bytes, __ATOMIC_RELAXED) + size > LIVE_CAP + s->size)
		size = 1 + size % 4096;
	void *p = shim_test_next(&w->rng) % 8 ? realloc(s->ptr, size) : reallocarray(s->ptr, 1, size);
	CHECK(p != NULL, "realloc of %zu to %zu failed", s->size, size);
	size_t kept = s->size < size ? s->size : size;
	/* The prefix survives: check the pattern's words inside it. */
	HARD_FOR_EACH_OFFSET(s->size, off, if (off + 8 <= kept) CHECK(hard_get_ok(p, off, s->size, s->seed),
	                     "realloc %zu -> %zu lost the word at %zu", s->size, size, off));
	sub_live(s->size);
	add_live(size);
	s->ptr = p;
	s->size = size;
	s->kind = K_MALLOC;
	s->align = 0;
	s->seed = shim_test_next(&w->rng);
	hard_fill(p, size, s->seed);
	w->reallocs++;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		struct slot *s = &slots[shim_test_next(&w->rng) % SLOTS];
		if (__atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE))
			continue;
		if (!s->ptr) {
			allocate(w, s);
		} else {
			unsigned op = (unsigned)(shim_test_next(&w->rng) % 10);
			if (op < 5 || s->kind == K_MMAP)
				release(w, s);
			else if (op < 8)
				reallocate(w, s);
			else
				check_slot(s, "check");
		}
		__atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
		w->ops++;
	}
	return NULL;
}

/* calloc memory reads zero, whatever was there before (a reused block). */
static void calloc_zero_check(void)
{
	for (int round = 0; round < 200; round++) {
		size_t size = round % 2 ? (size_t)(round * 997) : ((size_t)64 << 10) + (size_t)round * 8191;
		unsigned char *p = malloc(size);
		CHECK(p != NULL, "malloc");
		memset(p, 0xa5, size);
		free(p);
		unsigned char *q = calloc(1, size);
		CHECK(q != NULL, "calloc");
		long bad = hard_check_zero(q, size);
		CHECK(bad < 0, "calloc(1, %zu) is not zero at %ld", size, bad);
		free(q);
	}
}

struct phase {
	unsigned long ops, allocs, frees, reallocs, mmaps;
	long held_peak, held_freed, held_idle;
};

/* One load phase: 8 threads for the given time, then everything freed and
 * 1.5 s without allocating; what the process holds is sampled throughout. */
static void run_phase(double seconds, struct phase *out)
{
	struct worker workers[THREADS];
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	for (int i = 0; i < THREADS; i++) {
		memset(&workers[i], 0, sizeof(workers[i]));
		workers[i].id = i;
		workers[i].rng = 0x1234567ULL * (uint64_t)(i + 1) ^ (uint64_t)getpid() ^ (uint64_t)out;
		CHECK(pthread_create(&workers[i].thread, NULL, work, &workers[i]) == 0, "pthread_create");
	}
	double end = test_now() + seconds;
	while (test_now() < end) {
		long vmas = test_vma_count();
		if (vmas > vma_peak)
			vma_peak = vmas;
		long held = hard_held_kib();
		if (held > out->held_peak)
			out->held_peak = held;
		usleep(100 * 1000);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(workers[i].thread, NULL);
		out->ops += workers[i].ops, out->allocs += workers[i].allocs, out->frees += workers[i].frees;
		out->reallocs += workers[i].reallocs, out->mmaps += workers[i].mmaps;
	}
	struct worker cleaner = {.rng = 99};
	for (int i = 0; i < SLOTS; i++)
		if (slots[i].ptr)
			release(&cleaner, &slots[i]);
	CHECK(live_bytes == 0, "live bytes %zu", live_bytes);
	out->held_freed = hard_held_kib();
	usleep(1500 * 1000);
	out->held_idle = hard_held_kib();
}

static int worker_main(double seconds, const char *name)
{
	shim_test_deadline((unsigned)(seconds * 3 + 60));
	calloc_zero_check();
	long held_before = hard_held_kib();
	long max_maps = hard_max_map_count();
	struct phase phases[2];
	memset(phases, 0, sizeof(phases));
	for (int k = 0; k < 2; k++) {
		run_phase(seconds / 2, &phases[k]);
		printf("%s, phase %d: %lu operations (%lu allocations, %lu frees, %lu reallocs, %lu mmaps) by %d threads "
		       "in %.1f s\n", name, k + 1, phases[k].ops, phases[k].allocs, phases[k].frees, phases[k].reallocs,
		       phases[k].mmaps, THREADS, seconds / 2);
		printf("%s, phase %d: held (RSS - LazyFree) before %ld KiB, peak %ld KiB, everything freed %ld KiB, "
		       "after 1.5 s idle %ld KiB\n", name, k + 1, held_before, phases[k].held_peak, phases[k].held_freed,
		       phases[k].held_idle);
		fflush(stdout);
	}
	printf("%s: VMAs peak %ld (max_map_count %ld)\n", name, vma_peak, max_maps);
	CHECK(phases[0].ops > 1000 && phases[1].ops > 1000, "only %lu + %lu operations", phases[0].ops, phases[1].ops);
	if (!shim_test_active())
		return 0; /* "plain": numbers for comparison only */
	CHECK(vma_peak < max_maps / 8, "%ld VMAs at the peak, max_map_count %ld: the bound is an eighth of it",
	      vma_peak, max_maps);
	/* The report's accounting survived the threads. */
	shim_test_report(shim_test_report_buf, sizeof(shim_test_report_buf), 1);
	for (const char *r = strstr(shim_test_report_buf, "{\"min\":"); r; r = strstr(r + 1, "{\"min\":")) {
		long live = shim_test_json_number(r, "live_bytes"), fallbacks = shim_test_json_number(r, "fallbacks");
		CHECK(live == 0, "a rule has %ld live bytes after everything was freed: %.300s", live, r);
		CHECK(fallbacks == 0, "a rule fell back %ld times: %.300s", fallbacks, r);
	}
	/* No growth: the second phase reuses what the first left. */
	CHECK(phases[1].held_idle <= phases[0].held_idle + GROWTH_SLACK_KIB,
	      "held memory grew from %ld KiB after phase 1 to %ld KiB after phase 2 (everything freed each time)",
	      phases[0].held_idle, phases[1].held_idle);
	/* Bounded: once idle, at most a quarter of the peak (64 MiB at least)
	 * above the start. */
	for (int k = 0; k < 2; k++) {
		long bound = phases[k].held_peak / 4 > IDLE_SLACK_KIB ? phases[k].held_peak / 4 : IDLE_SLACK_KIB;
		CHECK(phases[k].held_idle <= held_before + bound,
		      "phase %d: %ld KiB held 1.5 s after the load stopped (everything freed), %ld KiB before it: more than "
		      "max(64 MiB, peak %ld KiB / 4) = %ld KiB kept", k + 1, phases[k].held_idle, held_before,
		      phases[k].held_peak, bound);
	}
	return 0;
}

static struct hard_config configs[4];
static char bind_rules[256], preferred[64];

static void make_configs(void)
{
	const char *node = hard_first_node_text();
	hard_rules(bind_rules, sizeof(bind_rules), "1M-16M=interleave;16M-=block-interleave:2M");
	snprintf(preferred, sizeof(preferred), "AMLSHIM_POLICY=preferred:%s", node);
	configs[0] = (struct hard_config){"rules for every path", {bind_rules, NULL}};
	configs[1] = (struct hard_config){"preferred, threshold 8K, small interleave",
	                                  {preferred, "AMLSHIM_THRESHOLD=8K", "AMLSHIM_SMALL=interleave", NULL}};
	configs[2] = (struct hard_config){
		"rules with gaps (bandwidth, block, capacity)",
		{"AMLSHIM_RULES=32K-256K=bandwidth;1M-8M=block-interleave:64K;32M-=capacity", NULL}};
	configs[3] = (struct hard_config){"no AMLSHIM_* variable", {NULL}};
}

int main(int argc, char **argv)
{
	make_configs();
	double seconds = hard_seconds(16);
	if (argc > 2 && strcmp(argv[1], "plain") == 0) /* for comparison: without the shim */
		return worker_main(seconds, "plain (no shim)");
	int i = hard_worker(argc, argv, configs, 4);
	if (i >= 0) {
		return worker_main(i == 0 ? seconds : seconds / 4, configs[i].name);
	}
	hard_run_configs(argv, configs, 4, (int)(seconds * 3) + 90);
	return 0;
}
