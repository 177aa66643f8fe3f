/* Split and coalesce inside placed regions: a pool maps regions through its
 * area and hands out page-aligned pieces of them. Every piece of a region
 * (live, free or held) is on the region's address-ordered list (lower,
 * higher); free pieces are also on the pool's free set, by address, where
 * allocation takes the best fit and splits it, and where a freed piece
 * merges with its free neighbours. A piece keeps its region's placement:
 * the region was mbind'ed whole, and the kernel interleaves by page offset
 * in the mapping, so any page-aligned piece of it is placed as the region
 * is. Pure bookkeeping under the pool's lock, no system calls; records come
 * from registry.c's slab, never from malloc. */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>

#include "large_heap.h"
#include "pool.h"
#include "shim.h"

/* Regions start at 64 MiB and double with each one the pool holds, up to
 * 1 GiB: a few mappings (VMAs) however much the program holds. Only the
 * pages touched cost memory. */
#define REGION_MIN ((size_t)64 << 20)
#define REGION_MAX ((size_t)1 << 30)

size_t shim_heap_region_size(int regions, size_t want)
{
	size_t size = REGION_MIN << (regions < 4 ? regions : 4);
	return size > want ? size : want;
}

/* Set by mallopt(M_TRIM_THRESHOLD): exactly that (as glibc, which stops
 * adapting its own then). Otherwise it follows the working set, as glibc's
 * trim threshold does: a quarter of the bytes the program holds in the
 * pool's pieces, at least 32 MiB. A program replacing the buffers of its
 * live set then reuses pages without faulting them in again, and keeps
 * resident at most 1.25 times what it holds, about what glibc's heap
 * keeps; one that frees everything keeps the floor. */
size_t shim_heap_resident_bound(const struct shim_large_heap *h)
{
	size_t allowance = __atomic_load_n(&shim_large_resident_allowance, __ATOMIC_RELAXED);
	if (__atomic_load_n(&shim_large_allowance_set, __ATOMIC_RELAXED))
		return allowance;
	size_t quarter = __atomic_load_n(&h->live_bytes, __ATOMIC_RELAXED) / 4;
	return quarter > allowance ? quarter : allowance;
}

/* The resident bytes that go with part bytes cut from a piece: pages are
 * not tracked one by one, so the estimate takes them from the part first.
 * Pieces are cut from the low end, where the pages freed last usually are
 * (a freed piece merges with the untouched rest of a region above it); a
 * loop of one size then counts its pages once, not a share of the region
 * each time. */
static size_t share(size_t resident, size_t part)
{
	return resident < part ? resident : part;
}

static void free_unlink(struct shim_large_heap *h, struct shim_block *p)
{
	shim_block_unlink(&h->free, p);
	h->num_free--;
	h->free_bytes -= p->mapped;
	h->resident_free -= p->resident;
}

/* Into the free set after *after (NULL: at the head). */
static void free_link_after(struct shim_large_heap *h, struct shim_block *after, struct shim_block *p)
{
	p->prev = after;
	p->next = after ? after->next : h->free;
	if (p->next)
		p->next->prev = p;
	if (after)
		after->next = p;
	else
		h->free = p;
	h->num_free++;
	h->free_bytes += p->mapped;
	h->resident_free += p->resident;
}

/* The free piece below p's address, for the free set's order. */
static struct shim_block *free_before(const struct shim_large_heap *h, const struct shim_block *p)
{
	struct shim_block *after = NULL;
	for (struct shim_block *f = h->free; f && (uintptr_t)f->base < (uintptr_t)p->base; f = f->next)
		after = f;
	return after;
}

/* A new piece for [base, base + size) of p's region, just below or above
 * p on the region's list; NULL when no record is left. */
static struct shim_block *new_neighbour(struct shim_block *p, char *base, size_t size, int above)
{
	struct shim_block *n = shim_block_new();
	if (!n)
		return NULL;
	n->base = n->ptr = base;
	n->mapped = size;
	n->pool = p->pool;
	n->region = p->region;
	n->clean = p->clean;
	n->freed_at = p->freed_at;
	n->state = SHIM_PIECE_FREE;
	if (above) {
		n->lower = p;
		n->higher = p->higher;
		if (p->higher)
			p->higher->lower = n;
		p->higher = n;
	} else {
		n->higher = p;
		n->lower = p->lower;
		if (p->lower)
			p->lower->higher = n;
		p->lower = n;
	}
	return n;
}

