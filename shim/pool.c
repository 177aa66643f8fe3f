/* Pools: the only code that reaches an area. Each pool maps and unmaps
 * through its area, keeps a few freed blocks for reuse (so a malloc/free
 * loop costs no mmap/munmap), and gives them back to the kernel when they
 * sit unused for a second, the pool holds too much, or malloc_trim asks. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
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
#define CACHE_MAX_AGE_NS 1000000000ULL

/* Locks this thread holds (shim_lock counts them). */
SHIM_TLS int shim_locks_held;

static void *area_map(struct shim_pool *pool, size_t size)
{
	/* CUDA and hwloc allocate: this thread's own calls take the plain path. */
	shim_thread_busy++;
	void *ptr = aml_area_mmap(amlshim_resolved_area(&pool->placed), size, NULL);
	shim_thread_busy--;
	return ptr;
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

/* Drops cached blocks that are too old; they are unmapped by the caller. */
static int take_expired(struct shim_pool *pool, struct shim_block **out, unsigned long long now)
{
	int count = 0;
	for (int i = 0; i < pool->num_cached;) {
		if (now - pool->cached_at[i] > CACHE_MAX_AGE_NS)
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

/* Hands a pool's cached blocks back to the kernel; adds their bytes. */
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
	struct shim_block *expired[CACHE_SLOTS];
	shim_lock(&pool->lock);
	struct shim_block *block = take_cached(pool, need);
	int num_expired = take_expired(pool, expired, aml_os_now_ns());
	shim_unlock(&pool->lock);
	release(pool, expired, num_expired);
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
	if (block->prev)
		block->prev->next = block->next;
	else
		pool->live = block->next;
	if (block->next)
		block->next->prev = block->prev;
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
		area_unmap(pool, block->base, block->mapped);
		shim_block_delete(block);
		errno = ENOMEM;
		return NULL;
	}
	shim_lock(&pool->lock);
	shim_pool_live_insert(pool, block);
	shim_unlock(&pool->lock);
	shim_stats_alloc(pool->route, size, kind);
	return block->ptr;
}

/* The area could not place an allocation (bound nodes full, a device out
 * of memory): said once per rule, then counted in the report. */
static void warn_unplaced(struct shim_route *route, size_t need, int err)
{
	if (__atomic_exchange_n(&route->warned_unplaced, 1, __ATOMIC_RELAXED))
		return;
	shim_log(AMLSHIM_LOG_WARN, "%s: a %zu KiB allocation could not be placed (%s); %s (said once)",
	         route->rule->placement.text, need >> 10, aml_strerror(err),
	         shim_process.policy.strict ? "AMLSHIM_STRICT=1: it fails with ENOMEM" : "it gets the kernel default");
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
			if (aml_os_could_map(need)) {
				shim_count(&route->fallbacks, 1);
				warn_unplaced(route, need, err);
			}
			return NULL;
		}
		*pool = &route->fallback;
		base = area_map(*pool, need);
		if (base) {
			shim_count(&route->fallbacks, 1);
			warn_unplaced(route, need, err);
		}
	}
	block->base = base;
	block->mapped = need;
	return base;
}

void shim_pool_put(struct shim_pool *pool, struct shim_block *block)
{
	struct shim_block *expired[CACHE_SLOTS + 1];
	int num_expired;
	int cacheable = block->kind == SHIM_BLOCK_MALLOC && block->mapped <= CACHE_MAX_BYTES;
	/* Past the resident allowance the pages are advised before the block
	 * enters the cache: once there, another thread may take it and write,
	 * and a later MADV_FREE could let the kernel drop those writes. The
	 * unlocked read can only let the allowance drift a block's worth. */
	int lazy = cacheable &&
	           __atomic_load_n(&pool->resident_cached, __ATOMIC_RELAXED) + block->mapped >
	                   __atomic_load_n(&shim_large_resident_allowance, __ATOMIC_RELAXED);
	if (lazy && !pool->placed.is_cuda) {
		AML_KEEP_ERRNO; /* refused before Linux 4.5: the block is only cached resident */
		aml_os_madvise(block->base, block->mapped, MADV_FREE);
	}
	unsigned long long now = aml_os_now_ns();
	shim_lock(&pool->lock);
	shim_pool_live_remove(pool, block);
	num_expired = take_expired(pool, expired, now);
	if (cacheable && pool->num_cached == CACHE_SLOTS) {
		/* Full: the oldest block goes back to the kernel. */
		int oldest = 0;
		for (int i = 1; i < pool->num_cached; i++)
			if (pool->cached_at[i] < pool->cached_at[oldest])
				oldest = i;
		expired[num_expired++] = uncache(pool, oldest);
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
	release(pool, expired, num_expired);
	if (block) {
		area_unmap(pool, block->base, block->mapped);
		shim_block_delete(block);
	}
}
