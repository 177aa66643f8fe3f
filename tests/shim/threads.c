/* Eight threads allocate blocks of mixed sizes across the threshold (small
 * path below 64K, interleave area above) with every allocator, fill each
 * with a pattern derived from its address and size, and swap them through
 * a shared slot array: most blocks are checked, reallocated and freed by a
 * thread other than the one that allocated them. At the end every block is
 * checked and freed, and the report must show the large path was used and
 * has no live bytes left (its accounting survived the concurrency).
 *
 * Second phase: threads growing large blocks with realloc (mremap may move
 * them, which frees their old address range) race threads that map fresh
 * large blocks (which the kernel may place in that range). Every block must
 * stay the shim's: malloc_usable_size right after malloc, before realloc
 * and before free. A block the shim lost track of is handed to glibc, which
 * crashes; the test reports that as a failure with a hint. */
#include <malloc.h>
#include <pthread.h>

#include "shim_test.h"

#define THREADS 8
#define SLOTS 512
#define THRESHOLD ((size_t)64 << 10)
#define RUN_SECONDS 3.0

struct header {
	uint64_t size;
	uint64_t check; /* mix of address and size: also the pattern's seed */
};

static void *slots[SLOTS];
static volatile int stop;

struct worker {
	pthread_t thread;
	int id;
	uint64_t rng;
	unsigned long ops, allocs, large_allocs, reallocs, frees, cross_frees;
};

static uint64_t block_seed(const void *p, size_t size)
{
	return shim_test_mix((uint64_t)(uintptr_t)p * 31 + size);
}

static size_t random_size(struct worker *w)
{
	uint64_t r = shim_test_next(&w->rng);
	unsigned kind = (unsigned)(r % 100);
	r >>= 8;
	if (kind < 55)
		return 16 + r % 1024;
	if (kind < 80)
		return 1024 + r % (THRESHOLD - 1024);
	if (kind < 88)
		return THRESHOLD - 64 + r % 128; /* at the threshold */
	if (kind < 97)
		return THRESHOLD + r % (512 << 10);
	return (512 << 10) + r % (3 << 20);
}

/* Writes the header and the pattern over the whole block. */
static void stamp(void *p, size_t size)
{
	struct header h = {size, block_seed(p, size)};
	memcpy(p, &h, sizeof(h));
	shim_test_fill_range(p, sizeof(h), size, h.check);
}

/* Checks a block's header and pattern; returns its size. */
static size_t verify(const void *p)
{
	struct header h;
	memcpy(&h, p, sizeof(h));
	CHECK(h.size >= sizeof(h) && h.size < (8 << 20), "block %p: corrupt header (size %llu)", p,
	      (unsigned long long)h.size);
	CHECK(h.check == block_seed(p, h.size), "block %p of %llu bytes: header does not match its address", p,
	      (unsigned long long)h.size);
	long bad = shim_test_verify_range(p, sizeof(h), h.size, h.check);
	CHECK(bad < 0, "block %p of %llu bytes differs at offset %ld", p, (unsigned long long)h.size, bad);
	CHECK(malloc_usable_size((void *)p) >= h.size, "block %p: usable %zu < %llu", p,
	      malloc_usable_size((void *)p), (unsigned long long)h.size);
	return h.size;
}

static void *allocate(struct worker *w, size_t size)
{
	void *p = NULL;
	size_t alignment = (size_t)16 << (shim_test_next(&w->rng) % 13); /* 16 .. 64K */
	switch (shim_test_next(&w->rng) % 6) {
	case 0:
	case 1: p = malloc(size); alignment = 16; break;
	case 2: p = calloc(1, size); alignment = 16; break;
	case 3: CHECK(posix_memalign(&p, alignment, size) == 0, "posix_memalign(%zu, %zu)", alignment, size); break;
	case 4: p = aligned_alloc(alignment, size); break;
	default: p = memalign(alignment, size); break;
	}
	CHECK(p != NULL, "allocation of %zu bytes failed", size);
	CHECK(((uintptr_t)p & (alignment - 1)) == 0, "%p is not %zu-aligned", p, alignment);
	w->allocs++;
	w->large_allocs += size >= THRESHOLD;
	return p;
}

