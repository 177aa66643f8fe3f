/* The small path (small.c): jemalloc arenas on a planned range. */
#ifndef AMLSHIM_SMALL_H
#define AMLSHIM_SMALL_H

#include "shim.h"

/* The range: num_classes slices of 1 << shim_small_slice_shift bytes from
 * shim_small_base (shim_small_size in all); of each, the first
 * shim_small_mapped[slice] bytes are mapped and jemalloc's, the rest is
 * not the shim's (the program may have mapped something there). */
extern SHIM_HIDDEN uintptr_t shim_small_base, shim_small_size;
extern SHIM_HIDDEN unsigned shim_small_slice_shift;
extern SHIM_HIDDEN uintptr_t shim_small_mapped[];
/* The primary class (chosen at start-up, shim_route_primary): the class of
 * sizes in shim_process's primary range, on slice 0 (the slices of class 0
 * and the primary swap places), served by plain jemalloc calls with its
 * implicit thread cache. Fast paths (override.c): a thread bound to the
 * primary's arena calls the private jemalloc directly for those sizes; a
 * pointer in slice 0's mapped front goes straight back to it. */
extern SHIM_HIDDEN int shim_small_primary;
extern SHIM_TLS int shim_small_bound;
#define shim_small_primary_size shim_small_mapped[0]
/* The primary class's allocations (for its rule's report counters): kept
 * per thread, taken at thread exit and by the report. */
struct shim_small_tally {
	unsigned long count, bytes;
};
extern SHIM_TLS struct shim_small_tally shim_small_tally;
static inline void shim_small_count(size_t size)
{
	shim_small_tally.count++;
	/* Two plain adds: gcc would otherwise make them one vector add of
	 * five more instructions, on malloc's fast path. */
	__asm__("" : "+m"(shim_small_tally.count));
	shim_small_tally.bytes += size;
}
/* What the primary class served since the last call (exited threads' and
 * this thread's), zeroed. */
struct shim_small_tally shim_small_take_tally(void);
static inline int shim_small_owns(const void *ptr)
{
	uintptr_t off = (uintptr_t)ptr - shim_small_base;
	if (off >= __atomic_load_n(&shim_small_size, __ATOMIC_ACQUIRE))
		return 0;
	unsigned shift = shim_small_slice_shift;
	return (off & (((uintptr_t)1 << shift) - 1)) <
	       __atomic_load_n(&shim_small_mapped[off >> shift], __ATOMIC_ACQUIRE);
}
/* Plans the range for class 0 (AMLSHIM_SMALL) and extra_classes more. */
int shim_small_init(int extra_classes);
/* Starts the private jemalloc, once (the first small allocation does); 0 or -1. */
int shim_small_open(void);
/* Whether arenas can carry a placement (an mbind policy, or default). */
int shim_small_placeable(const struct amlshim_placement *placement);
/* A class's placement, once its nodes are checked: extents from now on. */
void shim_small_set_placement(int class_index, const struct amlshim_placement *placement);
void *shim_small_class_alloc(int class_index, size_t size, size_t alignment, int zero);
int shim_small_class_of(const void *ptr);
void shim_small_before_fork(void);
void shim_small_after_fork(void);
void *shim_small_malloc(size_t size);
void *shim_small_calloc(size_t size);
void *shim_small_aligned(size_t alignment, size_t size);
void *shim_small_realloc(void *ptr, size_t size);
void shim_small_free(void *ptr);
size_t shim_small_usable(void *ptr);
void shim_small_describe(char *buf, size_t len);
void shim_small_after_fork_child(void); /* only this thread is left */
void shim_small_set_max_arenas(unsigned count); /* mallopt(M_ARENA_MAX) */

/* Start-up has set every class's placement: threads may bind from now on. */
void shim_small_placements_ready(void);

#endif
