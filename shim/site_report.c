/* The placement report's call sites: each AMLSHIM_SITES rule with what it
 * placed, what spilled to the size rules (its cap or its nodes full) and
 * where its live pages are (move_pages, every page), then the stacks seen
 * with the most bytes, as MODULE+OFFSET frames (caller first). */
#define _GNU_SOURCE
#include <string.h>

#include "page_size.h"
#include "site_modules.h"
#include "site_report.h"
#include "site_rules.h"
#include "site_table.h"
#include "stats.h"

#define TOP_SITES 10

/* The stacks with the most bytes, most first, the first TOP_SITES of
 * them; returns how many. */
static uint16_t top[SHIM_SITE_SLOTS];
static int top_sites(void)
{
	int n = shim_site_table_by_bytes(top);
	return n < TOP_SITES ? n : TOP_SITES;
}

static int last_node(const long *pages)
{
	int last = 0;
	for (int n = 0; n < SHIM_MAX_NODES; n++)
		if (pages[n])
			last = n;
	return last;
}

void shim_site_report_text(struct shim_out *out)
{
	if (shim_sites.min == SIZE_MAX)
		return;
	shim_out_put(out, "  call sites (from %zu bytes, %d frames): %d rules\n", shim_sites.min, shim_sites.depth,
	             shim_site_routes.count);
	for (int r = 0; r < shim_site_routes.count; r++) {
		struct shim_route *route = &shim_site_routes.rules[r];
		long pages[SHIM_MAX_NODES] = {0};
		shim_route_sample_nodes(route, pages);
		shim_out_put(out, "  site rule %d: %s\n    %lu allocs, %lu bytes, %lu live, %lu spills; area: %s%s%s; pages at exit:",
		             r + 1, shim_sites.parsed.rules[r].text, shim_counted(&route->count), shim_counted(&route->bytes),
		             shim_counted(&route->live), shim_counted(&shim_sites.spills[r]),
		             route->area_text[0] ? route->area_text : "not resolved", route->note[0] ? "; " : "", route->note);
		for (int n = 0; n <= last_node(pages); n++)
			shim_out_put(out, " node %d: %ld", n, pages[n]);
		shim_out_put(out, "\n");
		shim_pages_write_text(out, route);
	}
	int n = top_sites();
	for (int i = 0; i < n; i++) {
		const struct shim_site_entry *e = &shim_site_table[top[i]];
		char text[SHIM_SITE_TEXT_MAX];
		shim_site_text(e, text, sizeof(text));
		shim_out_put(out, "  site %s: %lu allocs, %lu bytes", text, shim_counted(&e->count), shim_counted(&e->bytes));
		if (e->rule >= 0)
			shim_out_put(out, " (rule %d)", e->rule + 1);
		shim_out_put(out, "\n");
	}
}

void shim_site_report_json(struct shim_out *out)
{
	if (shim_sites.min == SIZE_MAX)
		return;
	shim_out_put(out, ",\"site_min\":%zu,\"site_depth\":%d,\"sites\":[", shim_sites.min, shim_sites.depth);
	for (int r = 0; r < shim_site_routes.count; r++) {
		struct shim_route *route = &shim_site_routes.rules[r];
		long pages[SHIM_MAX_NODES] = {0};
		shim_route_sample_nodes(route, pages);
		shim_out_put(out, "%s{\"rule\":", r ? "," : "");
		shim_out_json_string(out, shim_sites.parsed.rules[r].text);
		shim_out_put(out, ",\"policy\":");
		shim_out_json_string(out, shim_sites.parsed.rules[r].placement.text);
		shim_out_put(out, ",\"cap\":%zu,\"area\":", shim_sites.parsed.rules[r].cap);
		shim_out_json_string(out, route->area_text);
		shim_out_put(out, ",\"note\":");
		shim_out_json_string(out, route->note);
		shim_out_put(out, ",\"count\":%lu,\"bytes\":%lu,\"live_bytes\":%lu,\"peak_bytes\":%lu,\"spills\":%lu,"
		             "\"fallbacks\":%lu,\"pages_exit\":[",
		             shim_counted(&route->count), shim_counted(&route->bytes), shim_counted(&route->live), shim_counted(&route->peak),
		             shim_counted(&shim_sites.spills[r]), shim_counted(&route->fallbacks));
		for (int n = 0; n <= last_node(pages); n++)
			shim_out_put(out, "%s%ld", n ? "," : "", pages[n]);
		shim_out_put(out, "]");
		shim_pages_write_json(out, route);
		shim_out_put(out, "}");
	}
	shim_out_put(out, "],\"top_sites\":[");
	int n = top_sites();
	for (int i = 0; i < n; i++) {
		const struct shim_site_entry *e = &shim_site_table[top[i]];
		char text[SHIM_SITE_TEXT_MAX];
		shim_site_text(e, text, sizeof(text));
		shim_out_put(out, "%s{\"site\":", i ? "," : "");
		shim_out_json_string(out, text);
		shim_out_put(out, ",\"count\":%lu,\"bytes\":%lu,\"rule\":", shim_counted(&e->count), shim_counted(&e->bytes));
		shim_out_put(out, e->rule >= 0 ? "%d}" : "null}", e->rule + 1);
	}
	shim_out_put(out, "],\"site_uncached\":%lu", shim_counted(&shim_sites.uncached));
}
