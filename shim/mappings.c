/* The program's own mappings: private anonymous mmaps a rule selects are
 * placed through the rule's pool and kept as blocks of the mmap kind;
 * munmap and mremap of such a range cut or move its block. */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>

#include "budget.h"
#include "init.h"
#include "mappings.h"
#include "os.h"
#include "pool.h"
#include "registry.h"
#include "routes.h"
#include "shim.h"
#include "stats.h"

/* Placed mappings the program holds: munmap looks for them only when some
 * exist, so programs that never mmap through a rule pay nothing. */
unsigned long shim_mmap_live_blocks;

void *shim_large_mmap(struct shim_route *route, size_t len)
{
	struct shim_pool *pool = shim_route_pool(route);
	if (pool->placed.is_cuda)
		return NULL;
	shim_stats_maybe_sample();
	struct shim_block *block = shim_block_new();
	if (!block)
		return NULL;
	size_t need = (len + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1);
	if (!shim_pool_map_block(&pool, block, need)) {
		shim_block_delete(block);
		/* Strict: the placement failed, so the mapping does. */
		return shim_process.policy.strict ? MAP_FAILED : NULL;
	}
	void *ptr = shim_pool_hand_out(pool, block, need, SHIM_PAGE, SHIM_BLOCK_MMAP);
	if (ptr)
		__atomic_add_fetch(&shim_mmap_live_blocks, 1, __ATOMIC_RELAXED);
	return ptr;
}

static void forget_range(struct shim_block *block, size_t bytes)
{
	size_t gone = bytes < block->requested ? bytes : block->requested;
	block->requested -= gone;
	shim_stats_sub_live(block->pool->route, gone);
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
		shim_pool_live_remove(pool, block);
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
			shim_stats_add_live(pool->route, tail->requested);
			shim_pool_live_insert(pool, tail);
			shim_registry_set(tail->ptr, tail);
			__atomic_add_fetch(&shim_mmap_live_blocks, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

struct unmap_range {
	uintptr_t start, end;
};

static void unmap_in_pool(struct shim_pool *pool, const struct shim_route *route, int node, void *ctx)
{
	const struct unmap_range *range = ctx;
	struct shim_block *gone[16];
	int num_gone = 0;
	(void)route;
	(void)node;
	shim_lock(&pool->lock);
	for (struct shim_block *b = pool->live, *next; b && num_gone < 16; b = next) {
		next = b->next;
		uintptr_t first = (uintptr_t)b->ptr;
		if (b->kind == SHIM_BLOCK_MMAP && first < range->end && first + b->mapped > range->start) {
			struct shim_block *deleted = cut_block(pool, b, range->start, range->end);
			if (deleted)
				gone[num_gone++] = deleted;
		}
	}
	shim_unlock(&pool->lock);
	for (int i = 0; i < num_gone; i++)
		shim_block_delete(gone[i]);
}

void shim_large_unmap_range(void *addr, size_t len)
{
	if (((uintptr_t)addr & (SHIM_PAGE - 1)) || len == 0 || len > SIZE_MAX - SHIM_PAGE)
		return; /* the kernel refuses it */
	struct unmap_range range = {(uintptr_t)addr, (uintptr_t)addr + ((len + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1))};
	shim_stats_maybe_sample();
	shim_routes_for_each_pool(unmap_in_pool, &range);
	if (SHIM_UNLIKELY(shim_share_active))
		shim_share_release(addr, range.end - range.start);
}

void *shim_large_mremap(struct shim_block *block, size_t new_len, int flags, void *new_addr)
{
	struct shim_pool *pool = block->pool;
	shim_lock(&pool->lock);
	shim_registry_set(block->ptr, NULL); /* before the old range is released */
	void *moved = aml_os_mremap(block->ptr, block->mapped, new_len, flags, new_addr);
	if (moved != MAP_FAILED && SHIM_UNLIKELY(shim_share_route(pool->route)))
		shim_share_release(block->ptr, block->mapped); /* moved: no longer counted */
	if (moved == MAP_FAILED) {
		shim_registry_set(block->ptr, block);
	} else {
		size_t mapped = (new_len + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1);
		forget_range(block, block->requested);
		block->ptr = block->base = moved;
		block->mapped = block->requested = mapped;
		shim_stats_add_live(pool->route, mapped);
		shim_registry_set(moved, block);
	}
	shim_unlock(&pool->lock);
	return moved;
}
