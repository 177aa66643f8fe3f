/* Page size per rule (page_size.c): "+thp", "+nothp", "+huge:SIZE" on a
 * rule's placement, applied where its pools map. */
#ifndef AMLSHIM_PAGE_SIZE_H
#define AMLSHIM_PAGE_SIZE_H

#include <stddef.h>
#include <stdio.h>

#include "policy.h"

struct shim_route;
struct shim_pool;
struct shim_block;
struct shim_out;

/* Nodes whose huge pages the report counts (as SHIM_MAX_NODES). */
#define SHIM_PAGES_NODES 64

/* A route's page size, set at start-up (shim_pages_setup). */
struct shim_pages {
	int mode;      /* enum amlshim_pages; AMLSHIM_PAGES_DEFAULT: nothing to do */
	int advice;    /* MADV_HUGEPAGE or MADV_NOHUGEPAGE on every mapping, or 0 */
	size_t size;   /* thp: the PMD size blocks align to (0: no THP); huge: the page size */
	int huge_ok;   /* huge: the kernel has the pool and the area takes its flags */
	int warned;    /* huge: a fallback to normal pages was said */
	char why[160]; /* huge: why the pool never serves (said at start-up) */
	int all_nodes; /* huge: the pools it takes from, its node set names made numbers */
	unsigned long nodes[AMLSHIM_NODE_WORDS];
	unsigned long fallbacks;              /* huge: allocations that got normal pages */
	unsigned long taken[SHIM_PAGES_NODES];  /* huge: pages mapped per node, all told */
};

/* Start-up phase 2, once the route has its area: what its page modifier
 * needs from this kernel; a size the kernel has no pool of is said once. */
void shim_pages_setup(struct shim_route *route);
/* Every mapping of a route's pools: its advice (thp, nothp); returns ptr. */
void shim_pages_advise(const struct shim_pages *pages, void *ptr, size_t size);
static inline void *shim_pages_advised(const struct shim_pages *pages, void *ptr, size_t size)
{
	if (ptr && __builtin_expect(pages->advice != 0, 0))
		shim_pages_advise(pages, ptr, size);
	return ptr;
}
/* A large allocation's alignment (thp: at least the huge page), and the
 * bytes its own mapping needs (need with extra bytes of alignment slack):
 * whole huge pages. */
size_t shim_pages_alignment(const struct shim_route *route, size_t alignment);
size_t shim_pages_need(const struct shim_route *route, size_t need, size_t extra);
/* Whether a route's blocks keep their alignment slack mapped: mapped and
 * unmapped whole through the area (thp raised the alignment). */
static inline int shim_pages_keep_slack(const struct shim_pages *pages)
{
	return pages->mode != 0;
}
/* Whether a route's blocks ask a hugetlb pool (+huge:SIZE). */
static inline int shim_pages_hugetlb(const struct shim_pages *pages)
{
	return pages->mode == AMLSHIM_PAGES_HUGETLB;
}
/* Maps need bytes (whole huge pages) for block from the route's hugetlb
 * pool on its nodes, made resident now (a pool that runs dry fails here,
 * not with SIGBUS at a later fault). Where the pool cannot serve: normal
 * pages through the same area (one warning, counted), or NULL under
 * AMLSHIM_STRICT. As shim_pool_map_block. */
void *shim_pages_map_huge(struct shim_pool **pool, struct shim_block *block, size_t need);

/* The report's line (text) and fields (JSON) (page_report.c) for a route with a modifier. */
void shim_pages_write_text(struct shim_out *out, const struct shim_route *route);
void shim_pages_write_json(struct shim_out *out, const struct shim_route *route);

#endif
