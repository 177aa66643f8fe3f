/* The shim's large path as a pure unit: its routes, pools, large
 * allocations, placed mappings and statistics (shim/routes.c, pool.c,
 * room.c, large.c, mappings.c, stats.c, large_heap.c), shim/registry.c and shim/log.c compiled
 * into this program (no preload, no jemalloc), with the policy parser and
 * libaml (the OS layer with it) linked, and each route's pool given a
 * counting area of our own. Run plain, under ASan+UBSan and under valgrind
 * (make check-asan, make check-valgrind).
 *
 * Checked:
 *  - a malloc/free loop of one size maps once and then reuses (a region:
 *    blocks up to 32 MiB are pieces of regions; drained, the area holds
 *    exactly the live blocks of their own and the regions with live pieces);
 *  - the pool never caches more than 8 blocks or 1 GiB, and everything the
 *    area handed out is either live, cached, or given back (no leak, no
 *    double unmap), also after blocks expire;
 *  - alignment up to 2 MiB, usable sizes, in-place shrink, remap growth,
 *    moves across rules, with the content kept;
 *  - the mmap kind: munmap of the head, of a hole (the block splits),
 *    mremap of the tail, munmap of both;
 *  - an area that refuses memory: fallback (counted) or, strict, NULL/ENOMEM
 *    with no record leaked; sizes near SIZE_MAX fail cleanly;
 *  - eight threads hammering one pool: accounting back to zero, registry
 *    consistent;
 *  - a random model-based sequence against a shadow table. */
#include "../../../shim/log.c"
#include "../../../shim/registry.c"
#include "../../../shim/routes.c"
#include "../../../shim/large_heap.c"
#include "../../../shim/pool.c"
#include "../../../shim/room.c"
#include "../../../shim/stats.c"
#include "../../../shim/large.c"
#include "../../../shim/mappings.c"
#include "../../../shim/out.c"
#include "../../../shim/budget.c"
#include "../../../shim/ledger.c"
#include "../../../shim/page_size.c"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <aml/area/linux.h>

#include "check.h"

/* What shim/init.c defines in the real shim. */
struct shim_process shim_process = {.state = SHIM_READY, .large_min = SIZE_MAX};
SHIM_TLS int shim_thread_busy;
const char *shim_read_env(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}
/* What shim/site_rules.c defines: no call-site rule here. */
struct shim_site_routes shim_site_routes;
void shim_sites_free(struct shim_block *block)
{
	(void)block;
}

/* The test running, for messages. */
static const char *phase = "start";

/* ---- A counting area over the Linux area -------------------------------- */

struct counting {
	long maps, unmaps;
	long live_bytes;   /* mapped and not yet unmapped */
	int fail;          /* refuse every mmap */
	int lock;
	/* Every live mapping, to catch unmaps of something never mapped. */
	struct { void *ptr; size_t size; } live[4096];
	int num_live;
};

static void *counting_mmap(const struct aml_area_data *data, size_t size, struct aml_area_mmap_options *opts)
{
	struct counting *c = (struct counting *)data;
	if (__atomic_load_n(&c->fail, __ATOMIC_RELAXED)) {
		aml_errno = AML_ENOMEM;
		return NULL;
	}
	void *ptr = aml_area_mmap(&aml_area_linux, size, opts);
	if (!ptr)
		return NULL;
	shim_lock(&c->lock);
	CHECK(c->num_live < 4096, "too many live mappings");
	c->live[c->num_live].ptr = ptr;
	c->live[c->num_live].size = size;
	c->num_live++;
	c->maps++;
	c->live_bytes += (long)size;
	shim_unlock(&c->lock);
	return ptr;
}

/* The live mapping that holds [ptr, ptr + size), or -1. The shim may give
 * back the slack of an over-aligned mapping itself (plain mappings only),
 * so what comes back to the area can be a part of what it handed out; the
 * kernel may reuse that slack for a later mapping, so the smallest mapping
 * that holds the range is the one. (The model test keeps alignments within
 * a page, where nothing is trimmed; test_alignment_and_realloc has the
 * large ones.) */
