/* The large path: sizes a rule selects are served through the rule's area.
 * Each area has a pool that keeps a few freed blocks for reuse (so a
 * malloc/free loop costs no mmap/munmap) and gives them back to the kernel
 * when they sit unused for a second or the pool holds too much. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <aml/area/linux.h>
#include "resolve.h"
#include "shim.h"
#include "large.h"

#define CACHE_SLOTS SHIM_CACHE_SLOTS
#define CACHE_MAX_BYTES ((size_t)1 << 30)
/* Freed blocks kept resident per pool (as glibc keeps chunks up to 32 MiB
 * in its heap); beyond that they are MADV_FREE'd, which costs a TLB flush
 * but lets a quiet program keep nothing. mallopt(M_TRIM_THRESHOLD) sets it. */
size_t shim_large_resident_allowance = (size_t)32 << 20;
#define CACHE_MAX_AGE_NS 1000000000ULL

struct shim_route shim_routes[AMLSHIM_MAX_RULES];
int shim_num_routes;
/* With no rule at all, sizes from the threshold on still take this path,
 * with the kernel default: the pool reuses a freed block where jemalloc
 * would purge every large block at free and fault it in again at the next
 * malloc. It is not a rule: the report does not list it, and the program's
 * own mmaps (nothing to place) bypass it. */
static struct amlshim_rule implicit_rule;
struct shim_route shim_implicit_route;
int shim_implicit_active;
static unsigned long global_live, sampled_peak_live;
static int sample_due, sampling;
long shim_node_pages_peak[SHIM_MAX_NODES];

SHIM_TLS int shim_locks_held;

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

static void add(unsigned long *counter, unsigned long value)
{
	__atomic_add_fetch(counter, value, __ATOMIC_RELAXED);
}

int shim_large_init(void)
{
	shim_num_routes = shim_policy.num_rules;
	for (int i = 0; i < shim_num_routes; i++) {
		struct shim_route *route = &shim_routes[i];
		route->rule = &shim_policy.rules[i];
		route->fallback.route = route;
		route->fallback.can_remap = 1;
		for (int n = 0; n < SHIM_MAX_NODES; n++)
			route->pools[n].route = route;
	}
	/* Only when AMLSHIM_SMALL is the default too: its placement covers
	 * every size no rule claims, and jemalloc's extents carry it. */
	shim_implicit_active = 0;
	if (shim_num_routes == 0 && shim_policy.small.kind == AMLSHIM_PLACE_DEFAULT && shim_policy.errors == 0) {
		implicit_rule.min = shim_policy.threshold < SHIM_LARGE_FLOOR ? SHIM_LARGE_FLOOR : shim_policy.threshold;
		implicit_rule.max = SIZE_MAX;
		implicit_rule.placement.kind = AMLSHIM_PLACE_DEFAULT;
		struct shim_route *route = &shim_implicit_route;
		route->rule = &implicit_rule;
		route->fallback.route = route;
		route->fallback.can_remap = 1;
		route->use_fallback = 1; /* the kernel default: no area to resolve */
		route->ready = 1;
		shim_implicit_active = 1;
	}
	return 0;
}

int shim_route_small_class(const struct shim_route *route)
{
	return route->small_class;
}

void shim_route_count_small(struct shim_route *route, size_t size)
{
	add(&route->count, 1);
	add(&route->bytes, size);
	add(&route->small_allocs, 1);
}

struct shim_route *shim_route_for(size_t size)
{
	const struct amlshim_rule *rule = amlshim_policy_rule_for(&shim_policy, size);
	if (!rule)
		return shim_implicit_active && size >= implicit_rule.min ? &shim_implicit_route : NULL;
	return &shim_routes[rule - shim_policy.rules];
}

/* The pool serving this thread: per node for rankings seen from a CPU. */
static struct shim_pool *pool_for(struct shim_route *route)
{
	if (!__atomic_load_n(&route->ready, __ATOMIC_ACQUIRE) || route->use_fallback)
		return &route->fallback;
	if (!route->per_node)
		return &route->pools[0];
	int node = shim_os_current_node();
	if (node < 0 || node >= SHIM_MAX_NODES || !route->pools[node].present)
		node = route->first_node;
	return &route->pools[node];
}

static const struct aml_area *area_of(const struct shim_pool *pool)
{
	return pool->area ? pool->area : &aml_area_linux;
}

