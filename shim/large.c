/* Large allocations: malloc, free, realloc and malloc_usable_size of the
 * sizes a rule (or the implicit route) sends to a pool, each a whole
 * number of pages with its own record in the registry. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "budget.h"
#include "dispatch.h"
#include "init.h"
#include "large.h"
#include "log.h"
#include "os.h"
#include "shim.h"
#include "site_rules.h"

/* Areas that place by populating (block-interleave's eager path: blocks
 * that are not one huge page, over two or more nodes) make a whole
 * allocation resident at once. Programs often malloc far more than they touch (sort
 * sizes its buffer from RAM): past half the available memory, the kernel
 * default serves instead, lazily. */
#define POPULATE_CHECK_BYTES ((size_t)64 << 20)

static int populate_fits(struct shim_route *route, size_t need)
{
	if (need <= aml_os_available_memory() / 2)
		return 1;
	if (!aml_os_could_map(need))
		return 0; /* fails anywhere: nothing to say (see shim_pool_map_block) */
	shim_count(&route->fallbacks, 1);
	if (!__atomic_exchange_n(&route->warned_populate, 1, __ATOMIC_RELAXED))
		shim_log(AMLSHIM_LOG_WARN, "%s: a %zu MiB allocation is more than half the available memory; "
		         "%s (said once)", route->rule->placement.text, need >> 20,
		         shim_process.policy.strict ? "AMLSHIM_STRICT=1: it fails" : "it gets the kernel default instead of being populated");
	return 0;
}

/* An over-sized mapping made for a large alignment gives its slack back,
 * where the area's memory is plain mappings (not registered, not CUDA). */
static void trim_to_alignment(const struct shim_route *route, struct shim_block *block, size_t size,
                              size_t alignment)
{
	uintptr_t base = (uintptr_t)block->base, end = base + block->mapped;
	uintptr_t ptr = (base + alignment - 1) & ~(uintptr_t)(alignment - 1);
	uintptr_t used_end = ptr + ((size + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1));
	if (ptr > base)
		aml_os_munmap((void *)base, ptr - base);
	if (end > used_end)
		aml_os_munmap((void *)used_end, end - used_end);
	if (SHIM_UNLIKELY(shim_share_route(route))) {
		shim_share_release((void *)base, ptr - base);
		shim_share_release((void *)used_end, end - used_end);
	}
	block->base = (void *)ptr;
	block->mapped = used_end - ptr;
}

void *shim_large_alloc(struct shim_route *route, size_t size, size_t alignment, int zero)
{
	shim_stats_maybe_sample();
	if (alignment < SHIM_PAGE)
		alignment = SHIM_PAGE;
	struct shim_pool *pool = shim_route_pool(route);
	alignment = shim_pages_alignment(route, alignment); /* +thp: huge pages */
	size_t extra = alignment - SHIM_PAGE;
	if (size > SIZE_MAX - extra - SHIM_PAGE) {
		errno = ENOMEM;
		return NULL;
	}
	size_t need = shim_pages_need(route, (size + extra + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1), extra);
	if (SHIM_UNLIKELY(route->populates && need >= POPULATE_CHECK_BYTES) && !populate_fits(route, need)) {
		if (shim_process.policy.strict) { /* strict: no placement, no allocation */
			errno = ENOMEM;
			return NULL;
		}
		pool = &route->fallback;
	}

	if (shim_pool_splits(pool) && need - extra <= SHIM_PIECE_MAX && alignment <= SHIM_PIECE_MAX_ALIGN)
		return shim_pool_alloc_piece(pool, size, alignment, zero);
	struct shim_block *block = shim_pool_take(pool, need);
	if (block) {
		shim_count(&route->reuses, 1);
		void *ptr = shim_pool_hand_out(pool, block, size, alignment, SHIM_BLOCK_MALLOC);
		if (ptr && zero)
			memset(ptr, 0, size);
		return ptr;
	}
	block = shim_block_new();
	if (!block) {
		errno = ENOMEM;
		return NULL;
	}
	if (!(shim_pages_hugetlb(&route->pages) ? shim_pages_map_huge(&pool, block, need)
	                                        : shim_pool_map_block(&pool, block, need))) {
		shim_block_delete(block);
		errno = ENOMEM;
		return NULL;
	}
	if (extra && pool->placed.can_remap && !shim_pages_keep_slack(&route->pages))
		trim_to_alignment(route, block, size, alignment);
	return shim_pool_hand_out(pool, block, size, alignment, SHIM_BLOCK_MALLOC);
}

void shim_large_free(struct shim_block *block)
{
	shim_stats_maybe_sample();
	shim_registry_set(block->ptr, NULL);
	if (SHIM_UNLIKELY(block->site))
		shim_sites_free(block);
	shim_stats_sub_live(block->pool->route, block->requested);
	shim_pool_put(block->pool, block);
}