/* Puts a block in a random slot; checks and frees the one it replaces. */
static void publish(struct worker *w, void *p)
{
	void *old = __atomic_exchange_n(&slots[shim_test_next(&w->rng) % SLOTS], p, __ATOMIC_ACQ_REL);
	if (old) {
		verify(old);
		free(old);
		w->cross_frees++;
	}
}

static void *work(void *arg)
{
	struct worker *w = arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		unsigned op = (unsigned)(shim_test_next(&w->rng) % 100);
		w->ops++;
		if (op < 55) {
			size_t size = random_size(w);
			void *p = allocate(w, size);
			stamp(p, size);
			publish(w, p);
		} else if (op < 85) {
			void *p = __atomic_exchange_n(&slots[shim_test_next(&w->rng) % SLOTS], NULL, __ATOMIC_ACQ_REL);
			if (!p)
				continue;
			size_t old_size = verify(p);
			uint64_t old_seed = block_seed(p, old_size);
			size_t size = random_size(w);
			void *q = realloc(p, size);
			CHECK(q != NULL, "realloc(%p, %zu) failed", p, size);
			CHECK(((uintptr_t)q & 15) == 0, "realloc result %p misaligned", q);
			size_t kept = old_size < size ? old_size : size;
			long bad = shim_test_verify_range(q, sizeof(struct header), kept, old_seed);
			CHECK(bad < 0, "realloc %zu -> %zu (%p -> %p) lost content at offset %ld", old_size, size, p, q, bad);
			w->reallocs++;
			stamp(q, size);
			publish(w, q);
		} else {
			void *p = __atomic_exchange_n(&slots[shim_test_next(&w->rng) % SLOTS], NULL, __ATOMIC_ACQ_REL);
			if (!p)
				continue;
			verify(p);
			free(p);
			w->frees++;
		}
	}
	return NULL;
}

/* ---- Phase 2: realloc growth (mremap) against fresh mappings ---- */

#define RACE_SECONDS 3.0
static volatile unsigned long race_grows, race_lost;

static void race_check(const void *p, size_t size, const char *when)
{
	size_t usable = malloc_usable_size((void *)p);
	if (usable < size) {
		__atomic_add_fetch(&race_lost, 1, __ATOMIC_RELAXED);
		fprintf(stderr, "FAIL: block %p of %zu bytes %s: malloc_usable_size %zu (the shim lost it)\n", p, size,
		        when, usable);
		fflush(stderr);
		_exit(1);
	}
}

static void *race_grow(void *arg)
{
	uint64_t rng = (uintptr_t)arg * 7919 + 1;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		rng = shim_test_mix(rng);
		size_t size = THRESHOLD + (rng % 8) * 4096;
		char *p = malloc(size);
		CHECK(p != NULL, "malloc");
		p[0] = 1;
		race_check(p, size, "after malloc");
		char *q = realloc(p, size * 8);
		CHECK(q != NULL, "realloc");
		race_check(q, size * 8, "after realloc");
		__atomic_add_fetch(&race_grows, 1, __ATOMIC_RELAXED);
		free(q);
	}
	return NULL;
}

static void *race_map(void *arg)
{
	uint64_t rng = (uintptr_t)arg * 31 + 5;
	enum { BURST = 24 }; /* more than a pool caches: fresh mappings */
	void *blocks[BURST];
	size_t sizes[BURST];
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (int i = 0; i < BURST; i++) {
			rng = shim_test_mix(rng);
			sizes[i] = THRESHOLD + (rng % 8) * 4096;
			blocks[i] = malloc(sizes[i]);
			CHECK(blocks[i] != NULL, "malloc");
			((char *)blocks[i])[0] = 1;
		}
		for (int i = 0; i < BURST; i++) {
			race_check(blocks[i], sizes[i], "before free");
			free(blocks[i]);
		}
	}
	return NULL;
}

