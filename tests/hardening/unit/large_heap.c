/* The large pools' free set as a pure unit: shim/large_heap.c (and the
 * record slab of shim/registry.c) compiled into this program. Regions are
 * address ranges only (the heap never touches memory), so nothing is
 * mapped. Run plain, under ASan+UBSan and under valgrind.
 *
 * Checked, with the free set's invariants after every step (by address,
 * no two free pieces touching: coalesced, counts and byte sums right,
 * every region tiled by its pieces without gap or overlap):
 *  - pieces are cut from the region's start, split off the free rest;
 *  - best fit: a hole just big enough is taken before a larger free piece;
 *  - freed neighbours merge, down to one piece that is the whole region,
 *    which then leaves the heap (drop_region);
 *  - alignment: a piece at a 2 MiB boundary of a region that is not, its
 *    head left free;
 *  - in place: growth into a free upper neighbour (none when it is live),
 *    shrinking gives the tail back;
 *  - resident bytes follow pieces through splits and merges; held pieces
 *    neither merge nor are taken;
 *  - a piece given back unused (untake) leaves the heap as it was;
 *  - the sweep of lazily freed pieces: none before four times the regions'
 *    size is advised, then those neither clean nor all resident, a batch
 *    at a time, each once;
 *  - 20 000 random operations on two regions against a shadow list. */
#include "../../../shim/registry.c"
#include "../../../shim/large_heap.c"

#include <stdio.h>
#include <stdlib.h>

#include "check.h"

/* What shim/pool.c defines in the shim. */
SHIM_TLS int shim_locks_held;
size_t shim_large_resident_allowance = (size_t)32 << 20;
int shim_large_allowance_set;

#define MiB ((size_t)1 << 20)
#define PAGE ((size_t)4096)

static struct shim_large_heap heap;

/* The free set and the regions' piece lists agree with the counters. */
static void check_heap(const char *when)
{
	size_t free_bytes = 0, resident = 0, live = 0, region_bytes = 0;
	int num_free = 0, empty = 0, regions = 0;
	const struct shim_block *last = NULL;
	for (const struct shim_block *f = heap.free; f; f = f->next) {
		CHECK(f->state == SHIM_PIECE_FREE, "%s: a piece in the free set is not free", when);
		CHECK(f->prev == last, "%s: free set links broken", when);
		CHECK(!last || (uintptr_t)last->base < (uintptr_t)f->base, "%s: free set not by address", when);
		CHECK(f->resident <= f->mapped, "%s: resident %zu of a %zu-byte piece", when, f->resident, f->mapped);
		CHECK(!f->higher || f->higher->state != SHIM_PIECE_FREE, "%s: free pieces at %p and %p not merged",
		      when, f->base, f->higher->base);
		free_bytes += f->mapped;
		resident += f->resident;
		num_free++;
		empty += shim_heap_piece_is_region(f);
		last = f;
	}
	for (const struct shim_block *r = heap.regions; r; r = r->next) {
		regions++;
		region_bytes += r->mapped;
		/* Find the region's lowest piece from any free or live one. */
		const struct shim_block *p = NULL;
		for (const struct shim_block *f = heap.free; f && !p; f = f->next)
			if (f->region == r)
				p = f;
		if (!p)
			continue; /* all live: checked by the model's shadow */
		while (p->lower)
			p = p->lower;
		CHECK(p->base == r->base, "%s: region %p does not start with a piece", when, r->base);
		uintptr_t at = (uintptr_t)r->base;
		for (; p; p = p->higher) {
			CHECK((uintptr_t)p->base == at, "%s: gap or overlap at %p in region %p", when, p->base, r->base);
			CHECK(p->region == r && p->mapped && p->mapped % PAGE == 0, "%s: bad piece at %p", when, p->base);
			CHECK(!p->higher || p->higher->lower == p, "%s: region links broken at %p", when, p->base);
			if (p->state == SHIM_PIECE_LIVE)
				live += p->mapped;
			at += p->mapped;
		}
		CHECK(at == (uintptr_t)r->base + r->mapped, "%s: region %p not tiled to its end", when, r->base);
	}
	CHECK(num_free == heap.num_free && free_bytes == heap.free_bytes && resident == heap.resident_free,
	      "%s: free set %d pieces %zu bytes %zu resident, counters %d %zu %zu", when, num_free, free_bytes,
	      resident, heap.num_free, heap.free_bytes, heap.resident_free);
	CHECK(empty == heap.empty_regions, "%s: %d empty regions, counter %d", when, empty, heap.empty_regions);
	CHECK(regions == heap.num_regions && region_bytes == heap.region_bytes, "%s: region counters", when);
	CHECK(live <= heap.live_bytes, "%s: live pieces %zu, counter %zu", when, live, heap.live_bytes);
}

