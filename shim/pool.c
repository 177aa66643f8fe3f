/* Pools: the only code that reaches an area. Each pool maps and unmaps
 * through its area. Requests up to SHIM_PIECE_MAX, where the area allows
 * (shim_pool_splits), are pieces of regions the pool maps (large_heap.c
 * splits and merges them; here the mapping, advising and unmapping, never
 * under the lock). Larger blocks, and those of areas that cannot split,
 * have a mapping each, and a few freed ones are kept whole for reuse (so a
 * malloc/free loop costs no mmap/munmap; where the pool splits, only those
 * over SHIM_PIECE_MAX). Freed memory goes
 * back to the kernel when it sits unused for a second, the pool holds too
 * much, or malloc_trim asks. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "init.h"
#include "log.h"
#include "os.h"
#include "pool.h"
#include "registry.h"
#include "routes.h"
#include "shim.h"
#include "stats.h"

#define CACHE_SLOTS SHIM_CACHE_SLOTS
#define CACHE_MAX_BYTES ((size_t)1 << 30)
/* Freed blocks kept resident per pool (as glibc keeps chunks up to 32 MiB
 * in its heap); beyond that they are MADV_FREE'd, which costs a TLB flush
 * but lets a quiet program keep nothing. mallopt(M_TRIM_THRESHOLD) sets it. */
size_t shim_large_resident_allowance = (size_t)32 << 20;
int shim_large_allowance_set;
#define CACHE_MAX_AGE_NS 1000000000ULL

/* Locks this thread holds (shim_lock counts them). */
SHIM_TLS int shim_locks_held;

static void *area_map(struct shim_pool *pool, size_t size)
{
	/* CUDA and hwloc allocate: this thread's own calls take the plain path. */
	shim_thread_busy++;
	void *ptr = aml_area_mmap(amlshim_resolved_area(&pool->placed), size, NULL);
	shim_thread_busy--;
	return shim_pages_advised(&pool->route->pages, ptr, size); /* +thp, +nothp */
}

static void area_unmap(struct shim_pool *pool, void *base, size_t size)
{
	shim_thread_busy++;
	aml_area_munmap(amlshim_resolved_area(&pool->placed), base, size);
	shim_thread_busy--;
}

/* A block leaves the cache: its bytes no longer count there. */
static void uncache_bytes(struct shim_pool *pool, const struct shim_block *block)
{
	pool->cached_bytes -= block->mapped;
	if (!block->lazy)
		pool->resident_cached -= block->mapped;
}

/* Cache slot i leaves the cache; the last slot takes its place. */
static struct shim_block *uncache(struct shim_pool *pool, int i)
{
	struct shim_block *block = pool->cache[i];
	uncache_bytes(pool, block);
	pool->num_cached--;
	pool->cache[i] = pool->cache[pool->num_cached];
	pool->cached_at[i] = pool->cached_at[pool->num_cached];
	return block;
}

/* Drops cached blocks that are too old (or lazy ones, with lazy); they are
 * unmapped by the caller. */
static int take_expired(struct shim_pool *pool, struct shim_block **out, unsigned long long now, int lazy)
{
	int count = 0;
	for (int i = 0; i < pool->num_cached;) {
		if (now - pool->cached_at[i] > CACHE_MAX_AGE_NS || (lazy && pool->cache[i]->lazy))
			out[count++] = uncache(pool, i);
		else
			i++;
	}
	return count;
}

static void release(struct shim_pool *pool, struct shim_block **blocks, int count)
{
	for (int i = 0; i < count; i++) {
		area_unmap(pool, blocks[i]->base, blocks[i]->mapped);
		shim_block_delete(blocks[i]);
	}
}

static size_t trim_heap(struct shim_pool *pool);
static void settle(struct shim_pool *pool, struct shim_heap_out *s);

/* Under the lock, cached blocks and free pieces unused for a second leave;
 * expire_after gives them back. */
struct expiry {
	struct shim_block *blocks[CACHE_SLOTS + 1];
	int count;
	struct shim_heap_out heap;
};

static void expire(struct shim_pool *pool, struct expiry *e, unsigned long long now, int lazy)
{
	e->count = take_expired(pool, e->blocks, now, lazy && shim_pool_splits(pool));
	e->heap = (struct shim_heap_out){.advice = MADV_FREE, .keep_empty = 1};
	shim_heap_collect(&pool->heap, now, CACHE_MAX_AGE_NS, &e->heap);
}

static void expire_after(struct shim_pool *pool, struct expiry *e)
{
	release(pool, e->blocks, e->count);
	settle(pool, &e->heap);
}