static void on_crash(int sig)
{
	static const char msg[] = "FAIL: crashed (signal) while threads realloc'ed and mapped large blocks: "
	                          "a pointer the shim lost track of went to glibc\n";
	ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)ignored;
	(void)sig;
	_exit(1);
}

static void remap_race(void)
{
	signal(SIGSEGV, on_crash);
	signal(SIGABRT, on_crash);
	signal(SIGBUS, on_crash);
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	pthread_t threads[8];
	for (long i = 0; i < 4; i++) {
		CHECK(pthread_create(&threads[i], NULL, race_grow, (void *)i) == 0, "pthread_create");
		CHECK(pthread_create(&threads[i + 4], NULL, race_map, (void *)i) == 0, "pthread_create");
	}
	double end = test_now() + RACE_SECONDS;
	while (test_now() < end)
		usleep(10000);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 8; i++)
		CHECK(pthread_join(threads[i], NULL) == 0, "pthread_join");
	CHECK(race_grows > 0, "no realloc growth happened");
	signal(SIGSEGV, SIG_DFL);
	signal(SIGABRT, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	printf("remap race: %lu reallocs grown against fresh mappings, no block lost\n", race_grows);
}

int main(int argc, char **argv)
{
	(void)argc;
	static const char *const env[] = {"AMLSHIM_POLICY=interleave", "AMLSHIM_THRESHOLD=64K", NULL};
	shim_test_start(argv, env);

	struct shim_rule_stats before = shim_test_rule(THRESHOLD);
	static struct worker workers[THREADS];
	for (int i = 0; i < THREADS; i++) {
		workers[i].id = i;
		workers[i].rng = (uint64_t)i * 0x1234567 + 99;
		CHECK(pthread_create(&workers[i].thread, NULL, work, &workers[i]) == 0, "pthread_create");
	}
	double end = test_now() + RUN_SECONDS;
	while (test_now() < end)
		usleep(10000);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	unsigned long ops = 0, large = 0, allocs = 0, reallocs = 0, cross = 0;
	for (int i = 0; i < THREADS; i++) {
		CHECK(pthread_join(workers[i].thread, NULL) == 0, "pthread_join");
		ops += workers[i].ops;
		large += workers[i].large_allocs;
		allocs += workers[i].allocs;
		reallocs += workers[i].reallocs;
		cross += workers[i].cross_frees;
		CHECK(workers[i].ops > 0, "thread %d made no progress", i);
	}
	unsigned long left = 0;
	for (int s = 0; s < SLOTS; s++) {
		if (slots[s]) {
			verify(slots[s]);
			free(slots[s]);
			slots[s] = NULL;
			left++;
		}
	}
	struct shim_rule_stats after = shim_test_rule(THRESHOLD);
	printf("threads: %lu ops, %lu allocations (%lu large), %lu reallocs, %lu replaced in slots, %lu left\n", ops,
	       allocs, large, reallocs, cross, left);
	printf("large rule: count %ld, live %ld, peak %ld, moves %ld, remaps %ld, reuses %ld\n",
	       after.count - before.count, after.live_bytes, after.peak_bytes, after.realloc_moves - before.realloc_moves,
	       after.realloc_remaps - before.realloc_remaps, after.reuses - before.reuses);
	CHECK(large > 0 && after.count - before.count >= (long)large,
	      "the interleave rule counted %ld allocations, the threads made %lu of >= 64K", after.count - before.count,
	      large);
	CHECK(after.live_bytes == before.live_bytes, "live bytes of the large rule: %ld before, %ld after freeing all",
	      before.live_bytes, after.live_bytes);
	CHECK(after.realloc_moves > before.realloc_moves, "no realloc moved a block out of the large rule");

	remap_race();
	struct shim_rule_stats last = shim_test_rule(THRESHOLD);
	CHECK(last.live_bytes == before.live_bytes, "live bytes of the large rule after the race: %ld more",
	      last.live_bytes - before.live_bytes);
	printf("threads: ok\n");
	return 0;
}
