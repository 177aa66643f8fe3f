/* What each of the shim's heaps holds, for the malloc extras: the private
 * jemalloc's arenas (from its statistics) and the large pools (from their
 * blocks), summed for mallinfo2, listed one by one for malloc_stats and
 * malloc_info, and trimmed for malloc_trim. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jemalloc_api.h"
#include "malloc_heaps.h"
#include "pool.h"
#include "routes.h"
#include "shim.h"
#include "small_tcache.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define ALL_ARENAS STRINGIFY(MALLCTL_ARENAS_ALL)

/* Every path to jemalloc's statistics passes here: it starts jemalloc
 * the shim's way (small.c) if nothing has yet. */
int shim_heaps_usable(void)
{
	if (!shim_ready() || shim_locks_held != 0)
		return 0;
	shim_small_open();
	return 1;
}

static void heap_add(struct shim_heap *sum, const struct shim_heap *h)
{
	sum->system += h->system;
	sum->in_use += h->in_use;
	sum->free_count += h->free_count;
	sum->releasable += h->releasable;
	sum->blocks += h->blocks;
}

size_t shim_heap_free(const struct shim_heap *h)
{
	return h->system > h->in_use ? h->system - h->in_use : 0;
}

static size_t ctl_size(const char *name)
{
	size_t value = 0, len = sizeof(value);
	return je_mallctl(name, &value, &len, NULL, 0) == 0 ? value : 0;
}

static unsigned ctl_unsigned(const char *name)
{
	unsigned value = 0;
	size_t len = sizeof(value);
	return je_mallctl(name, &value, &len, NULL, 0) == 0 ? value : 0;
}

/* jemalloc's statistics are a snapshot taken at each new epoch. */
static void refresh_small_stats(void)
{
	uint64_t epoch = 1;
	size_t len = sizeof(epoch);
	je_mallctl("epoch", &epoch, &len, &epoch, len);
}

/* One jemalloc arena (or all: "ALL_ARENAS"): resident pages (its metadata,
 * pages of live objects and unused dirty pages), allocated bytes (jemalloc
 * size classes; objects in thread caches count as allocated), dirty pages. */
static struct shim_heap small_heap(const char *arena)
{
	char name[96];
	struct shim_heap h = {0, 0, 0, 0, 0};
	snprintf(name, sizeof(name), "stats.arenas.%s.resident", arena);
	h.system = ctl_size(name);
	snprintf(name, sizeof(name), "stats.arenas.%s.small.allocated", arena);
	h.in_use = ctl_size(name);
	snprintf(name, sizeof(name), "stats.arenas.%s.large.allocated", arena);
	h.in_use += ctl_size(name);
	snprintf(name, sizeof(name), "stats.arenas.%s.pdirty", arena);
	h.releasable = ctl_size(name) * ctl_size("arenas.page");
	return h;
}

/* One large pool: its live blocks from malloc (not the program's own
 * mmaps: glibc would not count those either), its cached blocks and its
 * regions (the live pieces in them and the free ones). */
static struct shim_heap pool_heap(struct shim_pool *pool)
{
	struct shim_heap h = {0, 0, 0, 0, 0};
	shim_lock(&pool->lock);
	for (const struct shim_block *b = pool->live; b; b = b->next) {
		if (b->kind != SHIM_BLOCK_MALLOC)
			continue;
		h.blocks++;
		if (!b->region) /* pieces: counted with their regions */
			h.system += b->mapped;
		h.in_use += b->requested;
	}
	h.free_count = (size_t)pool->num_cached + (size_t)pool->heap.num_free;
	h.system += pool->cached_bytes + pool->heap.region_bytes;
	/* What trim gives back: free pieces' pages that may be resident. */
	h.releasable = pool->cached_bytes + pool->heap.resident_free;
	shim_unlock(&pool->lock);
	return h;
}

static void sum_pool(struct shim_pool *pool, const struct shim_route *route, int node, void *ctx)
{
	(void)route, (void)node;
	struct shim_heap h = pool_heap(pool);
	heap_add((struct shim_heap *)ctx, &h);
}

void shim_heaps_gather(struct shim_heap_totals *t, struct mallinfo2 glibc)
{
	memset(t, 0, sizeof(*t));
	t->glibc = glibc;
	if (!shim_heaps_usable())
		return;
	t->shim = 1;
	refresh_small_stats();
	t->small = small_heap(ALL_ARENAS);
	shim_large_for_each_pool(sum_pool, &t->large);
}

