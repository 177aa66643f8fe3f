/* The small path's planned range (small.c has the whole story): where it
 * lies (a random place low in the address space, checked free), its cut
 * into one power-of-two slice per class, and each slice's growth by
 * adjacent mappings as jemalloc asks for extents, under a share of
 * RLIMIT_AS. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include "small_class.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define RANGE_MAX ((size_t)1 << 40) /* planned, not mapped */
#define RANGE_MIN ((size_t)1 << 28)
/* Where the range is planned: below where the kernel puts mappings of its
 * own choice (top-down from below the stack, bottom-up from a third of the
 * address space in the legacy layout) and below a PIE program's brk heap,
 * so that the slices can keep growing; at a random 2 MiB boundary. */
#define HINT_LOW ((uintptr_t)1 << 40)
#define HINT_HIGH ((uintptr_t)1 << 45)
#define HINT_ALIGN ((uintptr_t)1 << 21)
#define HINT_TRIES 8
/* A slice grows by what jemalloc asks, at least GROW_MIN and an eighth of
 * what it has, in GROW_ALIGN steps: little slack, few system calls. */
#define GROW_MIN ((size_t)4 << 20)
#define GROW_ALIGN ((size_t)2 << 20)
#define GROW_MAX ((size_t)256 << 20)

uintptr_t shim_small_base, shim_small_size;
unsigned shim_small_slice_shift;
/* Bytes mapped from the start of each slice (not class); they only grow. */
uintptr_t shim_small_mapped[SHIM_MAX_CLASSES];

static inline size_t round_up(size_t value, size_t align)
{
	return (value + align - 1) & ~(align - 1);
}

/* Maps [addr, addr + len) where nothing is mapped yet; 0 or -1. The
 * mapping counts toward RLIMIT_AS: under the limit it may fail. */
