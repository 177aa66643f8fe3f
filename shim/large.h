/* Routes and pools of the large path, shared with start-up and the report. */
#ifndef AMLSHIM_LARGE_H
#define AMLSHIM_LARGE_H

#include "shim.h"

#define SHIM_CACHE_SLOTS 8

struct shim_pool {
	struct aml_area *area;        /* NULL: kernel default */
	struct shim_route *route;
	int present;                  /* per-node pools: this node has one */
	int can_remap, is_cuda;
	int lock;
	struct shim_block *live;      /* blocks the program holds */
	struct shim_block *cache[SHIM_CACHE_SLOTS]; /* freed blocks kept for reuse */
	unsigned long long cached_at[SHIM_CACHE_SLOTS];
	int num_cached;
	size_t cached_bytes;
	size_t resident_cached;       /* of which kept resident */
};

struct shim_route {
	const struct amlshim_rule *rule;
	struct shim_pool pools[SHIM_MAX_NODES]; /* [0], or one per initiator node */
	struct shim_pool fallback;              /* kernel default */
	int ready;                              /* areas resolved */
	int per_node, first_node;
	int use_fallback;                       /* could not be applied */
	int is_cuda;
	int small_class;                        /* small sizes: this small-path class */
	int populates;                          /* the area makes allocations resident */
	int warned_populate;
	int warned_unplaced;                    /* an area failed: said once */
	char area_text[256];                    /* what the report prints */
	char note[256];                         /* why it fell back, source of a ranking */
	unsigned long count, bytes, live, peak, moves, remaps, reuses, fallbacks, mmaps, small_allocs;
};

extern struct shim_route shim_routes[AMLSHIM_MAX_RULES];
extern int shim_num_routes;
extern struct shim_route shim_implicit_route; /* no rule: large sizes, kernel default */
extern int shim_implicit_active;
extern long shim_node_pages_peak[SHIM_MAX_NODES];
void shim_large_sample_nodes(long *pages_per_node);
void shim_large_note_peak(const long *pages_per_node);
/* Freed bytes a pool keeps resident (mallopt M_TRIM_THRESHOLD). */
extern size_t shim_large_resident_allowance;
/* Unmaps every pool's cached blocks (malloc_trim); the bytes released. */
size_t shim_large_trim(void);
typedef void (*shim_pool_visit)(struct shim_pool *pool, const struct shim_route *route, int node, void *ctx);
void shim_large_for_each_pool(shim_pool_visit visit, void *ctx);

#endif
