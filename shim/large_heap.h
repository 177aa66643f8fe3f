/* Split and coalesce inside placed regions (large_heap.c): the free pieces
 * of a pool's regions, found by best fit, split on allocation, merged with
 * their free neighbours when freed. No system calls: the pool (pool.c)
 * maps, advises and unmaps, outside its lock; everything here runs under
 * it. */
#ifndef AMLSHIM_LARGE_HEAP_H
#define AMLSHIM_LARGE_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

struct shim_large_heap {
	struct shim_block *free;    /* free pieces, by address (prev/next) */
	struct shim_block *regions; /* every region (prev/next) */
	size_t region_bytes;        /* mapped in regions */
	size_t free_bytes;          /* in free pieces */
	size_t resident_free;       /* of which may be resident (not advised) */
	size_t live_bytes;          /* in pieces the program holds */
	int num_free, num_regions;
	int empty_regions;          /* wholly free regions kept */
	unsigned long long scanned_at; /* the last look for pieces free too long */
	size_t advised;             /* MADV_FREE'd since the last sweep */
	uintptr_t swept_to;         /* where the sweep goes on */
};

/* What leaves the heap under the lock, for the pool's system calls after. */
#define SHIM_HEAP_BATCH 16
struct shim_heap_out {
	struct shim_block *held[SHIM_HEAP_BATCH];  /* free pieces whose pages go back */
	struct shim_block *empty[SHIM_HEAP_BATCH]; /* wholly free regions to unmap */
	int num_held, num_empty;
	int advice;                                /* for held pieces */
	int keep_empty;                            /* wholly free regions kept: 1, trim 0 */
	size_t released;                           /* bytes given back (trim) */
};

/* The size of a pool's next region, holding regions already and want
 * bytes at least. */
size_t shim_heap_region_size(int regions, size_t want);
/* Resident bytes of free pieces a pool keeps; beyond, a freed piece is
 * MADV_FREE'd before it becomes reusable (pool.c). */
size_t shim_heap_resident_bound(const struct shim_large_heap *h);
/* A region of size bytes at base (records from shim_block_new) joins the
 * heap as one free piece, none of it resident. */
void shim_heap_add_region(struct shim_large_heap *h, struct shim_block *region, struct shim_block *piece,
                          void *base, size_t size);
/* The best-fitting free piece that holds need bytes from an alignment
 * boundary, split to exactly that (page multiples; head and tail stay
 * free), marked live, its resident bytes kept in its record; or NULL. */
struct shim_block *shim_heap_take(struct shim_large_heap *h, size_t need, size_t alignment);
/* A piece just taken goes back unused, as it was (resident, clean): the
 * pool found no room for it on its bound nodes. */
void shim_heap_untake(struct shim_large_heap *h, struct shim_block *piece);
/* A piece the program freed becomes free, merged with free neighbours;
 * resident says how much of it may be resident. Returns the merged piece. */
struct shim_block *shim_heap_put(struct shim_large_heap *h, struct shim_block *piece, size_t resident,
                                 unsigned long long now);
/* Whether a free piece is its whole region. */
int shim_heap_piece_is_region(const struct shim_block *piece);
/* A wholly free region leaves the heap; its piece's record is deleted and
 * the region's returned, for the caller to unmap and delete. */
struct shim_block *shim_heap_drop_region(struct shim_large_heap *h, struct shim_block *piece);
/* A free piece leaves the free set while the caller advises its pages
 * (neighbours cannot merge with it); shim_heap_put brings it back. */
void shim_heap_hold(struct shim_large_heap *h, struct shim_block *piece);
/* A live piece grows in place to need bytes from its free upper
 * neighbour; 0 when that is not free or too small. */
int shim_heap_grow(struct shim_large_heap *h, struct shim_block *piece, size_t need);
/* Of the bytes shim_heap_grow would add to reach need, those not resident
 * (0 also when it cannot grow). */
size_t shim_heap_growth_untouched(const struct shim_block *piece, size_t need);
/* A live piece keeps need bytes; the rest becomes free (merged; resident:
 * how much of it may be resident). 0 when no record was left for it. */
int shim_heap_shrink(struct shim_large_heap *h, struct shim_block *piece, size_t need, size_t resident,
                     unsigned long long now);

/* A merged free piece that is a whole region, beyond out->keep_empty
 * such, leaves the heap for out->empty. */
void shim_heap_drop_surplus(struct shim_large_heap *h, struct shim_block *piece, struct shim_heap_out *out);
/* Free pieces free for longer than age (0: all, for trim; else at most
 * every 100 ms): whole regions leave for out->empty, pieces with resident
 * pages are held, for out->held. Returns how many. */
int shim_heap_collect(struct shim_large_heap *h, unsigned long long now, unsigned long long age,
                      struct shim_heap_out *out);
/* advised more bytes were MADV_FREE'd; once that passes four times the
 * regions' size, free pieces that may hold such pages are held, a batch at each
 * call, for out->held, and out->advice becomes MADV_DONTNEED. */
void shim_heap_sweep_lazy(struct shim_large_heap *h, size_t advised, struct shim_heap_out *out);

#endif