/* The program's in-use bytes are uordblks (+ hblkhd for glibc's own
 * mmapped chunks), as under glibc; arena = uordblks + fordblks. */
struct mallinfo2 shim_heaps_mallinfo2(const struct shim_heap_totals *t)
{
	struct mallinfo2 info = t->glibc;
	info.arena += t->small.system + t->large.system;
	info.ordblks += t->large.free_count;
	info.uordblks += t->small.in_use + t->large.in_use;
	info.fordblks += shim_heap_free(&t->small) + shim_heap_free(&t->large);
	info.keepcost += t->small.releasable + t->large.releasable;
	return info;
}

/* This thread's jemalloc caches, every arena's unused dirty pages (forced
 * purge: MADV_DONTNEED) and every pool's cached blocks (unmapped). */
int shim_heaps_trim(void)
{
	je_mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
	shim_small_tcache_flush();
	refresh_small_stats();
	size_t dirty = ctl_size("stats.arenas." ALL_ARENAS ".pdirty") + ctl_size("stats.arenas." ALL_ARENAS ".pmuzzy");
	je_mallctl("arena." ALL_ARENAS ".purge", NULL, NULL, NULL, 0);
	size_t unmapped = shim_large_trim();
	return dirty > 0 || unmapped > 0;
}

/* ---- One heap at a time ----------------------------------------------------- */

/* What a pool serves, for people: "sizes 1M- interleave", its node. */
static void describe_pool(char *buf, size_t len, const struct shim_route *route, int node)
{
	const struct amlshim_rule *rule = route->rule;
	char max[32] = "";
	if (rule->max != SIZE_MAX)
		snprintf(max, sizeof(max), "%zu", rule->max);
	int n = snprintf(buf, len, "sizes %zu-%s, %s", rule->min, max,
	                 route == &shim_route_table.implicit ? "no rule (kernel default)" : rule->placement.text);
	if (n < 0 || (size_t)n >= len)
		return;
	if (node < 0 && route != &shim_route_table.implicit)
		snprintf(buf + n, len - (size_t)n, ", kernel-default fallback");
	else if (node >= 0 && route->per_node)
		snprintf(buf + n, len - (size_t)n, ", from node %d", node);
}

struct walk {
	void (*each)(const struct shim_heap_entry *, void *);
	void *ctx;
	int nr;
};

static void walk_pool(struct shim_pool *pool, const struct shim_route *route, int node, void *ctx)
{
	struct walk *walk = ctx;
	struct shim_heap_entry entry = {.nr = walk->nr, .kind = SHIM_HEAP_LARGE, .heap = pool_heap(pool)};
	if (!entry.heap.system)
		return;
	char what[300];
	describe_pool(what, sizeof(what), route, node);
	entry.pool = what;
	walk->nr++;
	walk->each(&entry, walk->ctx);
}

/* jemalloc's arena indexes run from 0 to arenas.narenas; some are not
 * created. The first opt.narenas are jemalloc's own. */
static int small_arena_exists(unsigned index)
{
	char name[64];
	_Bool initialized = 0;
	size_t len = sizeof(initialized);
	snprintf(name, sizeof(name), "arena.%u.initialized", index);
	return je_mallctl(name, &initialized, &len, NULL, 0) == 0 && initialized;
}

void shim_heaps_walk(const struct shim_heap_totals *t, void (*each)(const struct shim_heap_entry *, void *),
                     void *ctx)
{
	struct shim_heap_entry glibc = {.kind = SHIM_HEAP_GLIBC,
	                                .heap = {t->glibc.arena, t->glibc.uordblks, t->glibc.ordblks, t->glibc.keepcost, 0}};
	each(&glibc, ctx);
	struct walk walk = {each, ctx, 1};
	unsigned automatic = ctl_unsigned("opt.narenas");
	for (unsigned i = 0, count = ctl_unsigned("arenas.narenas"); i < count; i++) {
		if (!small_arena_exists(i))
			continue;
		char index[16], name[64];
		snprintf(index, sizeof(index), "%u", i);
		snprintf(name, sizeof(name), "stats.arenas.%u.nthreads", i);
		struct shim_heap_entry arena = {.nr = walk.nr++, .kind = i < automatic ? SHIM_HEAP_JEMALLOC : SHIM_HEAP_SMALL,
		                                .arena = i, .threads = ctl_unsigned(name), .heap = small_heap(index)};
		each(&arena, ctx);
	}
	shim_large_for_each_pool(walk_pool, &walk);
}