void shim_heap_add_region(struct shim_large_heap *h, struct shim_block *region, struct shim_block *piece,
                          void *base, size_t size)
{
	region->kind = SHIM_BLOCK_REGION;
	region->base = region->ptr = base;
	region->mapped = size;
	region->prev = NULL;
	region->next = h->regions;
	if (h->regions)
		h->regions->prev = region;
	h->regions = region;
	h->num_regions++;
	h->region_bytes += size;
	*piece = (struct shim_block){.base = base, .ptr = base, .mapped = size, .pool = region->pool,
	                             .region = region, .state = SHIM_PIECE_FREE, .clean = 1};
	free_link_after(h, free_before(h, piece), piece);
	h->empty_regions++;
}

int shim_heap_piece_is_region(const struct shim_block *piece)
{
	return piece->region && piece->base == piece->region->base && piece->mapped == piece->region->mapped;
}

struct shim_block *shim_heap_take(struct shim_large_heap *h, size_t need, size_t alignment)
{
	struct shim_block *best = NULL;
	uintptr_t best_start = 0;
	for (struct shim_block *f = h->free; f; f = f->next) {
		uintptr_t base = (uintptr_t)f->base, start = (base + alignment - 1) & ~(uintptr_t)(alignment - 1);
		if (start - base > f->mapped || f->mapped - (start - base) < need)
			continue;
		if (!best || f->mapped < best->mapped) {
			best = f;
			best_start = start;
			if (f->mapped == need)
				break;
		}
	}
	if (!best)
		return NULL;
	size_t head = best_start - (uintptr_t)best->base;
	size_t tail = best->mapped - head - need;
	struct shim_block *after = best->prev;
	if (shim_heap_piece_is_region(best))
		h->empty_regions--;
	free_unlink(h, best);
	size_t resident = best->resident;
	if (head) {
		struct shim_block *lower = new_neighbour(best, best->base, head, 0);
		if (!lower) { /* no record: the piece stays free as it was */
			free_link_after(h, after, best);
			h->empty_regions += shim_heap_piece_is_region(best);
			return NULL;
		}
		lower->resident = share(resident, head);
		resident -= lower->resident;
		free_link_after(h, after, lower);
		after = lower;
		best->base = best->ptr = (char *)best_start;
		best->mapped -= head;
	}
	struct shim_block *upper = tail ? new_neighbour(best, (char *)best_start + need, tail, 1) : NULL;
	if (upper) { /* without a record, the tail stays with the piece */
		upper->resident = resident - share(resident, need);
		free_link_after(h, after, upper);
		best->mapped = need;
	}
	best->state = SHIM_PIECE_LIVE;
	best->resident = resident - (upper ? upper->resident : 0); /* for a room check (pool.c) */
	h->live_bytes += best->mapped;
	return best;
}


/* q (free) merges into p, its neighbour; q's record goes. */
static void absorb(struct shim_large_heap *h, struct shim_block *p, struct shim_block *q)
{
	free_unlink(h, q);
	if (q == p->lower) {
		p->base = p->ptr = q->base;
		p->lower = q->lower;
		if (q->lower)
			q->lower->higher = p;
	} else {
		p->higher = q->higher;
		if (q->higher)
			q->higher->lower = p;
	}
	p->mapped += q->mapped;
	p->resident += q->resident;
	p->clean &= q->clean;
	shim_block_delete(q);
}

/* A piece freed, or given back unused (clean kept). */
static struct shim_block *put_freed(struct shim_large_heap *h, struct shim_block *piece, size_t resident,
                                    unsigned long long now, uint8_t clean)
{
	if (piece->state == SHIM_PIECE_LIVE)
		h->live_bytes -= piece->mapped;
	piece->state = SHIM_PIECE_FREE;
	piece->clean = clean;
	piece->resident = resident;
	piece->freed_at = now;
	struct shim_block *lower = piece->lower, *higher = piece->higher;
	/* Where it goes in the free set: after the free piece below it. */
	struct shim_block *after;
	if (lower && lower->state == SHIM_PIECE_FREE)
		after = lower->prev;
	else if (higher && higher->state == SHIM_PIECE_FREE)
		after = higher->prev;
	else
		after = free_before(h, piece);
	if (lower && lower->state == SHIM_PIECE_FREE)
		absorb(h, piece, lower);
	if (higher && higher->state == SHIM_PIECE_FREE)
		absorb(h, piece, higher);
	free_link_after(h, after, piece);
	if (shim_heap_piece_is_region(piece))
		h->empty_regions++;
	return piece;
}

struct shim_block *shim_heap_put(struct shim_large_heap *h, struct shim_block *piece, size_t resident,
                                 unsigned long long now)
{
	return put_freed(h, piece, resident, now, 0);
}

void shim_heap_untake(struct shim_large_heap *h, struct shim_block *piece)
{
	put_freed(h, piece, piece->resident, piece->freed_at, piece->clean);
}