static int counting_find(struct counting *c, const void *ptr, size_t size)
{
	int best = -1;
	for (int i = 0; i < c->num_live; i++) {
		const char *start = c->live[i].ptr, *end = start + c->live[i].size;
		if ((const char *)ptr >= start && (const char *)ptr + size <= end &&
		    (best < 0 || c->live[i].size < c->live[best].size))
			best = i;
	}
	return best;
}

static int counting_munmap(const struct aml_area_data *data, void *ptr, size_t size)
{
	struct counting *c = (struct counting *)data;
	shim_lock(&c->lock);
	int found = counting_find(c, ptr, size);
	CHECK(found >= 0, "%s: munmap of %p (%zu bytes), which the area never mapped or already unmapped", phase, ptr,
	      size);
	c->live_bytes -= (long)c->live[found].size;
	c->live[found] = c->live[--c->num_live];
	c->unmaps++;
	shim_unlock(&c->lock);
	return aml_area_munmap(&aml_area_linux, ptr, size);
}

/* mremap'ed blocks change address and size under the area: follow them. */
static void counting_moved(struct counting *c, void *old, void *fresh, size_t size)
{
	shim_lock(&c->lock);
	int found = counting_find(c, old, 1);
	if (found >= 0) {
		c->live_bytes += (long)size - (long)c->live[found].size;
		c->live[found].ptr = fresh;
		c->live[found].size = size;
	}
	shim_unlock(&c->lock);
}

static struct aml_area_ops counting_ops = {counting_mmap, counting_munmap, NULL};
static struct counting areas[AMLSHIM_MAX_RULES];
static struct aml_area area_objects[AMLSHIM_MAX_RULES];

/* A piece that grew out of its region by mremap: a mapping of its own the
 * area now holds (and will unmap). */
static void counting_adopt(struct counting *c, void *ptr, size_t size)
{
	shim_lock(&c->lock);
	CHECK(c->num_live < 4096, "too many live mappings");
	c->live[c->num_live].ptr = ptr;
	c->live[c->num_live].size = size;
	c->num_live++;
	c->live_bytes += (long)size;
	shim_unlock(&c->lock);
}

/* ---- Setting up routes from AMLSHIM_RULES text ---------------------------- */

static const char *rules_text;

static const char *env_reader(const char *name, void *ctx)
{
	(void)ctx;
	return strcmp(name, "AMLSHIM_RULES") == 0 ? rules_text : NULL;
}

static void sink(const char *line, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "%s\n", line);
}

static void setup(const char *rules, int strict)
{
	memset(areas, 0, sizeof(areas));
	memset(shim_route_table.rules, 0, sizeof(shim_route_table.rules));
	rules_text = rules;
	amlshim_policy_parse(&shim_process.policy, env_reader, NULL, sink, NULL);
	CHECK(shim_process.policy.errors == 0, "bad rules %s", rules);
	shim_process.policy.strict = strict;
	shim_large_init();
	shim_process.large_min = shim_process.policy.num_rules ? shim_process.policy.rules[0].min : SIZE_MAX;
	for (int i = 0; i < shim_route_table.count; i++) {
		area_objects[i].ops = &counting_ops;
		area_objects[i].data = (struct aml_area_data *)&areas[i];
		struct shim_pool *pool = &shim_route_table.rules[i].pools[0];
		amlshim_resolved_default(&pool->placed);
		pool->placed.area = &area_objects[i];
		pool->present = 1;
		__atomic_store_n(&shim_route_table.rules[i].ready, 1, __ATOMIC_RELEASE);
	}
}

/* Releases every cached block (as if they all expired) and checks that the
 * areas then hold exactly the live blocks. */
