/* What the shim's heaps hold, for the malloc extras (malloc_heaps.c). */
#ifndef AMLSHIM_MALLOC_HEAPS_H
#define AMLSHIM_MALLOC_HEAPS_H

#include <malloc.h>
#include <stddef.h>

struct shim_heap {
	size_t system;     /* bytes it holds from the kernel */
	size_t in_use;     /* bytes the program holds */
	size_t free_count; /* free blocks kept for reuse (cached large blocks) */
	size_t releasable; /* bytes malloc_trim gives back */
	size_t blocks;     /* live large blocks */
};

/* Bytes held but not in use. */
size_t shim_heap_free(const struct shim_heap *h);

/* glibc's mallinfo2 and the shim's heaps summed by kind. */
struct shim_heap_totals {
	struct mallinfo2 glibc;
	struct shim_heap small, large;
	int shim; /* the shim's heaps are included */
};

/* The shim's heaps can be read and trimmed: started, and this thread holds
 * none of its locks (a signal handler interrupting it). */
int shim_heaps_usable(void);
/* Fills t: glibc's numbers as given, the shim's heaps when usable. */
void shim_heaps_gather(struct shim_heap_totals *t, struct mallinfo2 glibc);
/* glibc's fields with the shim's heaps added (README: mallinfo2's fields). */
struct mallinfo2 shim_heaps_mallinfo2(const struct shim_heap_totals *t);
/* Gives back what the shim keeps (its heaps must be usable); 1 when
 * something was released. */
int shim_heaps_trim(void);

/* One heap, as malloc_stats and malloc_info list them. */
enum shim_heap_kind {
	SHIM_HEAP_GLIBC,    /* glibc's: before start-up, foreign pointers */
	SHIM_HEAP_JEMALLOC, /* one of jemalloc's own arenas */
	SHIM_HEAP_SMALL,    /* an arena of the shim's small placements */
	SHIM_HEAP_LARGE,    /* a large pool that holds memory */
};
struct shim_heap_entry {
	int nr; /* 0 (glibc's), then counting */
	enum shim_heap_kind kind;
	unsigned arena, threads; /* jemalloc arenas: its index, threads bound to it */
	const char *pool;        /* large pools: what it serves, for people */
	struct shim_heap heap;
};
/* Calls each for glibc's heap, every jemalloc arena, then every large pool
 * that holds memory (the shim's heaps must be usable). */
void shim_heaps_walk(const struct shim_heap_totals *t, void (*each)(const struct shim_heap_entry *, void *),
                     void *ctx);

#endif
