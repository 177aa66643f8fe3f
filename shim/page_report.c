/* The report's page-size fields for rules with +thp, +nothp or +huge:SIZE
 * (page_size.c counts them): a text line under the rule, and a "pages"
 * object in its JSON. */
#define _GNU_SOURCE
#include "log.h"
#include "page_size.h"
#include "routes.h"

void shim_pages_write_text(struct shim_out *out, const struct shim_route *route)
{
	const struct shim_pages *pages = &route->pages;
	char size[24], taken[160] = "";
	amlshim_format_size(pages->size, size, sizeof(size));
	if (pages->mode == AMLSHIM_PAGES_THP || pages->mode == AMLSHIM_PAGES_NOTHP) {
		shim_out_put(out, "  %-14s pages: %s\n", "", pages->mode == AMLSHIM_PAGES_NOTHP ? "MADV_NOHUGEPAGE"
		             : pages->size ? "MADV_HUGEPAGE, blocks aligned to the huge page" : "thp: the kernel has no THP");
		return;
	}
	if (pages->mode != AMLSHIM_PAGES_HUGETLB)
		return;
	size_t used = 0;
	for (int n = 0; n < SHIM_PAGES_NODES && used + 24 < sizeof(taken); n++) {
		unsigned long count = __atomic_load_n(&pages->taken[n], __ATOMIC_RELAXED);
		if (count)
			used += (size_t)snprintf(taken + used, sizeof(taken) - used, " N%d=%lu", n, count);
	}
	shim_out_put(out, "  %-14s pages: hugetlb %s; huge pages mapped per node:%s; fell back to normal pages: %lu%s%s\n",
	             "", size, used ? taken : " none", __atomic_load_n(&pages->fallbacks, __ATOMIC_RELAXED),
	             pages->why[0] ? "; " : "", pages->why);
}

void shim_pages_write_json(struct shim_out *out, const struct shim_route *route)
{
	const struct shim_pages *pages = &route->pages;
	static const char *const names[] = {"default", "thp", "nothp", "hugetlb"};
	if (pages->mode == AMLSHIM_PAGES_DEFAULT)
		return; /* the report of a rule without a modifier stays as it was */
	shim_out_put(out, ",\"pages\":{\"mode\":\"%s\",\"page_size\":%zu,\"huge_fallbacks\":%lu,\"huge_pages\":[",
	             pages->mode >= 0 && pages->mode < 4 ? names[pages->mode] : "default", pages->size,
	             __atomic_load_n(&pages->fallbacks, __ATOMIC_RELAXED));
	int first = 1;
	for (int n = 0; n < SHIM_PAGES_NODES; n++) {
		unsigned long count = __atomic_load_n(&pages->taken[n], __ATOMIC_RELAXED);
		if (count) {
			shim_out_put(out, "%s{\"node\":%d,\"pages\":%lu}", first ? "" : ",", n, count);
			first = 0;
		}
	}
	shim_out_put(out, "]}");
}
