/* malloc_stats: glibc's layout on fd 2 (an "Arena N:" block per heap, then
 * the totals), written with write(2), the shim's heaps listed after
 * glibc's. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <unistd.h>

#include "malloc_extras.h"
#include "shim.h"

static void out_heap(struct shim_out *out, const struct shim_heap *h)
{
	shim_out_put(out, "system bytes     = %10zu\n", h->system);
	shim_out_put(out, "in use bytes     = %10zu\n", h->in_use);
}

static void stats_heap(const struct shim_heap_entry *e, void *ctx)
{
	struct shim_out *out = ctx;
	switch (e->kind) {
	case SHIM_HEAP_GLIBC:
		shim_out_put(out, "Arena 0: glibc (allocations from before the shim started, foreign pointers)\n");
		break;
	case SHIM_HEAP_JEMALLOC:
	case SHIM_HEAP_SMALL:
		shim_out_put(out, "Arena %d: small objects, jemalloc arena %u%s\n", e->nr, e->arena,
		             e->kind == SHIM_HEAP_JEMALLOC ? " (jemalloc's own)" : "");
		break;
	case SHIM_HEAP_LARGE:
		shim_out_put(out, "Arena %d: large blocks, %s\n", e->nr, e->pool);
		break;
	}
	out_heap(out, &e->heap);
	if (e->kind == SHIM_HEAP_LARGE)
		shim_out_put(out, "cached blocks    = %10zu\n", e->heap.free_count);
}

EXTRAS_EXPORT void malloc_stats(void)
{
	const struct shim_extras *in_front = shim_extras_front();
	if (in_front && in_front->stats) {
		in_front->stats();
		return;
	}
	if (!shim_heaps_usable()) {
		if (shim_extras_glibc()->stats)
			shim_extras_glibc()->stats();
		return;
	}
	AML_KEEP_ERRNO;
	struct shim_heap_totals t;
	shim_extras_gather(&t);
	struct shim_out out = {.fd = STDERR_FILENO};
	shim_heaps_walk(&t, stats_heap, &out);
	struct mallinfo2 info = shim_heaps_mallinfo2(&t);
	shim_out_put(&out, "Total (incl. mmap):\n");
	shim_out_put(&out, "system bytes     = %10zu\n", info.arena + info.hblkhd);
	shim_out_put(&out, "in use bytes     = %10zu\n", info.uordblks + info.hblkhd);
	shim_out_put(&out, "large blocks     = %10zu\n", t.large.blocks);
	shim_out_put(&out, "cached blocks    = %10zu\n", t.large.free_count);
	shim_out_put(&out, "trimmable bytes  = %10zu\n", info.keepcost);
	shim_out_flush(&out);
}