static int map_at(uintptr_t addr, size_t len)
{
	void *got = aml_os_mmap((void *)addr, len, PROT_READ | PROT_WRITE,
	                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (got == (void *)addr)
		return 0;
	if (got != MAP_FAILED) /* a kernel before 4.17 took the address as a hint */
		aml_os_munmap(got, len);
	return -1;
}

/* How much more the slices may map: under an address-space limit, the
 * shim holds at most a quarter of it (jemalloc keeps what it was given for
 * reuse, so what the program peaks at stays mapped; the rest of the limit
 * stays for the program's own mappings, thread stacks, and glibc, which
 * serves small objects past that and gives memory back). Read each time:
 * the program may change the limit. */
static size_t allowed_growth(void)
{
	size_t limit = aml_os_address_space_limit();
	if (limit == SIZE_MAX)
		return SIZE_MAX;
	size_t total = 0;
	for (int c = 0; c < shim_small_num_classes; c++)
		total += __atomic_load_n(&shim_small_mapped[c], __ATOMIC_RELAXED);
	size_t share = limit / 4;
	return total < share ? share - total : 0;
}

/* Maps more of a class's slice, so that it covers up to want_end; 0 or -1
 * (the address space limit, or something else mapped next to the slice's
 * front: jemalloc then fails the allocation and the shim takes glibc's).
 * The new size is published after the mapping exists: a reader that sees
 * it finds jemalloc's memory there, and a pointer jemalloc hands out from
 * the new part is never taken for a foreign one. */
int shim_small_grow(struct small_class *class, uintptr_t want_end)
{
	uintptr_t *mapped = &shim_small_mapped[class->slice];
	int ret = 0;
	AML_KEEP_ERRNO;
	shim_lock(&class->grow_lock);
	uintptr_t have = __atomic_load_n(mapped, __ATOMIC_RELAXED), front = class->begin + have;
	if (want_end > front) {
		size_t need = want_end - front, room = class->end - front, allowed = allowed_growth();
		size_t exact = round_up(need, SHIM_PAGE);
		size_t step = have / 8 > GROW_MAX ? GROW_MAX : have / 8;
		step = round_up(need > step ? need : step < GROW_MIN ? GROW_MIN : step, GROW_ALIGN);
		if (step > room)
			step = room;
		if (step > allowed)
			step = exact;
		if (exact > room || exact > allowed)
			ret = -1;
		else if (map_at(front, step) != 0 && (step == exact || map_at(front, step = exact) != 0))
			ret = -1; /* the limit, or a mapping of the program's in the way */
		if (ret == 0)
			__atomic_store_n(mapped, have + step, __ATOMIC_RELEASE);
	}
	shim_unlock(&class->grow_lock);
	return ret;
}

static uint64_t random_bits(void)
{
	uint64_t r = aml_os_random_seed();
	r ^= r >> 31; /* splitmix64's finaliser */
	r *= 0x7fb5d329728ea185ULL;
	r ^= r >> 27;
	r *= 0x81dadef4bc3e0a5ULL;
	return r ^ (r >> 33);
}

enum probe { PROBE_FREE, PROBE_TAKEN, PROBE_UNKNOWN, PROBE_UNSUPPORTED };

/* Whether [addr, addr + size) is free, by mapping it PROT_NONE for a
 * moment. Unknown: the limit does not allow the look (or the range lies
 * past the address space). Under a limit, no look: for that moment another
 * thread's mapping could fail. */
static enum probe range_free(uintptr_t addr, size_t size)
{
	if (aml_os_address_space_limit() != SIZE_MAX)
		return PROBE_UNKNOWN;
	void *got = aml_os_mmap((void *)addr, size, PROT_NONE,
	                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (got == MAP_FAILED)
		return errno == EEXIST ? PROBE_TAKEN : PROBE_UNKNOWN;
	aml_os_munmap(got, size);
	return got == (void *)addr ? PROBE_FREE : PROBE_UNSUPPORTED; /* before Linux 4.17: a hint */
}

/* Cuts [base, base + size) into power-of-two slices, so that a pointer's
 * class is one shift (and a swap: the primary class's slice is the first),
 * and maps the front of the primary's; 0 or -1. */
static int plan_range(uintptr_t base, size_t size)
{
	/* Base before any mapped size (all 0 until grow succeeds): a pointer
	 * below base + mapped must never look like ours before base is set. */
	__atomic_store_n(&shim_small_base, base, __ATOMIC_RELEASE);
	slice_shift = 63 - (unsigned)__builtin_clzl(size);
	while ((1UL << slice_shift) * (unsigned long)shim_small_num_classes > size)
		slice_shift--;
	for (int c = 0; c < shim_small_num_classes; c++) {
		struct small_class *class = &shim_small_classes[c];
		class->slice = shim_small_slice_of(c);
		class->begin = class->next = base + ((uintptr_t)class->slice << slice_shift);
		class->end = class->begin + (1UL << slice_shift);
	}
	struct small_class *primary = &shim_small_classes[shim_small_primary];
	return shim_small_grow(primary, primary->begin + GROW_MIN);
}

/* Plans the range: at a random place low in the address space, checked
 * free when the limit allows a look; else where the kernel finds room for
 * it (growth may then meet the program's own mappings sooner). */
int shim_small_plan(void)
{
	AML_KEEP_ERRNO;
	int unknown = 0;
	for (int i = 0; i < HINT_TRIES; i++) {
		uintptr_t slots = (HINT_HIGH - RANGE_MAX - HINT_LOW) / HINT_ALIGN;
		uintptr_t base = HINT_LOW + (uintptr_t)(random_bits() % slots) * HINT_ALIGN;
		enum probe found = range_free(base, RANGE_MAX);
		if (found == PROBE_UNSUPPORTED)
			break;
		if (found == PROBE_TAKEN)
			continue;
		/* Unknown: the front is tried all the same; a few times only (past
		 * the address space, no try can work). */
		if (plan_range(base, RANGE_MAX) == 0) {
			return 0;
		}
		if (found == PROBE_UNKNOWN && ++unknown == 3)
			break;
	}
	for (size_t size = RANGE_MAX; size >= RANGE_MIN; size >>= 1) {
		void *got = aml_os_mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (got == MAP_FAILED)
			continue;
		aml_os_munmap(got, size);
		if (plan_range((uintptr_t)got, size) == 0) {
			return 0;
		}
	}
	return -1;
}
