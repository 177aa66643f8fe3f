/* malloc_info: glibc's XML document (<malloc version="1">, a <heap> per
 * heap, then the totals), the shim's heaps listed after glibc's, each with
 * its kind. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>

#include "malloc_extras.h"

/* Attribute text: the XML specials escaped. */
static void xml_text(FILE *fp, const char *text)
{
	for (; *text; text++) {
		switch (*text) {
		case '&': fputs("&amp;", fp); break;
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '"': fputs("&quot;", fp); break;
		default: fputc(*text, fp); break;
		}
	}
}

/* The elements every heap has: fast (glibc's fastbins), rest (free space:
 * count = free blocks), inuse (what the program holds), system. */
static void xml_heap_body(FILE *fp, size_t fast_count, size_t fast_size, const struct shim_heap *h)
{
	fprintf(fp, "<sizes>\n</sizes>\n");
	fprintf(fp, "<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n", fast_count, fast_size);
	fprintf(fp, "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n", h->free_count, shim_heap_free(h));
	fprintf(fp, "<total type=\"inuse\" count=\"%zu\" size=\"%zu\"/>\n", h->blocks, h->in_use);
	fprintf(fp, "<system type=\"current\" size=\"%zu\"/>\n", h->system);
	fprintf(fp, "<aspace type=\"total\" size=\"%zu\"/>\n", h->system);
}

struct xml_walk {
	FILE *fp;
	const struct shim_heap_totals *t;
};

static void xml_heap(const struct shim_heap_entry *e, void *ctx)
{
	const struct xml_walk *walk = ctx;
	FILE *fp = walk->fp;
	const struct shim_heap *h = &e->heap;
	switch (e->kind) {
	case SHIM_HEAP_GLIBC:
		fprintf(fp, "<heap nr=\"0\" kind=\"glibc\">\n");
		xml_heap_body(fp, walk->t->glibc.smblks, walk->t->glibc.fsmblks, h);
		break;
	case SHIM_HEAP_JEMALLOC:
	case SHIM_HEAP_SMALL:
		fprintf(fp, "<heap nr=\"%d\" kind=\"%s\" arena=\"%u\" threads=\"%u\">\n", e->nr,
		        e->kind == SHIM_HEAP_JEMALLOC ? "jemalloc" : "small", e->arena, e->threads);
		xml_heap_body(fp, 0, 0, h);
		fprintf(fp, "<total type=\"dirty\" count=\"0\" size=\"%zu\"/>\n", h->releasable);
		break;
	case SHIM_HEAP_LARGE:
		fprintf(fp, "<heap nr=\"%d\" kind=\"large\" pool=\"", e->nr);
		xml_text(fp, e->pool);
		fprintf(fp, "\">\n");
		/* Free blocks here are whole cached blocks; rest also counts the
		 * page rounding of live ones. */
		xml_heap_body(fp, 0, 0, h);
		fprintf(fp, "<total type=\"cached\" count=\"%zu\" size=\"%zu\"/>\n", h->free_count, h->releasable);
		break;
	}
	fprintf(fp, "</heap>\n");
}

EXTRAS_EXPORT int malloc_info(int options, FILE *fp)
{
	const struct shim_extras *in_front = shim_extras_front();
	if (in_front && in_front->xml)
		return in_front->xml(options, fp);
	if (options != 0)
		return EINVAL; /* as glibc: returned, errno untouched */
	if (!shim_heaps_usable())
		return shim_extras_glibc()->xml ? shim_extras_glibc()->xml(options, fp) : EINVAL;
	struct shim_heap_totals t;
	shim_extras_gather(&t);
	struct mallinfo2 info = shim_heaps_mallinfo2(&t);
	fprintf(fp, "<malloc version=\"1\">\n");
	struct xml_walk walk = {fp, &t};
	shim_heaps_walk(&t, xml_heap, &walk);
	/* The totals are mallinfo2's: rest = fordblks, inuse = uordblks,
	 * system = arena, mmap = glibc's own mmapped chunks. */
	fprintf(fp, "<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n", info.smblks, info.fsmblks);
	fprintf(fp, "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n", info.ordblks, info.fordblks);
	fprintf(fp, "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n", info.hblks, info.hblkhd);
	fprintf(fp, "<total type=\"inuse\" count=\"%zu\" size=\"%zu\"/>\n", t.large.blocks, info.uordblks);
	fprintf(fp, "<total type=\"cached\" count=\"%zu\" size=\"%zu\"/>\n", t.large.free_count, t.large.releasable);
	fprintf(fp, "<system type=\"current\" size=\"%zu\"/>\n", info.arena);
	fprintf(fp, "<aspace type=\"total\" size=\"%zu\"/>\n", info.arena + info.hblkhd);
	fprintf(fp, "</malloc>\n");
	return 0;
}
