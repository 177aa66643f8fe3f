/* Pools (pool.c): a route's memory through one area or the kernel default,
 * the blocks the program holds and the freed ones kept for reuse. */
#ifndef AMLSHIM_POOL_H
#define AMLSHIM_POOL_H

#include <stddef.h>

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
};

/* Maps need bytes for block through *pool's area; where the area cannot
 * place them, through the route's kernel-default pool instead (*pool then
 * names it), or not at all under AMLSHIM_STRICT. Returns the base or NULL. */
void *shim_pool_map_block(struct shim_pool **pool, struct shim_block *block, size_t need);
/* A cached block of need bytes (at most a quarter more), or NULL; blocks
 * cached too long go back to the kernel on the way. */
struct shim_block *shim_pool_take(struct shim_pool *pool, size_t need);
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

/* Freed bytes a pool keeps resident (mallopt M_TRIM_THRESHOLD). */
extern size_t shim_large_resident_allowance;
/* Unmaps every pool's cached blocks (malloc_trim); the bytes released. */
size_t shim_large_trim(void);

#endif