/* Hands a pool's cached blocks and free pieces back to the kernel; adds
 * their bytes. */
static void trim_pool(struct shim_pool *pool, const struct shim_route *route, int node, void *released)
{
	(void)route;
	(void)node;
	struct shim_block *blocks[CACHE_SLOTS];
	shim_lock(&pool->lock);
	int count = pool->num_cached;
	for (int i = 0; i < count; i++) {
		blocks[i] = pool->cache[i];
		*(size_t *)released += blocks[i]->mapped;
	}
	pool->num_cached = 0;
	pool->cached_bytes = pool->resident_cached = 0;
	shim_unlock(&pool->lock);
	release(pool, blocks, count);
	*(size_t *)released += trim_heap(pool);
}

/* malloc_trim: every pool hands its cached blocks back to the kernel now.
 * Returns the bytes unmapped. */
size_t shim_large_trim(void)
{
	size_t released = 0;
	shim_large_for_each_pool(trim_pool, &released);
	return released;
}

/* A cached block no more than a quarter larger than needed. */
static struct shim_block *take_cached(struct shim_pool *pool, size_t need)
{
	int best = -1;
	for (int i = 0; i < pool->num_cached; i++) {
		size_t have = pool->cache[i]->mapped;
		if (have >= need && have - need <= need / 4 && (best < 0 || have < pool->cache[best]->mapped))
			best = i;
	}
	return best < 0 ? NULL : uncache(pool, best);
}

struct shim_block *shim_pool_take(struct shim_pool *pool, size_t need)
{
	struct expiry e;
	shim_lock(&pool->lock);
	struct shim_block *block = take_cached(pool, need);
	expire(pool, &e, aml_os_now_ns(), !block); /* a miss: new pages (see shim_pool_drop_lazy) */
	shim_unlock(&pool->lock);
	expire_after(pool, &e);
	return block;
}

void shim_pool_live_insert(struct shim_pool *pool, struct shim_block *block)
{
	block->prev = NULL;
	block->next = pool->live;
	if (pool->live)
		pool->live->prev = block;
	pool->live = block;
}

void shim_pool_live_remove(struct shim_pool *pool, struct shim_block *block)
{
	shim_block_unlink(&pool->live, block);
}

void *shim_pool_hand_out(struct shim_pool *pool, struct shim_block *block, size_t size, size_t alignment,
                         int kind)
{
	uintptr_t ptr = ((uintptr_t)block->base + alignment - 1) & ~(uintptr_t)(alignment - 1);
	block->ptr = (void *)ptr;
	block->requested = size;
	block->pool = pool;
	block->kind = (uint8_t)kind;
	if (shim_registry_set(block->ptr, block) != 0) {
		if (block->region) {
			shim_lock(&pool->lock);
			shim_heap_put(&pool->heap, block, block->mapped, aml_os_now_ns());
			shim_unlock(&pool->lock);
		} else {
			area_unmap(pool, block->base, block->mapped);
			shim_block_delete(block);
		}
		errno = ENOMEM;
		return NULL;
	}
	shim_lock(&pool->lock);
	shim_pool_live_insert(pool, block);
	shim_unlock(&pool->lock);
	shim_stats_alloc(pool->route, size, kind);
	return block->ptr;
}

void *shim_pool_map_block(struct shim_pool **pool, struct shim_block *block, size_t need)
{
	void *base = area_map(*pool, need);
	if (!base && *pool != &(*pool)->route->fallback) {
		struct shim_route *route = (*pool)->route;
		int err = aml_errno;
		/* A size no memory could hold fails without a word, as with
		 * glibc: only a placement that failed where the kernel default
		 * would not is worth a warning and a fallback. */
		if (shim_process.policy.strict) {
			if (aml_os_could_map(need))
				shim_pool_unplaced(route, need, err);
			return NULL;
		}
		*pool = &route->fallback;
		base = area_map(*pool, need);
		if (base)
			shim_pool_unplaced(route, need, err);
	}
	block->base = base;
	block->mapped = need;
	return base;
}

