/* A thread cache per placement class (small_tcache.c): the jemalloc flag
 * that sends a class's allocation or free through this thread's own cache
 * of that class. */
#ifndef AMLSHIM_SMALL_TCACHE_H
#define AMLSHIM_SMALL_TCACHE_H

#include "jemalloc_api.h"
#include "shim.h"

/* Per class: MALLOCX_TCACHE(id) of this thread's cache, MALLOCX_TCACHE_NONE
 * (none could be made, or the thread is exiting), 0 (not made yet). */
extern SHIM_TLS int shim_small_tcache_flags[SHIM_MAX_CLASSES];
/* Makes this thread's cache of a class; its flag. */
int shim_small_tcache_create(int class_index);

/* This thread's caches back to their arenas (malloc_trim). */
void shim_small_tcache_flush(void);

/* The cache flag for a class (never the primary: it has jemalloc's own). */
static inline int shim_small_tcache(int class_index)
{
	int flag = shim_small_tcache_flags[class_index];
	return SHIM_LIKELY(flag != 0) ? flag : shim_small_tcache_create(class_index);
}

#endif