static void drain_and_check(const char *when)
{
	for (int r = 0; r < shim_route_table.count; r++) {
		struct shim_route *route = &shim_route_table.rules[r];
		for (int p = -1; p < 1; p++) {
			struct shim_pool *pool = p < 0 ? &route->fallback : &route->pools[0];
			struct shim_block *expired[CACHE_SLOTS];
			shim_lock(&pool->lock);
			int n = take_expired(pool, expired, ~0ULL >> 1, 0);
			CHECK(pool->num_cached == 0 && pool->cached_bytes == 0, "%s: cache not empty after expiry", when);
			shim_unlock(&pool->lock);
			release(pool, expired, n);
			trim_heap(pool);
			CHECK(pool->heap.empty_regions == 0 && pool->heap.resident_free == 0, "%s: heap not trimmed", when);
		}
		/* Each live block holds a mapping of its own, or a piece of a
		 * region: the regions left are those with live pieces. */
		int live_blocks = 0;
		for (struct shim_block *b = route->pools[0].live; b; b = b->next)
			live_blocks += !b->region;
		live_blocks += route->pools[0].heap.num_regions;
		CHECK(areas[r].num_live == live_blocks, "%s: rule %d: the area holds %d mappings, live blocks %d", when,
		      r, areas[r].num_live, live_blocks);
	}
}

static void fill(void *p, size_t n, unsigned seed)
{
	unsigned char *b = p;
	for (size_t i = 0; i + 1 < n; i += 4093)
		b[i] = (unsigned char)(seed + i / 4093);
	if (n)
		b[n - 1] = (unsigned char)(seed ^ 0x5a);
}

static void verify(const void *p, size_t n, unsigned seed, const char *what)
{
	const unsigned char *b = p;
	for (size_t i = 0; i + 1 < n; i += 4093)
		CHECK(b[i] == (unsigned char)(seed + i / 4093), "%s: content lost at %zu", what, i);
	if (n)
		CHECK(b[n - 1] == (unsigned char)(seed ^ 0x5a), "%s: last byte lost", what);
}

static void *large_malloc(size_t size, size_t alignment)
{
	struct shim_route *route = shim_route_for(size);
	CHECK(route != NULL, "no route for %zu", size);
	return shim_large_alloc(route, size, alignment, 0);
}

static int threaded;

static void large_free(void *ptr)
{
	struct shim_block *block = shim_registry_lookup(ptr);
	CHECK(block && block->ptr == ptr, "registry lost %p", ptr);
	shim_large_free(block);
	/* With threads, another one may get the same address at once. */
	CHECK(threaded || shim_registry_lookup(ptr) == NULL, "registry still has %p after free", ptr);
}

/* large.c moves a block to another rule with the shim's internal malloc
 * (dispatch.c), which routes by size; here only the large path routes. */
void *shim_malloc(size_t size)
{
	struct shim_route *route = size >= shim_process.large_min ? shim_route_for(size) : NULL;
	CHECK(route != NULL, "a move to %zu bytes left the large path", size);
	return shim_large_alloc(route, size, 16, 0);
}

static struct counting *area_of_pool(const struct shim_pool *pool)
{
	return pool->placed.area ? (struct counting *)pool->placed.area->data : NULL;
}

/* shim_large_realloc, telling the counting area when the block was
 * remapped under it (address or size changed, same record, not a piece of
 * a region: those grow and shrink inside it). */
static void *large_realloc(void *ptr, size_t size)
{
	struct shim_block *block = shim_registry_lookup(ptr);
	CHECK(block && block->ptr == ptr, "realloc: registry lost %p", ptr);
	void *old_base = block->base;
	size_t old_mapped = block->mapped;
	struct counting *area = area_of_pool(block->pool);
	int was_piece = block->region != NULL;
	void *fresh = shim_large_realloc(block, size);
	if (!fresh)
		return NULL;
	struct shim_block *now = shim_registry_lookup(fresh);
	CHECK(now && now->ptr == fresh, "realloc: the result %p is not registered", fresh);
	if (now == block && area && !now->region && (now->base != old_base || now->mapped != old_mapped))
		counting_moved(area, old_base, now->base, now->mapped);
	else if (was_piece && !now->region && area && area_of_pool(now->pool) == area) {
		shim_lock(&area->lock);
		int known = counting_find(area, now->base, now->mapped) >= 0;
		shim_unlock(&area->lock);
		if (!known)
			counting_adopt(area, now->base, now->mapped);
	}
	return fresh;
}