void shim_pool_put(struct shim_pool *pool, struct shim_block *block)
{
	if (block->region) {
		shim_pool_put_piece(pool, block, block->mapped);
		return;
	}
	struct expiry e;
	int cacheable = block->kind == SHIM_BLOCK_MALLOC && block->mapped <= CACHE_MAX_BYTES;
	/* Past the resident allowance the pages are advised before the block
	 * enters the cache: once there, another thread may take it and write,
	 * and a later MADV_FREE could let the kernel drop those writes. The
	 * unlocked read can only let the allowance drift a block's worth. */
	int lazy = cacheable &&
	           __atomic_load_n(&pool->resident_cached, __ATOMIC_RELAXED) + block->mapped >
	                   __atomic_load_n(&shim_large_resident_allowance, __ATOMIC_RELAXED);
	/* Where the pool splits, only a request over SHIM_PIECE_MAX takes a
	 * cached block: smaller ones (pieces that left their region to grow)
	 * go back now. */
	if (shim_pool_splits(pool) && block->mapped <= SHIM_PIECE_MAX)
		cacheable = lazy = 0;
	if (lazy && !pool->placed.is_cuda) {
		AML_KEEP_ERRNO; /* refused before Linux 4.5: the block is only cached resident */
		aml_os_madvise(block->base, block->mapped, MADV_FREE);
	}
	unsigned long long now = aml_os_now_ns();
	shim_lock(&pool->lock);
	shim_pool_live_remove(pool, block);
	expire(pool, &e, now, 0);
	if (cacheable && pool->num_cached == CACHE_SLOTS) {
		/* Full: the oldest block goes back to the kernel. */
		int oldest = 0;
		for (int i = 1; i < pool->num_cached; i++)
			if (pool->cached_at[i] < pool->cached_at[oldest])
				oldest = i;
		e.blocks[e.count++] = uncache(pool, oldest);
	}
	if (cacheable && pool->cached_bytes + block->mapped <= CACHE_MAX_BYTES) {
		/* The kernel may take the pages back whenever it wants them (a
		 * quiet program keeps nothing); reused before that, they cost no
		 * fault. */
		block->lazy = (uint8_t)lazy;
		if (!lazy)
			pool->resident_cached += block->mapped;
		pool->cache[pool->num_cached] = block;
		pool->cached_at[pool->num_cached++] = now;
		pool->cached_bytes += block->mapped;
		block = NULL;
	}
	shim_unlock(&pool->lock);
	expire_after(pool, &e);
	if (block) {
		area_unmap(pool, block->base, block->mapped);
		shim_block_delete(block);
	}
}

/* ---- Pieces of regions -------------------------------------------------- */

/* The system calls for what left the heap; held pieces come back, none
 * resident, and may merge into regions to unmap. */
static void settle(struct shim_pool *pool, struct shim_heap_out *s)
{
	while (s->num_empty || s->num_held) {
		for (int i = 0; i < s->num_empty; i++) {
			s->released += s->empty[i]->mapped;
			area_unmap(pool, s->empty[i]->base, s->empty[i]->mapped);
			shim_block_delete(s->empty[i]);
		}
		s->num_empty = 0;
		if (!s->num_held)
			return;
		AML_KEEP_ERRNO; /* MADV_FREE refused before Linux 4.5: kept resident */
		for (int i = 0; i < s->num_held; i++)
			aml_os_madvise(s->held[i]->base, s->held[i]->mapped, s->advice);
		shim_lock(&pool->lock);
		for (int i = 0; i < s->num_held; i++) {
			struct shim_block *held = s->held[i];
			shim_heap_drop_surplus(&pool->heap, shim_heap_put(&pool->heap, held, 0, held->freed_at), s);
		}
		s->num_held = 0;
		shim_unlock(&pool->lock);
	}
}

/* A new region for need bytes at alignment, through *pool's area (or the
 * fallback's: *pool then names it); the piece taken from it, or NULL. */
static struct shim_block *new_region_piece(struct shim_pool **pool, size_t need, size_t alignment, int regions)
{
	struct shim_block *region = shim_block_new(), *first = region ? shim_block_new() : NULL;
	size_t want = need + alignment - SHIM_PAGE, size = shim_pool_region_size(*pool, regions, want);
	void *base = NULL;
	if (first && size > want)
		base = area_map(*pool, size);
	if (first && !base)
		base = shim_pool_map_block(pool, region, size = want); /* bound nodes short of room: no more */
	if (!base) {
		if (first)
			shim_block_delete(first);
		if (region)
			shim_block_delete(region);
		errno = ENOMEM;
		return NULL;
	}
	region->pool = *pool;
	shim_lock(&(*pool)->lock);
	shim_heap_add_region(&(*pool)->heap, region, first, base, size);
	struct shim_block *piece = shim_heap_take(&(*pool)->heap, need, alignment);
	shim_unlock(&(*pool)->lock);
	if (!piece)
		errno = ENOMEM;
	return piece;
}