/* Areas that place by populating (block-interleave's eager path: blocks
 * that are not one huge page, over two or more nodes) make a whole
 * allocation resident at once. Programs often malloc far more than they touch (sort
 * sizes its buffer from RAM): past half the available memory, the kernel
 * default serves instead, lazily. */
#define POPULATE_CHECK_BYTES ((size_t)64 << 20)

static int populate_fits(struct shim_route *route, size_t need)
{
	if (need <= shim_os_available_memory() / 2)
		return 1;
	if (!shim_os_could_map(need))
		return 0; /* fails anywhere: nothing to say (see map_block) */
	add(&route->fallbacks, 1);
	if (!__atomic_exchange_n(&route->warned_populate, 1, __ATOMIC_RELAXED))
		shim_log(AMLSHIM_LOG_WARN, "%s: a %zu MiB allocation is more than half the available memory; "
		         "%s (said once)", route->rule->placement.text, need >> 20,
		         shim_policy.strict ? "AMLSHIM_STRICT=1: it fails" : "it gets the kernel default instead of being populated");
	return 0;
}

static void *area_map(struct shim_pool *pool, size_t size)
{
	/* CUDA and hwloc allocate: this thread's own calls take the plain path. */
	shim_thread_busy++;
	void *ptr = aml_area_mmap(area_of(pool), size, NULL);
	shim_thread_busy--;
	return ptr;
}

static void area_unmap(struct shim_pool *pool, void *base, size_t size)
{
	shim_thread_busy++;
	aml_area_munmap(area_of(pool), base, size);
	shim_thread_busy--;
}

/* A block leaves the cache: its bytes no longer count there. */
static void uncache_bytes(struct shim_pool *pool, const struct shim_block *block)
{
	pool->cached_bytes -= block->mapped;
	if (!block->lazy)
		pool->resident_cached -= block->mapped;
}

