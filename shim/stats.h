/* Statistics of the large path (stats.c): per-route counters, live bytes,
 * and where the pages of live blocks are (sampled with move_pages). */
#ifndef AMLSHIM_STATS_H
#define AMLSHIM_STATS_H

#include "shim.h"

struct shim_route;

static inline void shim_count(unsigned long *counter, unsigned long value)
{
	__atomic_add_fetch(counter, value, __ATOMIC_RELAXED);
}

/* A counter as the reports read it, while other threads may count. */
static inline unsigned long shim_counted(const unsigned long *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* A block handed out: counts, live bytes, the route's peak. */
void shim_stats_alloc(struct shim_route *route, size_t size, int kind);
/* A block grown or moved by mremap: now size live bytes. */
void shim_stats_remap(struct shim_route *route, size_t size);
/* Live bytes gained or given back without a new allocation. */
void shim_stats_add_live(struct shim_route *route, size_t bytes);
void shim_stats_sub_live(struct shim_route *route, size_t bytes);
/* After a new high of live bytes: where their pages are, once. */
void shim_stats_maybe_sample(void);

/* What the report counts beyond the routes. */
struct shim_stats {
	unsigned long foreign_frees;    /* frees of pointers that are not ours (glibc's) */
	unsigned long bootstrap_allocs; /* served by glibc while the shim started */
	long node_pages_peak[SHIM_MAX_NODES]; /* the most resident pages any sample saw */
};
extern struct shim_stats shim_stats;
void shim_large_sample_nodes(long *pages_per_node);
void shim_large_note_peak(const long *pages_per_node);
void shim_route_sample_nodes(struct shim_route *route, long *pages_per_node);

/* fork child: it reports what it does itself. */
void shim_stats_after_fork_child(void);

#endif
