/* Routes (routes.c): one per rule, the pools serving its sizes and what
 * the report says about it; phase 2 (routes_resolve.c) gives them areas. */
#ifndef AMLSHIM_ROUTES_H
#define AMLSHIM_ROUTES_H

#include "page_size.h"
#include "pool.h"
#include "resolve.h"
#include "shim.h"
#include "sites.h"

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
	struct shim_pages pages;                /* +thp, +nothp, +huge:SIZE (page_size.c) */
	char area_text[256];                    /* what the report prints */
	char note[256];                         /* why it fell back, source of a ranking */
	unsigned long count, bytes, live, peak, moves, remaps, reuses, fallbacks, mmaps, small_allocs;
};

/* Builds the table from shim_process.policy (phase 1). */
int shim_large_init(void);
/* Phase 2 (routes_resolve.c): areas for the rules; returns the failures. */
int shim_routes_resolve(void);
/* The route for a size, or NULL for the plain path. */
struct shim_route *shim_route_for(size_t size);
/* The small-path class serving a route's sizes below SHIM_LARGE_FLOOR (0: none). */
int shim_route_small_class(const struct shim_route *route);
void shim_route_count_small(struct shim_route *route, size_t size);
/* The primary class (small.c): the class whose range of sizes [*begin,
 * *begin + *span) holds most of the sizes jemalloc's thread cache keeps
 * (class 0 and a span of 0 when the large path serves every size). Once
 * the routes are set, at start-up. */
int shim_route_primary(size_t large_min, size_t *begin, size_t *span);

/* The routes: one per rule, in the policy's order, and the implicit one. */
struct shim_route_table {
	struct shim_route rules[AMLSHIM_MAX_RULES];
	int count;
	struct shim_route implicit; /* no rule: large sizes, kernel default */
	int implicit_active;
};
extern struct shim_route_table shim_route_table;

/* The site rules' routes (site_rules.c), and the plain route (kernel default)
 * of the sizes they capture that no size rule claims. */
struct shim_site_routes {
	struct shim_route rules[AMLSHIM_MAX_SITE_RULES];
	int count;
	struct shim_route plain;
	int plain_active;
};
extern struct shim_site_routes shim_site_routes;

/* The pool serving this thread: per node for rankings seen from a CPU. */
struct shim_pool *shim_route_pool(struct shim_route *route);

typedef void (*shim_pool_visit)(struct shim_pool *pool, const struct shim_route *route, int node, void *ctx);
/* Every pool of the large path: the implicit route's (when active), then
 * the rules' (shim_routes_for_each_pool). node is -1 for a kernel-default
 * fallback pool. */
void shim_large_for_each_pool(shim_pool_visit visit, void *ctx);
/* The rules' pools only: each route's fallback, then its area pools. */
void shim_routes_for_each_pool(shim_pool_visit visit, void *ctx);

/* One route's pools: its fallback, then its area pools. */
void shim_route_for_each_pool(struct shim_route *route, shim_pool_visit visit, void *ctx);
/* Phase 2 for one route without +share (routes_resolve.c): resolved, its
 * page size set up, published ready; 0, or -1 when it fell back. */
int shim_route_resolve_one(struct shim_route *route);

/* fork child: locks of threads that are gone, CUDA rules to the kernel default. */
void shim_routes_after_fork_child(void);

#endif