static void add_region(uintptr_t base, size_t size)
{
	struct shim_block *region = shim_block_new(), *first = shim_block_new();
	CHECK(region && first, "records");
	shim_heap_add_region(&heap, region, first, (void *)base, size);
	check_heap("add region");
}

static struct shim_block *take(size_t size, size_t alignment, const char *what)
{
	struct shim_block *p = shim_heap_take(&heap, size, alignment);
	CHECK(p && p->state == SHIM_PIECE_LIVE && p->mapped == size, "%s: take %zu", what, size);
	CHECK(((uintptr_t)p->base & (alignment - 1)) == 0, "%s: %p not aligned to %zu", what, p->base, alignment);
	check_heap(what);
	return p;
}

static struct shim_block *put(struct shim_block *p, size_t resident, const char *what)
{
	struct shim_block *merged = shim_heap_put(&heap, p, resident, 1);
	check_heap(what);
	return merged;
}

static void test_split_fit_merge(void)
{
	const uintptr_t base = (uintptr_t)1 << 40;
	add_region(base, 64 * MiB);
	CHECK(heap.empty_regions == 1 && heap.free_bytes == 64 * MiB && heap.resident_free == 0, "fresh region");
	struct shim_block *a = take(1 * MiB, PAGE, "a"), *b = take(2 * MiB, PAGE, "b"), *c = take(3 * MiB, PAGE, "c");
	CHECK((uintptr_t)a->base == base && (uintptr_t)b->base == base + MiB && (uintptr_t)c->base == base + 3 * MiB,
	      "pieces not cut in order: %p %p %p", a->base, b->base, c->base);
	CHECK(a->clean && heap.empty_regions == 0 && heap.num_free == 1, "after three takes");
	CHECK(heap.live_bytes == 6 * MiB, "live %zu", heap.live_bytes);
	/* b's hole: the best fit for 1.5 MiB, not the 58 MiB rest. */
	put(b, 2 * MiB, "free b");
	CHECK(heap.num_free == 2 && heap.resident_free == 2 * MiB, "b free: %d pieces", heap.num_free);
	struct shim_block *d = take(3 * MiB / 2, PAGE, "d");
	CHECK((uintptr_t)d->base == base + MiB, "best fit: %p, b's hole is at %p", d->base, (void *)(base + MiB));
	CHECK(!d->clean, "a reused piece must not say it is zero");
	CHECK(heap.resident_free == MiB / 2, "the rest of b keeps its share of resident: %zu", heap.resident_free);
	put(d, 3 * MiB / 2, "free d");
	/* a merges with b's hole, then c with both and the rest. */
	struct shim_block *m = put(a, MiB, "free a");
	CHECK(m->base == (void *)base && m->mapped == 3 * MiB && heap.num_free == 2, "a and b not merged");
	m = put(c, 0, "free c");
	CHECK(shim_heap_piece_is_region(m) && heap.num_free == 1 && heap.empty_regions == 1,
	      "not one free region after freeing everything (%d pieces)", heap.num_free);
	CHECK(heap.resident_free == 3 * MiB && heap.live_bytes == 0, "resident %zu live %zu", heap.resident_free,
	      heap.live_bytes);
	struct shim_block *region = shim_heap_drop_region(&heap, m);
	CHECK((uintptr_t)region->base == base && region->mapped == 64 * MiB, "dropped region");
	shim_block_delete(region);
	check_heap("dropped");
	CHECK(heap.num_regions == 0 && heap.region_bytes == 0 && heap.free == NULL, "heap not empty");
}