/* ---- The tests ------------------------------------------------------------ */

static void test_reuse(void)
{
	phase = "test_reuse";
	setup("64K-=interleave", 0);
	for (int i = 0; i < 1000; i++) {
		void *p = large_malloc((size_t)1 << 20, 16);
		CHECK(p != NULL, "malloc 1M");
		fill(p, (size_t)1 << 20, (unsigned)i);
		verify(p, (size_t)1 << 20, (unsigned)i, "reuse");
		large_free(p);
	}
	CHECK(areas[0].maps == 1, "a malloc/free loop of one size mapped %ld times", areas[0].maps);
	CHECK(shim_route_table.rules[0].reuses == 999, "reuses %lu", shim_route_table.rules[0].reuses);
	CHECK(shim_route_table.rules[0].live == 0, "live bytes %lu after freeing everything", shim_route_table.rules[0].live);
	drain_and_check("reuse");
	CHECK(areas[0].live_bytes == 0 && areas[0].maps == areas[0].unmaps, "reuse: area not empty");
}

static void test_cache_bounds(void)
{
	phase = "test_cache_bounds";
	setup("64K-=interleave", 0);
	void *blocks[40];
	size_t sizes[40];
	/* Sizes that never fit each other's cached block (each > 5/4 of the last). */
	size_t size = (size_t)64 << 10;
	for (int i = 0; i < 40; i++) {
		sizes[i] = size;
		blocks[i] = large_malloc(size, 16);
		CHECK(blocks[i] != NULL, "malloc %zu", size);
		size = size * 3 / 2 > ((size_t)600 << 20) ? (size_t)64 << 10 : size * 3 / 2;
	}
	for (int i = 0; i < 40; i++) {
		large_free(blocks[i]);
		struct shim_pool *pool = &shim_route_table.rules[0].pools[0];
		CHECK(pool->num_cached <= CACHE_SLOTS, "%d blocks cached", pool->num_cached);
		CHECK(pool->cached_bytes <= CACHE_MAX_BYTES, "%zu bytes cached", pool->cached_bytes);
		size_t sum = 0;
		for (int k = 0; k < pool->num_cached; k++)
			sum += pool->cache[k]->mapped;
		CHECK(sum == pool->cached_bytes, "cached_bytes %zu, blocks %zu", pool->cached_bytes, sum);
		CHECK(areas[0].live_bytes >= 0 && (size_t)areas[0].live_bytes >= pool->cached_bytes,
		      "the area holds less than the cache");
	}
	(void)sizes;
	drain_and_check("cache bounds");
	CHECK(areas[0].live_bytes == 0, "cache bounds: %ld bytes still mapped", areas[0].live_bytes);
}

static void test_expiry(void)
{
	phase = "test_expiry";
	setup("64K-=interleave", 0);
	struct shim_pool *pool = &shim_route_table.rules[0].pools[0];
	/* A block of its own (cached whole) and a piece (its region empty). */
	void *p = large_malloc((size_t)64 << 20, 16), *piece = large_malloc((size_t)8 << 20, 16);
	large_free(p);
	large_free(piece);
	CHECK(pool->num_cached == 1, "one block cached");
	CHECK(pool->heap.empty_regions == 1 && pool->heap.num_regions == 1, "one empty region kept");
	struct timespec pause = {1, 200 * 1000 * 1000};
	nanosleep(&pause, NULL);
	/* Any activity of the pool gives the expired block and region back. */
	void *q = large_malloc((size_t)64 << 10, 16);
	CHECK(pool->num_cached == 0, "an expired block stayed cached");
	CHECK(areas[0].unmaps == 2, "the expired block and region were not unmapped (%ld unmaps)", areas[0].unmaps);
	large_free(q);
	drain_and_check("expiry");
}