/* The program now holds size bytes of a block that stays where it is. */
static void *resized(struct shim_block *block, size_t size)
{
	struct shim_route *route = block->pool->route;
	if (size >= block->requested)
		shim_stats_add_live(route, size - block->requested);
	else
		shim_stats_sub_live(route, block->requested - size);
	block->requested = size;
	return block->ptr;
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
	shim_pool_drop_lazy(block->pool);
	void *moved = aml_os_mremap(block->base, block->mapped, need, MREMAP_MAYMOVE, NULL);
	if (moved == MAP_FAILED) {
		shim_registry_set(block->ptr, block);
		return NULL;
	}
	struct shim_route *route = block->pool->route;
	shim_stats_sub_live(route, block->requested);
	block->base = block->ptr = moved;
	block->mapped = need;
	block->requested = size;
	shim_registry_set(moved, block);
	shim_stats_remap(route, size);
	return moved;
}

static int room_to_grow(const struct shim_pool *pool, const struct shim_block *block, size_t size)
{
	/* Under +share, a block moves by copy: its budget stays by address. */
	if (SHIM_UNLIKELY(shim_share_route(pool->route)))
		return 0;
	return size <= block->mapped || amlshim_resolved_fits(&pool->placed, size - block->mapped);
}

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/* A piece that cannot grow inside its region leaves it without a copy: its
 * pages move to a mapping of their own, which grows (mremap keeps the
 * region's policy for both); MREMAP_DONTUNMAP leaves the region whole,
 * that range empty, and it goes back to the free set. Linux 5.7 on; NULL
 * before, or when anything fails (the caller copies). */
static void *unplug_piece(struct shim_block *piece, size_t size)
{
	AML_KEEP_ERRNO; /* a failure here is no failure of realloc: it copies */
	size_t need = (size + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1);
	struct shim_block *block = shim_block_new();
	if (!block)
		return NULL;
	shim_pool_drop_lazy(piece->pool);
	void *moved = aml_os_mremap(piece->base, piece->mapped, piece->mapped, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	void *grown = moved == MAP_FAILED ? MAP_FAILED : aml_os_mremap(moved, piece->mapped, need, MREMAP_MAYMOVE, NULL);
	void *grown_at = NULL;
	if (grown != MAP_FAILED && shim_registry_set(grown, block) != 0) {
		moved = grown_at = grown; /* no room in the registry: back, as before growing */
		grown = MAP_FAILED;
	}
	if (grown == MAP_FAILED) {
		/* The bytes go back by copy: the range is still mapped, placed as
		 * its region, where an mremap back may fail too (it would need
		 * another VMA) and leave the piece empty or unmapped. */
		if (moved != MAP_FAILED) {
			memcpy(piece->base, moved, piece->mapped);
			aml_os_munmap(moved, moved == grown_at ? need : piece->mapped);
		}
		shim_block_delete(block);
		return NULL;
	}
	struct shim_pool *pool = piece->pool;
	*block = (struct shim_block){.ptr = grown, .base = grown, .mapped = need, .requested = size, .pool = pool};
	shim_registry_set(piece->ptr, NULL);
	shim_lock(&pool->lock);
	shim_pool_live_insert(pool, block);
	shim_unlock(&pool->lock);
	shim_stats_sub_live(pool->route, piece->requested);
	shim_stats_remap(pool->route, size);
	shim_pool_put_piece(pool, piece, 0); /* its pages went with it */
	return grown;
}

void *shim_large_realloc(struct shim_block *block, size_t size)
{
	struct shim_route *target = size >= shim_process.large_min ? shim_route_for(size) : NULL;
	struct shim_pool *pool = block->pool;
	if (target == pool->route && block->kind == SHIM_BLOCK_MALLOC && !block->site) { /* a site's: moves, recounted */
		size_t usable = shim_large_usable(block);
		if (size <= usable && size >= usable / 2)
			return resized(block, size);
		/* A piece grows into its free neighbour (counted as a remap: no
		 * copy) or gives its tail back; else it may leave its region. */
		if (block->region && shim_pool_resize_piece(block, size)) {
			if (size > usable) {
				shim_stats_sub_live(pool->route, block->requested);
				shim_stats_remap(pool->route, size);
				block->requested = size;
				return block->ptr;
			}
			return resized(block, size);
		}
		if (block->region && size > usable && room_to_grow(pool, block, size)) {
			void *moved = unplug_piece(block, size);
			if (moved)
				return moved;
		}
		/* Growing in place on bound nodes that cannot take the growth
		 * would end in the OOM killer: the move below asks the area. */
		if (pool->placed.can_remap && !block->region && block->base == block->ptr &&
		    room_to_grow(pool, block, size)) {
			void *moved = remap_block(block, size);
			if (moved)
				return moved;
		}
	}
	void *fresh = shim_malloc(size); /* routed again: another rule, a class or the plain path */
	if (!fresh)
		return NULL;
	/* Every byte malloc_usable_size promised, not only those first asked
	 * for: programs grow into that slack. */
	size_t usable = shim_large_usable(block);
	memcpy(fresh, block->ptr, usable < size ? usable : size);
	shim_count(&pool->route->moves, 1);
	shim_large_free(block);
	return fresh;
}
