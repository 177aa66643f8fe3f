/* Statistics of the large path: per-route counts and live bytes with their
 * peak, and where the pages of live blocks are, per node, sampled with
 * move_pages at each new high of live bytes and for the report. */
#define _GNU_SOURCE
#include "os.h"
#include "registry.h"
#include "routes.h"
#include "shim.h"
#include "stats.h"

struct shim_stats shim_stats;

/* Live bytes of every route, and when their pages were last sampled. */
static struct {
	unsigned long live;         /* bytes the program holds on the large path */
	unsigned long sampled_live; /* live bytes at the last sample */
	int due;                    /* a new high of live bytes: sample at the next call */
	int busy;                   /* a thread is sampling */
} sampler;

/* live bytes of route grow by size; its peak follows. */
static unsigned long add_live_peak(struct shim_route *route, size_t size)
{
	unsigned long live = __atomic_add_fetch(&route->live, size, __ATOMIC_RELAXED);
	unsigned long peak = __atomic_load_n(&route->peak, __ATOMIC_RELAXED);
	while (live > peak && !__atomic_compare_exchange_n(&route->peak, &peak, live, 1,
	                                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return __atomic_add_fetch(&sampler.live, size, __ATOMIC_RELAXED);
}

void shim_stats_alloc(struct shim_route *route, size_t size, int kind)
{
	shim_count(&route->count, 1);
	shim_count(&route->bytes, size);
	if (kind == SHIM_BLOCK_MMAP)
		shim_count(&route->mmaps, 1);
	unsigned long total = add_live_peak(route, size);
	if (total > sampler.sampled_live + sampler.sampled_live / 8)
		__atomic_store_n(&sampler.due, 1, __ATOMIC_RELAXED);
}

void shim_stats_remap(struct shim_route *route, size_t size)
{
	shim_count(&route->remaps, 1);
	add_live_peak(route, size);
}

void shim_stats_add_live(struct shim_route *route, size_t bytes)
{
	__atomic_add_fetch(&route->live, bytes, __ATOMIC_RELAXED);
	__atomic_add_fetch(&sampler.live, bytes, __ATOMIC_RELAXED);
}

void shim_stats_sub_live(struct shim_route *route, size_t bytes)
{
	__atomic_sub_fetch(&route->live, bytes, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&sampler.live, bytes, __ATOMIC_RELAXED);
}

/* The peak per node is the most pages any sample saw there: a sample taken
 * at a new high of live bytes may come before the program touched them,
 * so every later sample (the report's own included) can raise it. */
void shim_large_note_peak(const long *pages)
{
	for (int n = 0; n < SHIM_MAX_NODES; n++) {
		long seen = __atomic_load_n(&shim_stats.node_pages_peak[n], __ATOMIC_RELAXED);
		while (pages[n] > seen && !__atomic_compare_exchange_n(&shim_stats.node_pages_peak[n], &seen, pages[n], 1,
		                                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
	}
}

/* Samples where the pages of every live block are, after a new high of
 * live bytes, at the next large allocation, free or munmap. */
void shim_stats_maybe_sample(void)
{
	if (!__atomic_load_n(&sampler.due, __ATOMIC_RELAXED) || __atomic_exchange_n(&sampler.busy, 1, __ATOMIC_ACQUIRE))
		return;
	unsigned long live = __atomic_load_n(&sampler.live, __ATOMIC_RELAXED);
	if (live > sampler.sampled_live) {
		AML_KEEP_ERRNO; /* move_pages may fail (no NUMA, seccomp): the program's call did not */
		long pages[SHIM_MAX_NODES] = {0};
		shim_large_sample_nodes(pages);
		shim_large_note_peak(pages);
		sampler.sampled_live = live;
	}
	__atomic_store_n(&sampler.due, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&sampler.busy, 0, __ATOMIC_RELEASE);
}

struct sample {
	unsigned long stride;
	long *pages_per_node;
};

static void sample_pool(struct shim_pool *pool, const struct shim_route *route, int node, void *ctx)
{
	enum { BATCH = 256 };
	struct sample *s = ctx;
	void *addrs[BATCH];
	int status[BATCH];
	(void)node;
	(void)route;
	if (!pool->placed.can_sample)
		return;
	shim_lock(&pool->lock);
	for (struct shim_block *b = pool->live; b; b = b->next) {
		size_t npages = (b->requested + SHIM_PAGE - 1) / SHIM_PAGE;
		size_t n = 0;
		for (size_t i = 0; i < npages; i += s->stride) {
			addrs[n++] = (char *)b->ptr + i * SHIM_PAGE;
			if (n == BATCH || i + s->stride >= npages) {
				if (aml_os_move_pages(0, n, addrs, NULL, status, 0) == 0)
					for (size_t k = 0; k < n; k++)
						if (status[k] >= 0 && status[k] < SHIM_MAX_NODES)
							s->pages_per_node[status[k]] += (long)s->stride;
				n = 0;
			}
		}
	}
	shim_unlock(&pool->lock);
}

/* Pages of every live block, per node: move_pages with no target node
 * reports where each page is. Pages it cannot tell are left out: never
 * touched (or only read: the zero page), and, under the kernel's default
 * policy, pages NUMA balancing is sampling at that moment. Large totals are sampled with an odd stride
 * (so that round-robin patterns do not alias) and scaled back. */
void shim_large_sample_nodes(long *pages_per_node)
{
	enum { BUDGET = 1 << 20 };
	unsigned long total = __atomic_load_n(&sampler.live, __ATOMIC_RELAXED) / SHIM_PAGE;
	struct sample s = {total > BUDGET ? (total / BUDGET) | 1 : 1, pages_per_node};
	shim_routes_for_each_pool(sample_pool, &s);
}

/* The same for one route's blocks, every page (the report's site rules). */
void shim_route_sample_nodes(struct shim_route *route, long *pages_per_node)
{
	struct sample s = {1, pages_per_node};
	shim_route_for_each_pool(route, sample_pool, &s);
}

void shim_stats_after_fork_child(void)
{
	/* The child reports what it does itself. */
	for (int r = 0; r < shim_route_table.count; r++) {
		shim_route_table.rules[r].count = shim_route_table.rules[r].bytes = shim_route_table.rules[r].moves = 0;
		shim_route_table.rules[r].remaps = shim_route_table.rules[r].reuses = shim_route_table.rules[r].fallbacks = 0;
		shim_route_table.rules[r].mmaps = shim_route_table.rules[r].small_allocs = 0;
	}
	sampler.busy = 0;
}