static void test_alignment_grow_shrink_hold(void)
{
	const uintptr_t base = ((uintptr_t)1 << 40) + PAGE; /* not 2 MiB aligned */
	add_region(base, 16 * MiB);
	struct shim_block *p = take(MiB, 2 * MiB, "aligned");
	CHECK((uintptr_t)p->base == ((uintptr_t)1 << 40) + 2 * MiB, "aligned piece at %p", p->base);
	CHECK(p->lower && p->lower->state == SHIM_PIECE_FREE && p->lower->mapped == 2 * MiB - PAGE, "head left free");
	CHECK(shim_heap_grow(&heap, p, 3 * MiB) && p->mapped == 3 * MiB, "grow into the free neighbour");
	check_heap("grown");
	struct shim_block *q = take(MiB, PAGE, "q");
	CHECK(shim_heap_shrink(&heap, p, MiB, MiB, 1) && p->mapped == MiB, "shrink");
	check_heap("shrunk");
	/* A held piece is neither taken nor merged. */
	struct shim_block *upper = p->higher;
	CHECK(upper && upper->state == SHIM_PIECE_FREE, "the shrunk tail is free");
	shim_heap_hold(&heap, upper);
	check_heap("held");
	CHECK(!shim_heap_grow(&heap, p, 2 * MiB), "grew into a held piece");
	struct shim_block *merged = put(p, MiB, "free p next to a held piece");
	CHECK(merged->higher == upper, "merged into a held piece");
	put(upper, 0, "held back");
	put(q, 0, "free q");
	CHECK(heap.num_free == 1 && heap.empty_regions == 1, "region not whole again: %d pieces", heap.num_free);
	shim_block_delete(shim_heap_drop_region(&heap, heap.free));
	check_heap("dropped");
}

/* A piece taken and given back unused (no room on bound nodes, pool.c):
 * the heap is as before, clean and resident bytes included; the resident
 * bytes of a piece taken, and of a growth, are known for the room check. */
static void test_untake(void)
{
	const uintptr_t base = (uintptr_t)1 << 40;
	add_region(base, 64 * MiB);
	struct shim_block *p = take(4 * MiB, PAGE, "fresh");
	CHECK(p->clean && p->resident == 0, "a fresh piece: clean %d, resident %zu", p->clean, p->resident);
	shim_heap_untake(&heap, p);
	check_heap("untaken fresh");
	CHECK(heap.num_free == 1 && heap.empty_regions == 1 && heap.free->clean && heap.resident_free == 0,
	      "fresh piece given back: %d pieces, clean %d", heap.num_free, heap.free->clean);
	put(take(8 * MiB, PAGE, "used"), 8 * MiB, "used freed");
	p = take(2 * MiB, PAGE, "reused");
	CHECK(p->resident == 2 * MiB && heap.resident_free == 6 * MiB, "reused piece: resident %zu, free %zu",
	      p->resident, heap.resident_free);
	CHECK(shim_heap_growth_untouched(p, 10 * MiB) == 2 * MiB, "growth by 8 MiB over 6 resident: %zu untouched",
	      shim_heap_growth_untouched(p, 10 * MiB));
	CHECK(shim_heap_growth_untouched(p, 65 * MiB) == 0, "a growth past the region counted");
	shim_heap_untake(&heap, p);
	check_heap("untaken reused");
	CHECK(heap.num_free == 1 && heap.resident_free == 8 * MiB && !heap.free->clean, "reused piece given back");
	shim_block_delete(shim_heap_drop_region(&heap, heap.free));
	check_heap("dropped");
}

