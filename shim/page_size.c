/* Page size per rule: "+thp" aligns a rule's blocks to the transparent
 * huge page and advises MADV_HUGEPAGE, so interleave and bind place them
 * huge page by huge page; "+nothp" advises MADV_NOHUGEPAGE; "+huge:SIZE"
 * maps from the kernel's hugetlb pool of that size on the placement's
 * nodes, and falls back to normal pages (said once, counted) where the
 * pool cannot serve. Every mapping goes through the rule's area and back
 * through it whole (slack included): pool.c unmaps what was mapped. Hugetlb
 * pools are kept whole (routes_resolve.c's can_remap): no pieces, no
 * mremap, so no block is cut or moved at a normal page's offset. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <aml/area/linux.h>

#include <aml/utils/nodemask.h>
#include "init.h"
#include "log.h"
#include "os.h"
#include "page_size.h"
#include "pool.h"
#include "resolve.h"
#include "routes.h"
#include "stats.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

/* Placements whose area is a Linux one, which takes mmap's flags. */
static int takes_hugetlb(enum amlshim_placement_kind kind)
{
	return kind == AMLSHIM_PLACE_DEFAULT || kind == AMLSHIM_PLACE_LOCAL || kind == AMLSHIM_PLACE_BIND ||
	       kind == AMLSHIM_PLACE_PREFERRED || kind == AMLSHIM_PLACE_INTERLEAVE;
}

/* Where pools_serve looks: "any node", "node 0", "nodes 0,2", "no node". */
static void pools_text(const struct amlshim_placement *p, const struct shim_pages *pages, char *buf, size_t len)
{
	char list[64] = "";
	size_t used = 0;
	int count = 0;
	if (pages->all_nodes || (p->kind != AMLSHIM_PLACE_BIND && p->kind != AMLSHIM_PLACE_INTERLEAVE)) {
		snprintf(buf, len, "any node");
		return;
	}
	for (int node = 0; node < AMLSHIM_MAX_NODES && used + 8 < sizeof(list); node++)
		if (aml_nodemask_test(pages->nodes, (unsigned)(node)))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%d", count++ ? "," : "", node);
	snprintf(buf, len, "%s%s", count == 0 ? "no node" : count == 1 ? "node " : "nodes ", list);
}

/* Whether the pools where the placement takes huge pages have `pages`
 * free: any node's for the policies the kernel lets fall back (preferred,
 * local, default, a set of all nodes); the named nodes' together for bind;
 * for interleave each named node its share (the kernel takes a node's
 * share from other nodes' pools, outside the set, when its own is short). */
static int pools_serve(const struct amlshim_placement *p, const struct shim_pages *huge, size_t size,
                       size_t pages)
{
	if (huge->all_nodes || (p->kind != AMLSHIM_PLACE_BIND && p->kind != AMLSHIM_PLACE_INTERLEAVE)) {
		long free = aml_os_huge_free(-1, size);
		return free >= 0 && (size_t)free >= pages;
	}
	size_t total = 0, least = SIZE_MAX, count = 0;
	for (int node = 0; node < AMLSHIM_MAX_NODES; node++) {
		if (!aml_nodemask_test(huge->nodes, (unsigned)(node)))
			continue;
		long n = aml_os_huge_free(node, size);
		size_t free = n > 0 ? (size_t)n : 0;
		total += free;
		least = free < least ? free : least;
		count++;
	}
	if (p->kind == AMLSHIM_PLACE_BIND)
		return total >= pages;
	return count && least >= (pages + count - 1) / count;
}

void shim_pages_setup(struct shim_route *route)
{
	const struct amlshim_placement *p = &route->rule->placement;
	struct shim_pages *pages = &route->pages;
	pages->mode = p->pages;
	if (p->pages == AMLSHIM_PAGES_THP) {
		pages->size = aml_os_thp_size();
		pages->advice = MADV_HUGEPAGE;
	} else if (p->pages == AMLSHIM_PAGES_NOTHP) {
		pages->advice = MADV_NOHUGEPAGE;
	}
	if (p->pages != AMLSHIM_PAGES_HUGETLB)
		return;
	char size[24], sizes[48];
	pages->size = p->huge_size;
	/* Node set names ("local", "hbm@socket") are bits of node_names until
	 * resolved: the pools are those of the nodes they name here. */
	struct amlshim_placement named;
	if (!p->node_names || amlshim_resolve_nodes(p, &named, pages->why, sizeof(pages->why)) != 0)
		named = *p; /* a name that fails to resolve made the route fall back */
	pages->why[0] = 0;
	pages->all_nodes = named.all_nodes;
	memcpy(pages->nodes, named.nodes, sizeof(pages->nodes));
	amlshim_format_size(p->huge_size, size, sizeof(size));
	/* Kept whole: every block maps on its own (shim_pages_map_huge), so a
	 * hugetlb block is never split, trimmed or remapped. */
	for (int n = 0; n < SHIM_MAX_NODES; n++)
		route->pools[n].placed.can_remap = 0;
	if (route->use_fallback)
		snprintf(pages->why, sizeof(pages->why), "the placement fell back to the kernel default");
	else if (!takes_hugetlb(p->kind))
		snprintf(pages->why, sizeof(pages->why), "%s areas cannot map hugetlb pages",
		         amlshim_placement_kind_name(p->kind));
	else if (aml_os_huge_free(-1, p->huge_size) < 0)
		snprintf(pages->why, sizeof(pages->why), "the kernel has no %s huge page pool (it has: %s)", size,
		         aml_os_huge_sizes(sizes, sizeof(sizes)) ? sizes : "none");
	else if (!aml_os_can_prefault()) /* touching instead would be a SIGBUS on a short pool */
		snprintf(pages->why, sizeof(pages->why), "the kernel cannot pre-fault huge pages (MADV_POPULATE_WRITE, "
		         "Linux 5.14)");
	if (pages->why[0]) {
		shim_log(AMLSHIM_LOG_WARN, "%s: %s; normal pages%s", p->text, pages->why,
		         shim_process.policy.strict ? " (AMLSHIM_STRICT=1: its allocations fail)" : "");
		pages->warned = 1;
		return;
	}
	pages->huge_ok = 1;
}

