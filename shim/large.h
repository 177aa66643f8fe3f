/* Large allocations (large.c), and the rest of the large path they use:
 * routes, pools, placed mappings and statistics. */
#ifndef AMLSHIM_LARGE_H
#define AMLSHIM_LARGE_H

#include "mappings.h"
#include "pool.h"
#include "registry.h"
#include "routes.h"
#include "stats.h"

void *shim_large_alloc(struct shim_route *route, size_t size, size_t alignment, int zero);
void shim_large_free(struct shim_block *block);
void *shim_large_realloc(struct shim_block *block, size_t size);
size_t shim_large_usable(const struct shim_block *block);

#endif