static void test_alignment_and_realloc(void)
{
	phase = "test_alignment_and_realloc";
	setup("64K-1M=interleave;1M-=bind:0", 0);
	for (size_t align = 16; align <= ((size_t)2 << 20); align <<= 1) {
		void *p = large_malloc((size_t)100 << 10, align);
		CHECK(p && ((uintptr_t)p & (align - 1)) == 0, "alignment %zu: %p", align, p);
		CHECK(shim_large_usable(shim_registry_lookup(p)) >= ((size_t)100 << 10), "usable");
		fill(p, (size_t)100 << 10, 7);
		large_free(p);
	}
	/* Shrink in place, grow by remap (same rule), move to another rule. */
	void *p = large_malloc((size_t)2 << 20, 16);
	fill(p, (size_t)2 << 20, 3);
	void *q = large_realloc(p, (size_t)3 << 19); /* 1.5M: in place */
	CHECK(q == p, "shrink to 1.5M moved the block");
	fill(q, (size_t)3 << 19, 4);
	void *r = large_realloc(q, (size_t)64 << 20);
	CHECK(r != NULL, "grow to 64M");
	verify(r, (size_t)3 << 19, 4, "grow");
	CHECK(shim_route_table.rules[1].remaps + shim_route_table.rules[1].moves == 1, "grow: remaps %lu, moves %lu",
	      shim_route_table.rules[1].remaps, shim_route_table.rules[1].moves);
	fill(r, (size_t)200 << 10, 5);
	void *s = large_realloc(r, (size_t)200 << 10); /* to the 64K-1M rule */
	CHECK(s != NULL, "shrink across rules");
	verify(s, (size_t)200 << 10, 5, "move across rules");
	CHECK(shim_registry_lookup(s)->pool->route == &shim_route_table.rules[0], "moved to the 64K-1M rule");
	large_free(s);
	CHECK(shim_route_table.rules[0].live == 0 && shim_route_table.rules[1].live == 0, "live bytes left: %lu %lu",
	      shim_route_table.rules[0].live, shim_route_table.rules[1].live);
	drain_and_check("realloc");
}

/* The program's munmap: the shim forgets the range, then the kernel unmaps. */
static void program_munmap(void *addr, size_t len)
{
	shim_large_unmap_range(addr, len);
	CHECK(aml_os_munmap(addr, len) == 0, "munmap %p %zu", addr, len);
}

static void test_mmap_kind(void)
{
	phase = "test_mmap_kind";
	setup("64K-=interleave", 0);
	const size_t MiB = (size_t)1 << 20;
	size_t len = 4 * MiB;
	char *p = shim_large_mmap(&shim_route_table.rules[0], len);
	CHECK(p != NULL, "placed mmap");
	struct shim_block *block = shim_registry_lookup(p);
	CHECK(block && block->kind == SHIM_BLOCK_MMAP, "mmap block");
	CHECK(shim_mmap_live_blocks == 1, "live placed mappings %lu", shim_mmap_live_blocks);
	memset(p, 1, len);
	/* The program trims the head: the block now starts after it. */
	program_munmap(p, MiB);
	char *rest = p + MiB;
	CHECK(shim_registry_lookup(p) == NULL, "trimmed head still registered");
	CHECK(shim_registry_lookup(rest) == block, "rest not registered");
	CHECK(rest[0] == 1 && rest[3 * MiB - 1] == 1, "content after trim");
	/* A hole in the middle: the block splits in two. */
	program_munmap(rest + MiB, MiB);
	struct shim_block *tail = shim_registry_lookup(rest + 2 * MiB);
	CHECK(tail && tail != block && tail->kind == SHIM_BLOCK_MMAP && tail->mapped == MiB, "tail after a hole");
	CHECK(block->mapped == MiB, "head after a hole: %zu", block->mapped);
	CHECK(shim_mmap_live_blocks == 2, "live placed mappings %lu after a split", shim_mmap_live_blocks);
	/* The tail grows with mremap. */
	char *moved = shim_large_mremap(tail, 4 * MiB, MREMAP_MAYMOVE, NULL);
	CHECK(moved != MAP_FAILED, "mremap");
	CHECK(moved[0] == 1, "content after mremap");
	CHECK(shim_registry_lookup(moved) == tail, "registry after mremap");
	/* Both go, in one munmap each. */
	program_munmap(rest, MiB);
	program_munmap(moved, 4 * MiB);
	CHECK(shim_registry_lookup(rest) == NULL && shim_registry_lookup(moved) == NULL, "registry after munmap");
	CHECK(shim_mmap_live_blocks == 0, "live placed mappings %lu at the end", shim_mmap_live_blocks);
	CHECK(shim_route_table.rules[0].live == 0, "live after munmap: %lu", shim_route_table.rules[0].live);
	/* The area mapped p; the program unmapped it behind the area's back
	 * (that is what munmap interposition is): drop the area's record. */
	shim_lock(&areas[0].lock);
	areas[0].num_live = 0;
	areas[0].live_bytes = 0;
	shim_unlock(&areas[0].lock);
}