void shim_pages_advise(const struct shim_pages *pages, void *ptr, size_t size)
{
	AML_KEEP_ERRNO; /* refused without THP in the kernel: nothing to do */
	aml_os_madvise(ptr, size, pages->advice);
}

size_t shim_pages_alignment(const struct shim_route *route, size_t alignment)
{
	const struct shim_pages *pages = &route->pages;
	return pages->mode == AMLSHIM_PAGES_THP && pages->size > alignment ? pages->size : alignment;
}

size_t shim_pages_need(const struct shim_route *route, size_t need, size_t extra)
{
	const struct shim_pages *pages = &route->pages;
	size_t huge = pages->size;
	if (!huge || (pages->mode != AMLSHIM_PAGES_THP && !pages->huge_ok))
		return need;
	/* thp: the block's part past its aligned start ends on a huge page
	 * too; hugetlb: the mapping is whole huge pages (alignment inside). */
	size_t part = pages->huge_ok ? need : need - extra;
	if (part > SIZE_MAX - extra - huge)
		return need; /* fails when mapped, as any size no memory holds */
	return ((part + huge - 1) & ~(huge - 1)) + (pages->huge_ok ? 0 : extra);
}

/* The huge pages just mapped, counted on their nodes. */
static void count_taken(struct shim_pages *pages, char *base, size_t bytes)
{
	enum { STEP = 64 };
	void *addr[STEP];
	int status[STEP];
	size_t count = bytes / pages->size;
	for (size_t done = 0; done < count; done += STEP) {
		unsigned long n = count - done < STEP ? (unsigned long)(count - done) : STEP;
		for (unsigned long i = 0; i < n; i++)
			addr[i] = base + (done + i) * pages->size;
		AML_KEEP_ERRNO;
		if (aml_os_move_pages(0, n, addr, NULL, status, 0) != 0)
			return;
		for (unsigned long i = 0; i < n; i++)
			if (status[i] >= 0 && status[i] < SHIM_PAGES_NODES)
				shim_count(&pages->taken[status[i]], 1);
	}
}

/* need bytes from the hugetlb pool through the pool's area: reserved at
 * mmap, placed by the area's policy (mbind, before any fault), made
 * resident at once. NULL when the pool cannot serve. */
static void *map_hugetlb(struct shim_pool *pool, size_t need)
{
	const struct shim_pages *pages = &pool->route->pages;
	struct aml_area_linux_mmap_options opts = {
		.ptr = NULL,
		.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (__builtin_ctzl(pages->size) << MAP_HUGE_SHIFT),
		.mode = PROT_READ | PROT_WRITE,
		.fd = -1,
	};
	struct aml_area *area = amlshim_resolved_area(&pool->placed);
	AML_KEEP_ERRNO;
	shim_thread_busy++;
	void *ptr = aml_area_mmap(area, need, (struct aml_area_mmap_options *)&opts);
	/* A fault the pool cannot serve is a SIGBUS: fail here instead. */
	if (ptr && aml_os_prefault_write(ptr, need) != 0) {
		aml_area_munmap(area, ptr, need);
		ptr = NULL;
	}
	shim_thread_busy--;
	return ptr;
}

void *shim_pages_map_huge(struct shim_pool **pool, struct shim_block *block, size_t need)
{
	struct shim_route *route = (*pool)->route;
	struct shim_pages *pages = &route->pages;
	const struct amlshim_placement *p = &route->rule->placement;
	if (pages->huge_ok && *pool != &route->fallback) {
		void *ptr = pools_serve(p, pages, pages->size, need / pages->size) ? map_hugetlb(*pool, need) : NULL;
		if (ptr) {
			block->base = ptr;
			block->mapped = need;
			count_taken(pages, ptr, need);
			return ptr;
		}
	}
	shim_count(&pages->fallbacks, 1);
	if (!__atomic_exchange_n(&pages->warned, 1, __ATOMIC_RELAXED)) {
		char size[24], where[80];
		amlshim_format_size(pages->size, size, sizeof(size));
		pools_text(p, pages, where, sizeof(where));
		shim_log(AMLSHIM_LOG_WARN, "%s: a %zu KiB allocation found too few free %s huge pages where it "
		         "goes (%s); %s (said once, counted in the report)", p->text, need >> 10, size, where,
		         shim_process.policy.strict ? "AMLSHIM_STRICT=1: it fails with ENOMEM" : "normal pages instead");
	}
	if (shim_process.policy.strict) {
		errno = ENOMEM;
		return NULL;
	}
	return shim_pool_map_block(pool, block, need);
}
