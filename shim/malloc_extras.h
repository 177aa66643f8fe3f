/* Whose malloc extras run (malloc_extras.c): glibc's, behind the shim, and
 * those of an allocator preloaded in front of it. */
#ifndef AMLSHIM_MALLOC_EXTRAS_H
#define AMLSHIM_MALLOC_EXTRAS_H

#include <malloc.h>
#include <stddef.h>
#include <stdio.h>

#include "malloc_heaps.h"

#define EXTRAS_EXPORT __attribute__((visibility("default")))

struct shim_extras {
	int (*trim)(size_t);
	struct mallinfo2 (*info2)(void);
	struct mallinfo (*info)(void);
	void (*stats)(void);
	int (*xml)(int, FILE *);
	int (*opt)(int, int);
};

/* glibc's functions; resolved here when a call comes before start-up. */
const struct shim_extras *shim_extras_glibc(void);
/* The allocator in front owns malloc: its functions (NULL where it lacks
 * one), or NULL when there is none. */
const struct shim_extras *shim_extras_front(void);
/* glibc's mallinfo2 and the shim's heaps. */
void shim_extras_gather(struct shim_heap_totals *t);
/* Finds glibc's extras (and those of an allocator in front); at start-up,
 * so that a call from a fork child or a signal handler needs no dlsym. */
void shim_extras_resolve(void);

#endif