size_t shim_heap_growth_untouched(const struct shim_block *piece, size_t need)
{
	const struct shim_block *higher = piece->higher;
	if (!higher || higher->state != SHIM_PIECE_FREE || piece->mapped + higher->mapped < need)
		return 0;
	size_t more = need - piece->mapped;
	return more - share(higher->resident, more);
}

struct shim_block *shim_heap_drop_region(struct shim_large_heap *h, struct shim_block *piece)
{
	struct shim_block *region = piece->region;
	free_unlink(h, piece);
	h->empty_regions--;
	shim_block_delete(piece);
	shim_block_unlink(&h->regions, region);
	h->num_regions--;
	h->region_bytes -= region->mapped;
	return region;
}

void shim_heap_hold(struct shim_large_heap *h, struct shim_block *piece)
{
	if (shim_heap_piece_is_region(piece))
		h->empty_regions--;
	free_unlink(h, piece);
	piece->state = SHIM_PIECE_HELD;
}

int shim_heap_grow(struct shim_large_heap *h, struct shim_block *piece, size_t need)
{
	struct shim_block *higher = piece->higher;
	if (!higher || higher->state != SHIM_PIECE_FREE || piece->mapped + higher->mapped < need)
		return 0;
	size_t more = need - piece->mapped;
	struct shim_block *after = higher->prev;
	free_unlink(h, higher);
	if (more == higher->mapped) {
		piece->higher = higher->higher;
		if (higher->higher)
			higher->higher->lower = piece;
		shim_block_delete(higher);
	} else {
		size_t kept = higher->resident - share(higher->resident, more);
		higher->base = higher->ptr = (char *)higher->base + more;
		higher->mapped -= more;
		higher->resident = kept;
		free_link_after(h, after, higher);
	}
	piece->mapped = need;
	h->live_bytes += more;
	return 1;
}

int shim_heap_shrink(struct shim_large_heap *h, struct shim_block *piece, size_t need, size_t resident,
                     unsigned long long now)
{
	size_t tail = piece->mapped - need;
	struct shim_block *upper = new_neighbour(piece, (char *)piece->base + need, tail, 1);
	if (!upper)
		return 0;
	upper->state = SHIM_PIECE_LIVE; /* counted live until shim_heap_put frees it */
	piece->mapped = need;
	shim_heap_put(h, upper, resident, now);
	return 1;
}

void shim_heap_drop_surplus(struct shim_large_heap *h, struct shim_block *piece, struct shim_heap_out *out)
{
	if (shim_heap_piece_is_region(piece) && h->empty_regions > out->keep_empty &&
	    out->num_empty < SHIM_HEAP_BATCH)
		out->empty[out->num_empty++] = shim_heap_drop_region(h, piece);
}

#define SCAN_EVERY_NS 100000000ULL

int shim_heap_collect(struct shim_large_heap *h, unsigned long long now, unsigned long long age,
                      struct shim_heap_out *out)
{
	if (age && now - h->scanned_at < SCAN_EVERY_NS)
		return 0;
	h->scanned_at = now;
	for (struct shim_block *f = h->free, *next; f; f = next) {
		next = f->next;
		if (age && now - f->freed_at <= age)
			continue;
		if (shim_heap_piece_is_region(f)) {
			if (out->num_empty < SHIM_HEAP_BATCH)
				out->empty[out->num_empty++] = shim_heap_drop_region(h, f);
		} else if (f->resident && out->num_held < SHIM_HEAP_BATCH) {
			out->released += f->resident;
			shim_heap_hold(h, f);
			out->held[out->num_held++] = f;
		}
	}
	return out->num_held + out->num_empty;
}

/* Pages MADV_FREE'd stay in the RSS and its peak until the kernel wants
 * them, and pieces are cut at other offsets each time: a program that
 * touches a few pages of each piece would, in a long run, leave most pages
 * of its regions counted. Once four times the regions' size has been
 * advised, the free pieces that may hold such pages (not all resident, not
 * clean) go back with MADV_DONTNEED, a batch at each free until all have;
 * a program that reuses its freed pieces whole (their pages not faulted in
 * again) pays that rarely: four times fewer sweeps kept its time. */
void shim_heap_sweep_lazy(struct shim_large_heap *h, size_t advised, struct shim_heap_out *out)
{
	h->advised += advised;
	if (h->advised <= 4 * h->region_bytes)
		return;
	struct shim_block *f = h->free, *next;
	for (; f && out->num_held < SHIM_HEAP_BATCH; f = next) {
		next = f->next;
		if ((uintptr_t)f->base >= h->swept_to && !f->clean && f->resident < f->mapped) {
			out->advice = MADV_DONTNEED; /* for those collected with them too */
			h->swept_to = (uintptr_t)f->base + f->mapped;
			shim_heap_hold(h, f);
			out->held[out->num_held++] = f;
		}
	}
	if (!f)
		h->advised = h->swept_to = 0;
}