/* Drops cached blocks that are too old; they are unmapped by the caller. */
static int take_expired(struct shim_pool *pool, struct shim_block **out, unsigned long long now)
{
	int count = 0;
	for (int i = 0; i < pool->num_cached;) {
		if (now - pool->cached_at[i] > CACHE_MAX_AGE_NS) {
			out[count++] = pool->cache[i];
			uncache_bytes(pool, pool->cache[i]);
			pool->num_cached--;
			pool->cache[i] = pool->cache[pool->num_cached];
			pool->cached_at[i] = pool->cached_at[pool->num_cached];
		} else {
			i++;
		}
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

/* Every pool of the large path: the implicit route's (when active), then
 * each route's kernel-default fallback (node -1) and area pools (one per
 * node for rankings). */
void shim_large_for_each_pool(shim_pool_visit visit, void *ctx)
{
	for (int r = -1; r < shim_num_routes; r++) {
		struct shim_route *route = r < 0 ? &shim_implicit_route : &shim_routes[r];
		if (r < 0 && !shim_implicit_active)
			continue;
		for (int p = -1; p < SHIM_MAX_NODES; p++) {
			struct shim_pool *pool = p < 0 ? &route->fallback : &route->pools[p];
			if (p >= 0 && !pool->present)
				continue;
			visit(pool, route, p, ctx);
		}
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
	struct shim_block *best = NULL;
	int best_i = -1;
	for (int i = 0; i < pool->num_cached; i++) {
		size_t have = pool->cache[i]->mapped;
		if (have >= need && have - need <= need / 4 && (!best || have < best->mapped)) {
			best = pool->cache[i];
			best_i = i;
		}
	}
	if (best) {
		uncache_bytes(pool, best);
		pool->num_cached--;
		pool->cache[best_i] = pool->cache[pool->num_cached];
		pool->cached_at[best_i] = pool->cached_at[pool->num_cached];
	}
	return best;
}

static void live_insert(struct shim_pool *pool, struct shim_block *block)
{
	block->prev = NULL;
	block->next = pool->live;
	if (pool->live)
		pool->live->prev = block;
	pool->live = block;
}

static void live_remove(struct shim_pool *pool, struct shim_block *block)
{
	if (block->prev)
		block->prev->next = block->next;
	else
		pool->live = block->next;
	if (block->next)
		block->next->prev = block->prev;
}

static void account_alloc(struct shim_route *route, size_t size, int kind)
{
	add(&route->count, 1);
	add(&route->bytes, size);
	if (kind == SHIM_BLOCK_MMAP)
		add(&route->mmaps, 1);
	unsigned long live = __atomic_add_fetch(&route->live, size, __ATOMIC_RELAXED);
	unsigned long peak = __atomic_load_n(&route->peak, __ATOMIC_RELAXED);
	while (live > peak && !__atomic_compare_exchange_n(&route->peak, &peak, live, 1,
	                                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	unsigned long total = __atomic_add_fetch(&global_live, size, __ATOMIC_RELAXED);
	if (total > sampled_peak_live + sampled_peak_live / 8)
		__atomic_store_n(&sample_due, 1, __ATOMIC_RELAXED);
}

/* The peak per node is the most pages any sample saw there: a sample taken
 * at a new high of live bytes may come before the program touched them,
 * so every later sample (the report's own included) can raise it. */
void shim_large_note_peak(const long *pages)
{
	for (int n = 0; n < SHIM_MAX_NODES; n++) {
		long seen = __atomic_load_n(&shim_node_pages_peak[n], __ATOMIC_RELAXED);
		while (pages[n] > seen && !__atomic_compare_exchange_n(&shim_node_pages_peak[n], &seen, pages[n], 1,
		                                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
	}
}

/* Samples where the pages of every live block are, after a new high of
 * live bytes, at the next large allocation, free or munmap. */
static void maybe_sample_peak(void)
{
	if (!__atomic_load_n(&sample_due, __ATOMIC_RELAXED) || __atomic_exchange_n(&sampling, 1, __ATOMIC_ACQUIRE))
		return;
	unsigned long live = __atomic_load_n(&global_live, __ATOMIC_RELAXED);
	if (live > sampled_peak_live) {
		long pages[SHIM_MAX_NODES] = {0};
		shim_large_sample_nodes(pages);
		shim_large_note_peak(pages);
		sampled_peak_live = live;
	}
	__atomic_store_n(&sample_due, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&sampling, 0, __ATOMIC_RELEASE);
}

/* An over-sized mapping made for a large alignment gives its slack back,
 * where the area's memory is plain mappings (not registered, not CUDA). */
static void trim_to_alignment(struct shim_block *block, size_t size, size_t alignment)
{
	uintptr_t base = (uintptr_t)block->base, end = base + block->mapped;
	uintptr_t ptr = (base + alignment - 1) & ~(uintptr_t)(alignment - 1);
	uintptr_t used_end = ptr + ((size + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1));
	if (ptr > base)
		shim_os_munmap((void *)base, ptr - base);
	if (end > used_end)
		shim_os_munmap((void *)used_end, end - used_end);
	block->base = (void *)ptr;
	block->mapped = used_end - ptr;
}

static void *finish_alloc(struct shim_pool *pool, struct shim_block *block, size_t size,
                          size_t alignment, int kind)
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
	live_insert(pool, block);
	shim_unlock(&pool->lock);
	account_alloc(pool->route, size, kind);
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
	         shim_policy.strict ? "AMLSHIM_STRICT=1: it fails with ENOMEM" : "it gets the kernel default");
}

static void *map_block(struct shim_pool **pool, struct shim_block *block, size_t need)
{
	void *base = area_map(*pool, need);
	if (!base && *pool != &(*pool)->route->fallback) {
		struct shim_route *route = (*pool)->route;
		int err = aml_errno;
		/* A size no memory could hold fails without a word, as with
		 * glibc: only a placement that failed where the kernel default
		 * would not is worth a warning and a fallback. */
		if (shim_policy.strict) {
			if (shim_os_could_map(need)) {
				add(&route->fallbacks, 1);
				warn_unplaced(route, need, err);
			}
			return NULL;
		}
		*pool = &route->fallback;
		base = area_map(*pool, need);
		if (base) {
			add(&route->fallbacks, 1);
			warn_unplaced(route, need, err);
		}
	}
	block->base = base;
	block->mapped = need;
	return base;
}

void *shim_large_alloc(struct shim_route *route, size_t size, size_t alignment, int zero)
{
	maybe_sample_peak();
	if (alignment < SHIM_PAGE)
		alignment = SHIM_PAGE;
	struct shim_pool *pool = pool_for(route);
	size_t extra = alignment - SHIM_PAGE;
	if (size > SIZE_MAX - extra - SHIM_PAGE) {
		errno = ENOMEM;
		return NULL;
	}
	size_t need = (size + extra + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1);
	if (SHIM_UNLIKELY(route->populates && need >= POPULATE_CHECK_BYTES) && !populate_fits(route, need)) {
		if (shim_policy.strict) { /* strict: no placement, no allocation */
			errno = ENOMEM;
			return NULL;
		}
		pool = &route->fallback;
	}

	struct shim_block *expired[CACHE_SLOTS];
	shim_lock(&pool->lock);
	struct shim_block *block = take_cached(pool, need);
	int num_expired = take_expired(pool, expired, now_ns());
	shim_unlock(&pool->lock);
	release(pool, expired, num_expired);

	if (block) {
		add(&route->reuses, 1);
		void *ptr = finish_alloc(pool, block, size, alignment, SHIM_BLOCK_MALLOC);
		if (ptr && zero)
			memset(ptr, 0, size);
		return ptr;
	}
	block = shim_block_new();
	if (!block) {
		errno = ENOMEM;
		return NULL;
	}
	if (!map_block(&pool, block, need)) {
		shim_block_delete(block);
		errno = ENOMEM;
		return NULL;
	}
	if (extra && pool->can_remap)
		trim_to_alignment(block, size, alignment);
	return finish_alloc(pool, block, size, alignment, SHIM_BLOCK_MALLOC);
}

static void account_free(struct shim_block *block)
{
	struct shim_route *route = block->pool->route;
	__atomic_sub_fetch(&route->live, block->requested, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&global_live, block->requested, __ATOMIC_RELAXED);
}

void shim_large_free(struct shim_block *block)
{
	maybe_sample_peak();
	struct shim_pool *pool = block->pool;
	shim_registry_set(block->ptr, NULL);
	account_free(block);

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
	if (lazy && !pool->is_cuda)
		madvise(block->base, block->mapped, MADV_FREE);
	unsigned long long now = now_ns();
	shim_lock(&pool->lock);
	live_remove(pool, block);
	num_expired = take_expired(pool, expired, now);
	if (cacheable && pool->num_cached == CACHE_SLOTS) {
		/* Full: the oldest block goes back to the kernel. */
		int oldest = 0;
		for (int i = 1; i < pool->num_cached; i++)
			if (pool->cached_at[i] < pool->cached_at[oldest])
				oldest = i;
		expired[num_expired++] = pool->cache[oldest];
		uncache_bytes(pool, pool->cache[oldest]);
		pool->num_cached--;
		pool->cache[oldest] = pool->cache[pool->num_cached];
		pool->cached_at[oldest] = pool->cached_at[pool->num_cached];
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

size_t shim_large_usable(const struct shim_block *block)
{
	return (size_t)((char *)block->base + block->mapped - (char *)block->ptr);
}

/* Moves a block in place with mremap: the kernel keeps the range's policy
 * for the moved and the grown part alike. */
static void *remap_block(struct shim_block *block, size_t size)
{
	size_t need = (size + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1);
	/* Unregistered first: once mremap releases the old range, another
	 * thread's new block may land there and register itself. */
	shim_registry_set(block->ptr, NULL);
	void *moved = shim_os_mremap(block->base, block->mapped, need, MREMAP_MAYMOVE, NULL);
	if (moved == MAP_FAILED) {
		shim_registry_set(block->ptr, block);
		return NULL;
	}
	struct shim_pool *pool = block->pool;
	account_free(block);
	block->base = block->ptr = moved;
	block->mapped = need;
	block->requested = size;
	shim_registry_set(moved, block);
	struct shim_route *route = pool->route;
	add(&route->remaps, 1);
	unsigned long live = __atomic_add_fetch(&route->live, size, __ATOMIC_RELAXED);
	unsigned long peak = __atomic_load_n(&route->peak, __ATOMIC_RELAXED);
	while (live > peak && !__atomic_compare_exchange_n(&route->peak, &peak, live, 1,
	                                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	__atomic_add_fetch(&global_live, size, __ATOMIC_RELAXED);
	return moved;
}

static int room_to_grow(const struct shim_pool *pool, const struct shim_block *block, size_t size)
{
	/* Only a Linux area can bind here (fits says yes to its other policies). */
	if (!pool->area || pool->area->ops->mmap != aml_area_linux_mmap || size <= block->mapped)
		return 1;
	return aml_area_linux_fits((const struct aml_area_linux_data *)pool->area->data, size - block->mapped);
}

void *shim_large_realloc(struct shim_block *block, size_t size)
{
	struct shim_route *target = size >= shim_large_min ? shim_route_for(size) : NULL;
	struct shim_pool *pool = block->pool;
	if (target == pool->route && block->kind == SHIM_BLOCK_MALLOC) {
		size_t usable = shim_large_usable(block);
		if (size <= usable && size >= usable / 2) {
			__atomic_add_fetch(&pool->route->live, size - block->requested, __ATOMIC_RELAXED);
			__atomic_add_fetch(&global_live, size - block->requested, __ATOMIC_RELAXED);
			block->requested = size;
			return block->ptr;
		}
		/* Growing in place on bound nodes that cannot take the growth
		 * would end in the OOM killer: the move below asks the area. */
		if (pool->can_remap && block->base == block->ptr && room_to_grow(pool, block, size)) {
			void *moved = remap_block(block, size);
			if (moved)
				return moved;
		}
	}
	void *fresh = malloc(size); /* routed again: another rule, a class or the plain path */
	if (!fresh)
		return NULL;
	/* Every byte malloc_usable_size promised, not only those first asked
	 * for: programs grow into that slack. */
	size_t usable = shim_large_usable(block);
	memcpy(fresh, block->ptr, usable < size ? usable : size);
	add(&pool->route->moves, 1);
	shim_large_free(block);
	return fresh;
}

void *shim_large_mmap(struct shim_route *route, size_t len)
{
	struct shim_pool *pool = pool_for(route);
	if (pool->is_cuda)
		return NULL;
	maybe_sample_peak();
	struct shim_block *block = shim_block_new();
	if (!block)
		return NULL;
	size_t need = (len + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1);
	if (!map_block(&pool, block, need)) {
		shim_block_delete(block);
		/* Strict: the placement failed, so the mapping does. */
		return shim_policy.strict ? MAP_FAILED : NULL;
	}
	void *ptr = finish_alloc(pool, block, need, SHIM_PAGE, SHIM_BLOCK_MMAP);
	if (ptr)
		__atomic_add_fetch(&shim_mmap_live_blocks, 1, __ATOMIC_RELAXED);
	return ptr;
}

/* Placed mappings the program holds: munmap looks for them only when some
 * exist, so programs that never mmap through a rule pay nothing. */
unsigned long shim_mmap_live_blocks;

static void forget_range(struct shim_block *block, size_t bytes)
{
	size_t gone = bytes < block->requested ? bytes : block->requested;
	block->requested -= gone;
	__atomic_sub_fetch(&block->pool->route->live, gone, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&global_live, gone, __ATOMIC_RELAXED);
}

/* Cuts [start, end) out of one placed mapping: the whole of it, its head,
 * its tail, or its middle (the block splits in two). Called with the
 * pool locked; returns a block to delete once unlocked, or NULL. */
static struct shim_block *cut_block(struct shim_pool *pool, struct shim_block *block, uintptr_t start,
                                    uintptr_t end)
{
	uintptr_t first = (uintptr_t)block->ptr, last = first + block->mapped;
	if (start <= first && end >= last) {
		shim_registry_set(block->ptr, NULL);
		forget_range(block, block->mapped);
		live_remove(pool, block);
		__atomic_sub_fetch(&shim_mmap_live_blocks, 1, __ATOMIC_RELAXED);
		return block;
	}
	if (start <= first) {
		shim_registry_set(block->ptr, NULL);
		forget_range(block, end - first);
		block->ptr = block->base = (void *)end;
		block->mapped = last - end;
		shim_registry_set(block->ptr, block);
	} else if (end >= last) {
		forget_range(block, last - start);
		block->mapped = start - first;
	} else {
		struct shim_block *tail = shim_block_new();
		forget_range(block, last - start);
		block->mapped = start - first;
		block->requested = block->mapped;
		if (tail) {
			*tail = *block;
			tail->ptr = tail->base = (void *)end;
			tail->mapped = tail->requested = last - end;
			__atomic_add_fetch(&pool->route->live, tail->requested, __ATOMIC_RELAXED);
			__atomic_add_fetch(&global_live, tail->requested, __ATOMIC_RELAXED);
			live_insert(pool, tail);
			shim_registry_set(tail->ptr, tail);
			__atomic_add_fetch(&shim_mmap_live_blocks, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

void shim_large_unmap_range(void *addr, size_t len)
{
	if (((uintptr_t)addr & (SHIM_PAGE - 1)) || len == 0 || len > SIZE_MAX - SHIM_PAGE)
		return; /* the kernel refuses it */
	uintptr_t start = (uintptr_t)addr, end = start + ((len + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1));
	maybe_sample_peak();
	for (int r = 0; r < shim_num_routes; r++) {
		for (int p = -1; p < SHIM_MAX_NODES; p++) {
			struct shim_pool *pool = p < 0 ? &shim_routes[r].fallback : &shim_routes[r].pools[p];
			if (p >= 0 && !pool->present)
				continue;
			struct shim_block *gone[16];
			int num_gone = 0;
			shim_lock(&pool->lock);
			for (struct shim_block *b = pool->live, *next; b && num_gone < 16; b = next) {
				next = b->next;
				uintptr_t first = (uintptr_t)b->ptr;
				if (b->kind == SHIM_BLOCK_MMAP && first < end && first + b->mapped > start) {
					struct shim_block *deleted = cut_block(pool, b, start, end);
					if (deleted)
						gone[num_gone++] = deleted;
				}
			}
			shim_unlock(&pool->lock);
			for (int i = 0; i < num_gone; i++)
				shim_block_delete(gone[i]);
		}
	}
}

void *shim_large_mremap(struct shim_block *block, size_t new_len, int flags, void *new_addr)
{
	struct shim_pool *pool = block->pool;
	shim_lock(&pool->lock);
	shim_registry_set(block->ptr, NULL); /* before the old range is released */
	void *moved = shim_os_mremap(block->ptr, block->mapped, new_len, flags, new_addr);
	if (moved == MAP_FAILED) {
		shim_registry_set(block->ptr, block);
	} else {
		size_t mapped = (new_len + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1);
		forget_range(block, block->requested);
		block->ptr = block->base = moved;
		block->mapped = block->requested = mapped;
		__atomic_add_fetch(&pool->route->live, mapped, __ATOMIC_RELAXED);
		__atomic_add_fetch(&global_live, mapped, __ATOMIC_RELAXED);
		shim_registry_set(moved, block);
	}
	shim_unlock(&pool->lock);
	return moved;
}

/* Pages of every live block, per node: move_pages with no target node
 * reports where each page is. Pages it cannot tell are left out: never
 * touched (or only read: the zero page), and, under the kernel's default
 * policy, pages NUMA balancing is sampling at that moment. Large totals are sampled with an odd stride
 * (so that round-robin patterns do not alias) and scaled back. */
void shim_large_sample_nodes(long *pages_per_node)
{
	enum { BATCH = 256, BUDGET = 1 << 20 };
	unsigned long total = __atomic_load_n(&global_live, __ATOMIC_RELAXED) / SHIM_PAGE;
	unsigned long stride = total > BUDGET ? (total / BUDGET) | 1 : 1;
	void *addrs[BATCH];
	int status[BATCH];
	for (int r = 0; r < shim_num_routes; r++) {
		struct shim_route *route = &shim_routes[r];
		for (int p = -1; p < SHIM_MAX_NODES; p++) {
			struct shim_pool *pool = p < 0 ? &route->fallback : &route->pools[p];
			if (p >= 0 && !pool->present)
				continue;
			shim_lock(&pool->lock);
			for (struct shim_block *b = pool->live; b; b = b->next) {
				if (pool->is_cuda && pool->route->rule->placement.kind == AMLSHIM_PLACE_CUDA_MANAGED)
					continue;
				size_t npages = (b->requested + SHIM_PAGE - 1) / SHIM_PAGE;
				size_t n = 0;
				for (size_t i = 0; i < npages; i += stride) {
					addrs[n++] = (char *)b->ptr + i * SHIM_PAGE;
					if (n == BATCH || i + stride >= npages) {
						if (syscall(SYS_move_pages, 0, n, addrs, NULL, status, 0) == 0)
							for (size_t k = 0; k < n; k++)
								if (status[k] >= 0 && status[k] < SHIM_MAX_NODES)
									pages_per_node[status[k]] += (long)stride;
						n = 0;
					}
				}
			}
			shim_unlock(&pool->lock);
		}
	}
}

void shim_large_after_fork_child(void)
{
	/* Locks held by threads that no longer exist in the child. */
	shim_implicit_route.fallback.lock = 0;
	for (int r = 0; r < shim_num_routes; r++) {
		shim_routes[r].fallback.lock = 0;
		for (int p = 0; p < SHIM_MAX_NODES; p++)
			shim_routes[r].pools[p].lock = 0;
		/* The child reports what it does itself. */
		shim_routes[r].count = shim_routes[r].bytes = shim_routes[r].moves = 0;
		shim_routes[r].remaps = shim_routes[r].reuses = shim_routes[r].fallbacks = 0;
		shim_routes[r].mmaps = shim_routes[r].small_allocs = 0;
		/* CUDA contexts do not survive fork. */
		if (shim_routes[r].is_cuda)
			shim_routes[r].use_fallback = 1;
	}
	sampling = 0;
}