static void test_sweep_lazy(void)
{
	enum { PIECES = 40 };
	struct shim_block *p[PIECES];
	struct shim_heap_out out = {.advice = MADV_FREE};
	add_region((uintptr_t)1 << 40, 64 * MiB);
	for (int i = 0; i < PIECES; i++)
		p[i] = take(MiB, PAGE, "sweep: take");
	for (int i = 0; i < PIECES; i += 2) /* 20 free pieces between live ones */
		put(p[i], i == 2 ? MiB : i == 4 ? MiB / 2 : 0, "sweep: free");
	shim_heap_sweep_lazy(&heap, 4 * 64 * MiB, &out);
	CHECK(out.num_held == 0 && out.advice == MADV_FREE, "swept %d pieces before 4x the regions' size", out.num_held);
	shim_heap_sweep_lazy(&heap, MiB, &out);
	CHECK(out.num_held == SHIM_HEAP_BATCH && out.advice == MADV_DONTNEED, "first batch: %d held", out.num_held);
	for (int i = 0; i < out.num_held; i++) /* as pool.c's settle */
		CHECK(out.held[i] != p[2] && out.held[i]->state == SHIM_PIECE_HELD, "first batch: piece %d", i);
	for (int i = 0; i < out.num_held; i++)
		put(out.held[i], 0, "sweep: back");
	out.num_held = 0;
	shim_heap_sweep_lazy(&heap, 0, &out);
	CHECK(out.num_held == 3 && heap.advised == 0, "second batch: %d held (3 left), advised %zu", out.num_held,
	      heap.advised);
	for (int i = 0; i < out.num_held; i++)
		CHECK(out.held[i] == p[PIECES - 6 + 2 * i], "second batch: piece %d is not the next one", i);
	for (int i = 0; i < out.num_held; i++)
		put(out.held[i], 0, "sweep: back");
	out.num_held = 0;
	shim_heap_sweep_lazy(&heap, MiB, &out);
	CHECK(out.num_held == 0, "swept again at once: %d", out.num_held);
	for (int i = 1; i < PIECES; i += 2)
		put(p[i], 0, "sweep: end");
	CHECK(heap.num_free == 1 && heap.empty_regions == 1, "sweep: %d free pieces at the end", heap.num_free);
	shim_block_delete(shim_heap_drop_region(&heap, heap.free));
	check_heap("sweep: dropped");
}

static void test_model(void)
{
	enum { SLOTS = 40 };
	struct shim_block *live[SLOTS] = {0};
	unsigned rng = 7;
	add_region((uintptr_t)1 << 40, 64 * MiB);
	add_region((uintptr_t)1 << 41, 128 * MiB);
	for (int i = 0; i < 20000; i++) {
		int slot = (int)((unsigned)rand_r(&rng) % SLOTS);
		if (live[slot]) {
			put(live[slot], live[slot]->mapped * (unsigned)(rand_r(&rng) % 2), "model free");
			live[slot] = NULL;
			continue;
		}
		size_t size = PAGE * (1 + (size_t)rand_r(&rng) % 2048);
		size_t alignment = PAGE << (rand_r(&rng) % 4 ? 0 : rand_r(&rng) % 10);
		struct shim_block *p = shim_heap_take(&heap, size, alignment);
		check_heap("model take");
		if (!p)
			continue; /* full or fragmented: fine, the pool maps a region */
		CHECK(p->mapped == size && ((uintptr_t)p->base & (alignment - 1)) == 0, "model: bad piece");
		for (int s = 0; s < SLOTS; s++)
			CHECK(!live[s] || (uintptr_t)live[s]->base + live[s]->mapped <= (uintptr_t)p->base ||
			              (uintptr_t)p->base + p->mapped <= (uintptr_t)live[s]->base,
			      "model: piece %p overlaps a live one", p->base);
		live[slot] = p;
	}
	for (int s = 0; s < SLOTS; s++)
		if (live[s])
			put(live[s], 0, "model end");
	CHECK(heap.num_free == 2 && heap.empty_regions == 2 && heap.live_bytes == 0,
	      "model: %d free pieces, %d empty regions at the end", heap.num_free, heap.empty_regions);
}

int main(void)
{
	test_split_fit_merge();
	test_alignment_grow_shrink_hold();
	test_untake();
	test_sweep_lazy();
	test_model();
	printf("large heap: split, best fit, merge, region release, alignment, grow, shrink, hold, untake, "
	       "lazy sweep, 20000 random operations: ok\n");
	return 0;
}
