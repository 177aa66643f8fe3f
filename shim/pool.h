/* Pools (pool.c): a route's memory through one area or the kernel default,
 * the blocks the program holds and the freed ones kept for reuse. */
#ifndef AMLSHIM_POOL_H
#define AMLSHIM_POOL_H

#include <stddef.h>

#include "large_heap.h"
#include "registry.h"
#include "resolve.h"

#define SHIM_CACHE_SLOTS 8

struct shim_route;

struct shim_pool {
	struct amlshim_resolved placed; /* the area and what it can do */
	struct shim_route *route;
	int present;                  /* per-node pools: this node has one */
	int lock;
	struct shim_block *live;      /* blocks the program holds */
	struct shim_block *cache[SHIM_CACHE_SLOTS]; /* freed blocks kept for reuse */
	unsigned long long cached_at[SHIM_CACHE_SLOTS];
	int num_cached;
	size_t cached_bytes;
	size_t resident_cached;       /* of which kept resident */
	struct shim_large_heap heap;  /* regions cut into pieces (large_heap.c) */
};

/* Requests up to this size are pieces of regions, where the pool splits
 * (shim_pool_splits); larger ones keep a mapping of their own. As glibc,
 * whose dynamic mmap threshold stops at 32 MiB. */
#define SHIM_PIECE_MAX ((size_t)32 << 20)
/* Larger alignments take a mapping of their own, trimmed to the block
 * (a region would be mapped for the slack). */
#define SHIM_PIECE_MAX_ALIGN ((size_t)2 << 20)

/* Whether a pool's regions may be cut into pieces. Yes for mbind-based
 * areas (can_remap: the kernel default, local/bind/preferred/interleave,
 * the hwloc rankings): any page-aligned part of an mbind'ed range keeps
 * its policy, interleave included (by page offset in the mapping). Per-node
 * pools are one area per node, so their pieces stay on theirs. No for
 * areas whose placement is made per allocation: block-interleave (its
 * blocks start at each allocation, eager or lazy: can_remap is 0, and
 * populates), CUDA (cudaMalloc'ed or registered memory); theirs stay
 * whole blocks, reused from the cache. */
static inline int shim_pool_splits(const struct shim_pool *pool)
{
	return pool->placed.can_remap && !pool->placed.is_cuda && !pool->placed.populates;
}

/* Maps need bytes for block through *pool's area; where the area cannot
 * place them, through the route's kernel-default pool instead (*pool then
 * names it), or not at all under AMLSHIM_STRICT. Returns the base or NULL. */
void *shim_pool_map_block(struct shim_pool **pool, struct shim_block *block, size_t need);
/* Bound nodes (room.c): an allocation of need bytes the area could not
 * place (err) is counted and said once; the size of a pool's next region,
 * no more than its nodes hold; whether a piece just taken, or a piece's
 * growth in place to need bytes, fits there (what is not resident yet). */
void shim_pool_unplaced(struct shim_route *route, size_t need, int err);
size_t shim_pool_region_size(const struct shim_pool *pool, int regions, size_t want);
int shim_pool_piece_fits(struct shim_pool *pool, const struct shim_block *piece);
int shim_pool_growth_fits(struct shim_pool *pool, const struct shim_block *piece, size_t need);
/* A cached block of need bytes (at most a quarter more), or NULL; blocks
 * cached too long go back to the kernel on the way, and on a miss (need 0
 * always misses), where the pool splits, those cached MADV_FREE'd too. */
struct shim_block *shim_pool_take(struct shim_pool *pool, size_t need);
/* MADV_FREE'd pages count in the RSS and its peak until the kernel takes
 * them: the pool's lazily cached blocks go before the program touches
 * pages none of them gave (a new block or region, a realloc growing). */
static inline void shim_pool_drop_lazy(struct shim_pool *pool)
{
	(void)shim_pool_take(pool, 0);
}
/* A mapped block becomes the program's: aligned, registered, listed,
 * counted. Returns the program's pointer, or NULL (ENOMEM; block gone). */
void *shim_pool_hand_out(struct shim_pool *pool, struct shim_block *block, size_t size, size_t alignment,
                         int kind);
/* A freed block (unregistered, uncounted) leaves the live list and is
 * kept for reuse, or goes back to the kernel. */
void shim_pool_put(struct shim_pool *pool, struct shim_block *block);
/* The live list; the caller holds the pool's lock. */
void shim_pool_live_insert(struct shim_pool *pool, struct shim_block *block);
void shim_pool_live_remove(struct shim_pool *pool, struct shim_block *block);

/* A piece of a region for size bytes (pages) at alignment: from the free
 * set or a new region. Returns the program's pointer (zeroed when zero),
 * or NULL with errno. */
void *shim_pool_alloc_piece(struct shim_pool *pool, size_t size, size_t alignment, int zero);
/* A piece the program freed (unregistered, uncounted), of which resident
 * bytes may be resident, goes back to its region's free set. */
void shim_pool_put_piece(struct shim_pool *pool, struct shim_block *piece, size_t resident);
/* A live piece grows or shrinks in place to size bytes (pages); 0 when it
 * cannot (the caller moves it). */
int shim_pool_resize_piece(struct shim_block *piece, size_t size);

/* Freed bytes a pool keeps resident (mallopt M_TRIM_THRESHOLD), and
 * whether the program set it (then exact, as glibc stops adapting). */
extern size_t shim_large_resident_allowance;
extern int shim_large_allowance_set;
/* Unmaps every pool's cached blocks and empty regions, gives back the
 * pages of free pieces (malloc_trim); the bytes released. */
size_t shim_large_trim(void);

#endif