static void test_refusal(void)
{
	phase = "test_refusal";
	/* Fallback: the rule's area refuses, the kernel default serves. */
	setup("64K-=interleave", 0);
	areas[0].fail = 1;
	void *p = large_malloc((size_t)1 << 20, 16);
	CHECK(p != NULL, "fallback allocation");
	CHECK(shim_route_table.rules[0].fallbacks == 1, "fallbacks %lu", shim_route_table.rules[0].fallbacks);
	struct shim_block *block = shim_registry_lookup(p);
	CHECK(block->pool == &shim_route_table.rules[0].fallback, "served by the fallback pool");
	large_free(p);
	drain_and_check("fallback");
	/* Strict: NULL with ENOMEM, and the record goes back. */
	setup("64K-=interleave", 1);
	areas[0].fail = 1;
	struct shim_block *before = free_records;
	errno = 0;
	CHECK(large_malloc((size_t)1 << 20, 16) == NULL, "strict: allocation must fail");
	CHECK(errno == ENOMEM, "strict: errno %d", errno);
	CHECK(free_records == before, "strict: a block record leaked");
	/* Sizes the address space cannot hold. */
	areas[0].fail = 0;
	errno = 0;
	CHECK(large_malloc(SIZE_MAX - 4096, 16) == NULL && errno == ENOMEM, "SIZE_MAX - 4096");
	errno = 0;
	CHECK(large_malloc(SIZE_MAX / 2, (size_t)1 << 21) == NULL && errno == ENOMEM, "SIZE_MAX / 2");
	errno = 0;
	CHECK(large_malloc((size_t)1 << 46, 16) == NULL && errno == ENOMEM, "64 TiB");
	CHECK(free_records == before, "huge sizes: a block record leaked");
	CHECK(areas[0].live_bytes == 0, "huge sizes: %ld bytes mapped", areas[0].live_bytes);
}

struct worker {
	pthread_t thread;
	unsigned seed;
};

static void *hammer(void *arg)
{
	struct worker *w = arg;
	enum { RING = 16 };
	void *ring[RING] = {0};
	size_t sizes[RING] = {0};
	unsigned seeds[RING] = {0};
	for (int i = 0; i < 800; i++) {
		unsigned slot = (unsigned)rand_r(&w->seed) % RING;
		if (ring[slot]) {
			verify(ring[slot], sizes[slot], seeds[slot], "threads");
			large_free(ring[slot]);
			ring[slot] = NULL;
		} else {
			size_t size = ((size_t)64 << 10) + (size_t)rand_r(&w->seed) % ((size_t)3 << 19);
			ring[slot] = large_malloc(size, 16);
			CHECK(ring[slot] != NULL, "thread malloc");
			sizes[slot] = size;
			seeds[slot] = (unsigned)i * 31u + slot;
			fill(ring[slot], size, seeds[slot]);
		}
	}
	for (int slot = 0; slot < RING; slot++)
		if (ring[slot])
			large_free(ring[slot]);
	return NULL;
}

