/* Room on bound nodes. A page fault on bound nodes that are full ends in
 * the OOM killer, so a bound pool asks its nodes before memory it hands
 * out may become resident there: a mapping of its own (the area checks),
 * and, since a region is mapped lazily and its check counts none of what
 * fills it later, each piece's untouched bytes and each growth in place.
 * What does not fit goes to the route's kernel-default pool, with one
 * warning and counted, or fails under AMLSHIM_STRICT=1. Pools that do not
 * bind never get here (placed.bound). */
#define _GNU_SOURCE
#include "init.h"
#include "log.h"
#include "pool.h"
#include "routes.h"
#include "shim.h"
#include "stats.h"

/* Said once per rule, then counted in the report. */
void shim_pool_unplaced(struct shim_route *route, size_t need, int err)
{
	shim_count(&route->fallbacks, 1);
	if (__atomic_exchange_n(&route->warned_unplaced, 1, __ATOMIC_RELAXED))
		return;
	shim_log(AMLSHIM_LOG_WARN, "%s: a %zu KiB allocation could not be placed (%s); %s (said once)",
	         route->rule->placement.text, need >> 10, aml_strerror(err),
	         shim_process.policy.strict ? "AMLSHIM_STRICT=1: it fails with ENOMEM" : "it gets the kernel default");
}

size_t shim_pool_region_size(const struct shim_pool *pool, int regions, size_t want)
{
	size_t size = shim_heap_region_size(regions, want);
	/* Never more than the nodes could hold now: a region that only just
	 * passed would leave each piece's own check little to work with. */
	while (SHIM_UNLIKELY(pool->placed.bound) && size > want && !amlshim_resolved_fits(&pool->placed, size))
		size = size / 2 > want ? size / 2 : want;
	return size;
}

int shim_pool_piece_fits(struct shim_pool *pool, const struct shim_block *piece)
{
	size_t untouched = piece->mapped - piece->resident;
	return !untouched || amlshim_resolved_fits(&pool->placed, untouched);
}

int shim_pool_growth_fits(struct shim_pool *pool, const struct shim_block *piece, size_t need)
{
	shim_lock(&pool->lock);
	size_t untouched = shim_heap_growth_untouched(piece, need);
	shim_unlock(&pool->lock);
	return !untouched || amlshim_resolved_fits(&pool->placed, untouched);
}
