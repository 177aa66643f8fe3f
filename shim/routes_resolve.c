/* Phase 2 of start-up: each rule's placement becomes an area (or one per
 * CPU node for bandwidth/latency rankings), and AMLSHIM_SMALL is applied. A
 * placement that cannot be applied falls back to the kernel default with a
 * warning (AMLSHIM_STRICT=1: the caller exits). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "init.h"
#include "log.h"
#include "page_size.h"
#include "resolve.h"
#include "routes.h"
#include "shim.h"
#include "small.h"

static const char *rules_variable(void)
{
	const char *rules = shim_process.secure_mode ? NULL : getenv("AMLSHIM_RULES");
	return rules && *rules ? "AMLSHIM_RULES" : "AMLSHIM_POLICY";
}

static void set_pool(struct shim_pool *pool, const struct amlshim_resolved *resolved)
{
	pool->placed = *resolved;
	pool->present = 1;
}

/* Resolves one route; returns 0 or -1 (fell back to the kernel default). */
static int resolve_route(struct shim_route *route)
{
	const struct amlshim_placement *placement = &route->rule->placement;
	struct amlshim_resolved resolved;
	char why[160];
	int cpu_nodes[SHIM_MAX_NODES];
	int num_cpu_nodes = amlshim_cpu_nodes(cpu_nodes, SHIM_MAX_NODES);
	if (num_cpu_nodes == 0)
		cpu_nodes[num_cpu_nodes++] = 0;
	route->first_node = cpu_nodes[0];

	if (amlshim_resolve(placement, cpu_nodes[0], &resolved, why, sizeof(why)) != 0) {
		shim_log(AMLSHIM_LOG_WARN, "%s='%s' cannot be applied: %s; using the kernel default",
		         rules_variable(), placement->text, why);
		snprintf(route->note, sizeof(route->note), "fell back to the kernel default: %s", why);
		snprintf(route->area_text, sizeof(route->area_text), "kernel default");
		route->use_fallback = 1;
		return -1;
	}
	route->is_cuda = resolved.is_cuda;
	route->populates = resolved.populates;
	/* The small class takes node numbers: its names made numbers here. */
	struct amlshim_placement named;
	if (route->small_class && amlshim_resolve_nodes(placement, &named, why, sizeof(why)) == 0)
		shim_small_set_placement(route->small_class, &named);
	route->per_node = resolved.per_node;
	int slot = resolved.per_node ? cpu_nodes[0] : 0;
	set_pool(&route->pools[slot], &resolved);
	amlshim_describe_area(resolved.area, route->area_text, sizeof(route->area_text));
	if (resolved.source[0])
		snprintf(route->note, sizeof(route->note), "%s %s",
		         placement->kind == AMLSHIM_PLACE_WEIGHTED_INTERLEAVE ? "weights" : "ranked by", resolved.source);
	/* Rankings seen from each CPU node: a thread gets its own node's best. */
	for (int i = 1; resolved.per_node && i < num_cpu_nodes; i++) {
		struct amlshim_resolved other;
		if (cpu_nodes[i] >= SHIM_MAX_NODES ||
		    amlshim_resolve(placement, cpu_nodes[i], &other, why, sizeof(why)) != 0)
			continue;
		set_pool(&route->pools[cpu_nodes[i]], &other);
	}
	return 0;
}

/* A ranking for small objects: their extents prefer the best node as seen
 * from the first CPU node (arenas are shared by threads, so one node). */
static int ranked_small(const struct amlshim_placement *small, struct amlshim_placement *preferred,
                        char *why, size_t why_len)
{
	int cpu_nodes[1];
	struct amlshim_resolved resolved;
	if (amlshim_cpu_nodes(cpu_nodes, 1) != 1)
		cpu_nodes[0] = 0;
	if (amlshim_resolve(small, cpu_nodes[0], &resolved, why, why_len) != 0)
		return -1;
	int best = resolved.best_node;
	amlshim_resolved_destroy(small, &resolved);
	if (best < 0 || best >= AMLSHIM_MAX_NODES) {
		snprintf(why, why_len, "no node was ranked");
		return -1;
	}
	*preferred = *small;
	snprintf(preferred->text, sizeof(preferred->text), "%.60s (node %d preferred)", small->text, best);
	preferred->kind = AMLSHIM_PLACE_PREFERRED;
	preferred->all_nodes = 0;
	memset(preferred->nodes, 0, sizeof(preferred->nodes));
	preferred->nodes[best / (8 * sizeof(unsigned long))] |= 1UL << (best % (8 * sizeof(unsigned long)));
	return 0;
}

/* AMLSHIM_SMALL; returns 0, or -1 when it fell back to the kernel default. */
static int resolve_small(void)
{
	const struct amlshim_placement *small = &shim_process.policy.small;
	static struct amlshim_placement named; /* node set names made numbers: small.c keeps it */
	struct amlshim_placement preferred;
	char why[160];
	switch (small->kind) {
	case AMLSHIM_PLACE_DEFAULT:
		return 0;
	case AMLSHIM_PLACE_LOCAL:
	case AMLSHIM_PLACE_BIND:
	case AMLSHIM_PLACE_PREFERRED:
	case AMLSHIM_PLACE_INTERLEAVE:
		if (amlshim_resolve_nodes(small, &named, why, sizeof(why)) == 0) {
			shim_small_set_placement(0, &named);
			return 0;
		}
		break;
	case AMLSHIM_PLACE_BANDWIDTH:
	case AMLSHIM_PLACE_LATENCY:
	case AMLSHIM_PLACE_CAPACITY:
		if (ranked_small(small, &preferred, why, sizeof(why)) == 0) {
			shim_small_set_placement(0, &preferred);
			return 0;
		}
		break;
	default:
		snprintf(why, sizeof(why), "not supported for small objects");
		break;
	}
	shim_log(AMLSHIM_LOG_WARN, "AMLSHIM_SMALL='%s' cannot be applied: %s; using the kernel default",
	         small->text, why);
	return -1;
}

int shim_routes_resolve(void)
{
	int failures = resolve_small() != 0;
	for (int i = 0; i < shim_route_table.count; i++) {
		failures += resolve_route(&shim_route_table.rules[i]) != 0;
		shim_pages_setup(&shim_route_table.rules[i]);
	}
	/* +share wraps pools' areas: done before any thread may use them. */
	shim_share_resolve();
	for (int i = 0; i < shim_route_table.count; i++)
		__atomic_store_n(&shim_route_table.rules[i].ready, 1, __ATOMIC_RELEASE);
	return failures;
}

int shim_route_resolve_one(struct shim_route *route)
{
	int ret = resolve_route(route);
	shim_pages_setup(route);
	__atomic_store_n(&route->ready, 1, __ATOMIC_RELEASE);
	return ret;
}
