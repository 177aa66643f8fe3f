/* The route table: one route per rule (and the implicit route when there
 * is no rule), the route for a size, and the pool serving a thread. */
#define _GNU_SOURCE
#include <stdint.h>

#include "init.h"
#include "os.h"
#include "resolve.h"
#include "routes.h"
#include "shim.h"
#include "stats.h"

struct shim_route_table shim_route_table;
/* With no rule at all, sizes from the threshold on still take this path,
 * with the kernel default: the pool reuses a freed block where jemalloc
 * would purge every large block at free and fault it in again at the next
 * malloc. It is not a rule: the report does not list it, and the program's
 * own mmaps (nothing to place) bypass it. */
static struct amlshim_rule implicit_rule;

int shim_large_init(void)
{
	shim_route_table.count = shim_process.policy.num_rules;
	for (int i = 0; i < shim_route_table.count; i++) {
		struct shim_route *route = &shim_route_table.rules[i];
		route->rule = &shim_process.policy.rules[i];
		route->fallback.route = route;
		amlshim_resolved_default(&route->fallback.placed);
		for (int n = 0; n < SHIM_MAX_NODES; n++)
			route->pools[n].route = route;
	}
	/* Only when AMLSHIM_SMALL is the default too: its placement covers
	 * every size no rule claims, and jemalloc's extents carry it. */
	shim_route_table.implicit_active = 0;
	if (shim_route_table.count == 0 && shim_process.policy.small.kind == AMLSHIM_PLACE_DEFAULT && shim_process.policy.errors == 0) {
		implicit_rule.min = shim_process.policy.threshold < SHIM_LARGE_FLOOR ? SHIM_LARGE_FLOOR : shim_process.policy.threshold;
		implicit_rule.max = SIZE_MAX;
		implicit_rule.placement.kind = AMLSHIM_PLACE_DEFAULT;
		struct shim_route *route = &shim_route_table.implicit;
		route->rule = &implicit_rule;
		route->fallback.route = route;
		amlshim_resolved_default(&route->fallback.placed);
		route->use_fallback = 1; /* the kernel default: no area to resolve */
		route->ready = 1;
		shim_route_table.implicit_active = 1;
	}
	return 0;
}

int shim_route_small_class(const struct shim_route *route)
{
	return route->small_class;
}

void shim_route_count_small(struct shim_route *route, size_t size)
{
	shim_count(&route->count, 1);
	shim_count(&route->bytes, size);
	shim_count(&route->small_allocs, 1);
}

struct shim_route *shim_route_for(size_t size)
{
	const struct amlshim_rule *rule = amlshim_policy_rule_for(&shim_process.policy, size);
	if (!rule)
		return shim_route_table.implicit_active && size >= implicit_rule.min ? &shim_route_table.implicit : NULL;
	return &shim_route_table.rules[rule - shim_process.policy.rules];
}

/* The class the slow path (dispatch.c) gives a size, busy threads aside:
 * 0 (AMLSHIM_SMALL) below large_min or with no route, a route's own small
 * class below the floor, -1 for the large path. */
static int class_for(size_t size, size_t large_min)
{
	struct shim_route *route = size < large_min ? NULL : shim_route_for(size);
	if (!route)
		return 0;
	return route->small_class && size < SHIM_LARGE_FLOOR ? route->small_class : -1;
}

/* Where the range of class that holds size ends: the class changes only
 * at a bound (a rule's min or max, the floor, large_min), so the first
 * bound above size that starts another class ends it (SIZE_MAX: none). */
static size_t range_end(size_t size, int class, size_t large_min)
{
	size_t bounds[2 + 2 * AMLSHIM_MAX_RULES] = {SHIM_LARGE_FLOOR, large_min}, end = SIZE_MAX;
	int n = 2;
	for (int r = 0; r < shim_process.policy.num_rules; r++) {
		bounds[n++] = shim_process.policy.rules[r].min;
		bounds[n++] = shim_process.policy.rules[r].max;
	}
	for (int i = 0; i < n; i++)
		if (bounds[i] > size && bounds[i] < end && class_for(bounds[i], large_min) != class)
			end = bounds[i];
	return end;
}

/* The sizes jemalloc's thread cache keeps (tcache_max in small.c): the
 * primary class is the one that serves most of them. */
#define CACHED_SIZES ((size_t)64 << 10)

int shim_route_primary(size_t large_min, size_t *begin, size_t *span)
{
	int best = 0;
	size_t best_begin = 0, best_end = 0, best_cached = 0;
	/* Walk the small path's sizes range by range, from 0. */
	for (size_t at = 0; at < CACHED_SIZES;) {
		int class = class_for(at, large_min);
		size_t end = range_end(at, class, large_min);
		size_t cached = (end < CACHED_SIZES ? end : CACHED_SIZES) - at;
		if (class >= 0 && cached > best_cached) {
			best = class;
			best_begin = at;
			best_end = end;
			best_cached = cached;
		}
		at = end;
	}
	*begin = best_begin;
	*span = best_end - best_begin; /* 0: no fast path (the large path serves size 0 on) */
	return best;
}

struct shim_pool *shim_route_pool(struct shim_route *route)
{
	if (!__atomic_load_n(&route->ready, __ATOMIC_ACQUIRE) || route->use_fallback)
		return &route->fallback;
	if (!route->per_node)
		return &route->pools[0];
	int node = aml_os_current_node();
	if (node < 0 || node >= SHIM_MAX_NODES || !route->pools[node].present)
		node = route->first_node;
	return &route->pools[node];
}

static void visit_route(struct shim_route *route, shim_pool_visit visit, void *ctx)
{
	for (int p = -1; p < SHIM_MAX_NODES; p++) {
		struct shim_pool *pool = p < 0 ? &route->fallback : &route->pools[p];
		if (p >= 0 && !pool->present)
			continue;
		visit(pool, route, p, ctx);
	}
}

void shim_route_for_each_pool(struct shim_route *route, shim_pool_visit visit, void *ctx)
{
	visit_route(route, visit, ctx);
}

void shim_routes_for_each_pool(shim_pool_visit visit, void *ctx)
{
	for (int r = 0; r < shim_route_table.count; r++)
		visit_route(&shim_route_table.rules[r], visit, ctx);
	for (int r = 0; r < shim_site_routes.count; r++)
		visit_route(&shim_site_routes.rules[r], visit, ctx);
}

void shim_large_for_each_pool(shim_pool_visit visit, void *ctx)
{
	if (shim_route_table.implicit_active)
		visit_route(&shim_route_table.implicit, visit, ctx);
	if (shim_site_routes.plain_active)
		visit_route(&shim_site_routes.plain, visit, ctx);
	shim_routes_for_each_pool(visit, ctx);
}

/* Locks held by threads that no longer exist in a forked child. */
static void reset_route_locks(struct shim_route *route)
{
	route->fallback.lock = 0;
	for (int p = 0; p < SHIM_MAX_NODES; p++)
		route->pools[p].lock = 0;
}

void shim_routes_after_fork_child(void)
{
	shim_route_table.implicit.fallback.lock = 0;
	shim_site_routes.plain.fallback.lock = 0;
	for (int r = 0; r < shim_site_routes.count; r++)
		reset_route_locks(&shim_site_routes.rules[r]);
	for (int r = 0; r < shim_route_table.count; r++) {
		reset_route_locks(&shim_route_table.rules[r]);
		/* CUDA contexts do not survive fork. */
		if (shim_route_table.rules[r].is_cuda)
			shim_route_table.rules[r].use_fallback = 1;
	}
}