static void test_threads(void)
{
	phase = "test_threads";
	setup("64K-1M=interleave;1M-=local", 0);
	struct worker workers[8];
	threaded = 1;
	for (int i = 0; i < 8; i++) {
		workers[i].seed = 1234u + (unsigned)i * 77u;
		CHECK(pthread_create(&workers[i].thread, NULL, hammer, &workers[i]) == 0, "pthread_create");
	}
	for (int i = 0; i < 8; i++)
		pthread_join(workers[i].thread, NULL);
	threaded = 0;
	CHECK(shim_route_table.rules[0].live == 0 && shim_route_table.rules[1].live == 0, "live bytes after threads: %lu %lu",
	      shim_route_table.rules[0].live, shim_route_table.rules[1].live);
	CHECK(sampler.live == 0, "global live %lu", sampler.live);
	drain_and_check("threads");
	CHECK(areas[0].live_bytes == 0 && areas[1].live_bytes == 0, "threads: areas not empty");
}

/* Random operations against a shadow table of what should be live. */
static void test_model(void)
{
	phase = "test_model";
	setup("64K-256K=interleave;256K-4M=local;4M-=bind:0", 0);
	enum { SLOTS = 64 };
	void *ptrs[SLOTS] = {0};
	size_t sizes[SLOTS] = {0};
	unsigned seeds[SLOTS] = {0};
	unsigned rng = 42;
	for (int i = 0; i < 5000; i++) {
		int slot = (int)((unsigned)rand_r(&rng) % SLOTS);
		/* Mostly within the first two rules, one in eight beyond 4M. */
		size_t span = rand_r(&rng) % 8 ? (size_t)1 << 20 : (size_t)6 << 20;
		size_t size = ((size_t)64 << 10) + (size_t)rand_r(&rng) % span;
		int op = rand_r(&rng) % 3;
		if (!ptrs[slot]) {
			size_t align = (size_t)16 << (rand_r(&rng) % 9); /* up to a page: see counting_find */
			ptrs[slot] = large_malloc(size, align);
			CHECK(ptrs[slot] && ((uintptr_t)ptrs[slot] & (align - 1)) == 0, "model malloc");
			sizes[slot] = size;
			seeds[slot] = (unsigned)i;
			fill(ptrs[slot], size, seeds[slot]);
		} else if (op == 0) {
			verify(ptrs[slot], sizes[slot], seeds[slot], "model free");
			large_free(ptrs[slot]);
			ptrs[slot] = NULL;
		} else {
			verify(ptrs[slot], sizes[slot], seeds[slot], "model realloc");
			void *fresh = large_realloc(ptrs[slot], size);
			CHECK(fresh != NULL, "model realloc to %zu", size);
			size_t kept = sizes[slot] < size ? sizes[slot] : size;
			size_t check = kept;
			const unsigned char *b = fresh;
			for (size_t k = 0; k + 1 < check; k += 4093)
				CHECK(b[k] == (unsigned char)(seeds[slot] + k / 4093), "model: realloc lost content");
			ptrs[slot] = fresh;
			sizes[slot] = size;
			seeds[slot] = (unsigned)i;
			fill(fresh, size, seeds[slot]);
		}
	}
	for (int slot = 0; slot < SLOTS; slot++)
		if (ptrs[slot])
			large_free(ptrs[slot]);
	for (int r = 0; r < shim_route_table.count; r++)
		CHECK(shim_route_table.rules[r].live == 0, "model: rule %d has %lu live bytes", r, shim_route_table.rules[r].live);
	drain_and_check("model");
	for (int r = 0; r < shim_route_table.count; r++)
		CHECK(areas[r].live_bytes == 0, "model: rule %d area holds %ld bytes", r, areas[r].live_bytes);
}

int main(void)
{
	test_reuse();
	test_cache_bounds();
	test_expiry();
	test_alignment_and_realloc();
	test_mmap_kind();
	test_refusal();
	test_threads();
	test_model();
	printf("shim large path: reuse, cache bounds, expiry, alignment, realloc, mmap kind, refusal, "
	       "8 threads x 800, 5000 random operations: ok\n");
	return 0;
}