void *shim_pool_alloc_piece(struct shim_pool *pool, size_t size, size_t alignment, int zero)
{
	size_t need = (size + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1);
	struct expiry e;
	shim_lock(&pool->lock);
	expire(pool, &e, aml_os_now_ns(), 0); /* first: a quiet program's regions go */
	struct shim_block *piece = shim_heap_take(&pool->heap, need, alignment);
	if (!piece) /* a new region: lazily cached blocks go first (see shim_pool_drop_lazy) */
		e.count += take_expired(pool, e.blocks + e.count, aml_os_now_ns(), 1);
	int regions = pool->heap.num_regions;
	shim_unlock(&pool->lock);
	expire_after(pool, &e);
	if (!piece && !(piece = new_region_piece(&pool, need, alignment, regions)))
		return NULL;
	if (SHIM_UNLIKELY(pool->placed.bound) && !shim_pool_piece_fits(pool, piece)) {
		shim_lock(&pool->lock);
		shim_heap_untake(&pool->heap, piece);
		shim_unlock(&pool->lock);
		if (shim_process.policy.strict) {
			shim_pool_unplaced(pool->route, need, AML_ENOMEM);
			errno = ENOMEM;
			return NULL;
		}
		void *ptr = shim_pool_alloc_piece(&pool->route->fallback, size, alignment, zero);
		if (ptr)
			shim_pool_unplaced(pool->route, need, AML_ENOMEM);
		return ptr;
	}
	int clean = piece->clean;
	if (!clean)
		shim_count(&pool->route->reuses, 1);
	void *ptr = shim_pool_hand_out(pool, piece, size, alignment, SHIM_BLOCK_MALLOC);
	if (ptr && zero && !clean)
		memset(ptr, 0, size);
	return ptr;
}

/* Whether resident more bytes of free pieces would pass the bound; the
 * unlocked read lets it drift by a piece. */
static int over_bound(const struct shim_pool *pool, size_t more)
{
	return __atomic_load_n(&pool->heap.resident_free, __ATOMIC_RELAXED) + more > shim_heap_resident_bound(&pool->heap);
}

void shim_pool_put_piece(struct shim_pool *pool, struct shim_block *piece, size_t resident)
{
	/* Advised while still the program's, as cached blocks (shim_pool_put). */
	size_t advised = resident && over_bound(pool, resident) ? piece->mapped : 0;
	if (advised) {
		AML_KEEP_ERRNO;
		aml_os_madvise(piece->base, piece->mapped, MADV_FREE);
		resident = 0;
	}
	struct expiry e;
	unsigned long long now = aml_os_now_ns();
	shim_lock(&pool->lock);
	shim_pool_live_remove(pool, piece);
	expire(pool, &e, now, 0);
	shim_heap_drop_surplus(&pool->heap, shim_heap_put(&pool->heap, piece, resident, now), &e.heap);
	shim_heap_sweep_lazy(&pool->heap, advised, &e.heap);
	shim_unlock(&pool->lock);
	expire_after(pool, &e);
}

int shim_pool_resize_piece(struct shim_block *piece, size_t size)
{
	struct shim_pool *pool = piece->pool;
	if (size > SHIM_PIECE_MAX)
		return 0;
	size_t need = (size + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1), tail = 0;
	if (need > piece->mapped && SHIM_UNLIKELY(pool->placed.bound) && !shim_pool_growth_fits(pool, piece, need))
		return 0; /* the caller moves it: to the kernel default, as a new piece would go */
	if (need < piece->mapped) {
		tail = piece->mapped - need;
		if (over_bound(pool, tail)) {
			AML_KEEP_ERRNO;
			aml_os_madvise((char *)piece->base + need, tail, MADV_FREE);
			tail = 0;
		}
	}
	shim_lock(&pool->lock);
	int done = need > piece->mapped ? shim_heap_grow(&pool->heap, piece, need)
	           : need < piece->mapped ? shim_heap_shrink(&pool->heap, piece, need, tail, aml_os_now_ns())
	                                  : 1;
	shim_unlock(&pool->lock);
	return done;
}

/* malloc_trim: a pool's wholly free regions go, the resident pages of its
 * free pieces are given back. Returns the bytes. */
static size_t trim_heap(struct shim_pool *pool)
{
	struct shim_heap_out s = {.advice = MADV_DONTNEED, .keep_empty = 0};
	int found;
	do {
		shim_lock(&pool->lock);
		found = shim_heap_collect(&pool->heap, 0, 0, &s);
		shim_unlock(&pool->lock);
		settle(pool, &s);
	} while (found);
	return s.released;
}
