/* The small path: the private jemalloc, with arenas whose extents are carved
 * from one planned virtual range. The range is cut into slices, one per
 * placement class: class 0 is AMLSHIM_SMALL (every allocation no rule
 * claims), classes 1.. serve rules that cover small sizes ("0-64K=local").
 * Only the front of each slice is mapped: it grows by adjacent mappings as
 * jemalloc asks for extents, so the shim holds little more address space
 * than it hands out (every mapping counts toward RLIMIT_AS, PROT_NONE and
 * MAP_NORESERVE ones too). Ownership is one range compare for class 0 (its
 * mapped front), two for the others; the class is one shift. Each thread is
 * bound once to a class-0 arena and then calls plain jemalloc malloc/free
 * with its thread cache; other classes take an explicit arena without
 * thread cache (a cache hit would ignore the arena and mix placements). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "jemalloc_api.h"
#include "shim.h"

/* Options of the private copy: one automatic arena (jemalloc's internal
 * metadata only; user memory comes from our arenas), no background thread. */
const char *je_malloc_conf = "narenas:1,background_thread:false,abort_conf:false";

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
#define MAX_ARENAS 64

struct small_class {
	extent_hooks_t hooks; /* first: a hook finds its class from its hooks pointer */
	uintptr_t begin, end; /* the slice */
	uintptr_t next;       /* bump pointer, advanced with CAS */
	int grow_lock;        /* held while mapping more of the slice */
	/* Placement, precomputed: hooks run under jemalloc locks and may only
	 * make system calls. */
	int mode; /* AML_MPOL_* (DEFAULT: none) */
	unsigned long mask[AMLSHIM_NODE_WORDS];
	char text[96];
	unsigned arena[MAX_ARENAS];
	int created[MAX_ARENAS];
	int lock;
};

uintptr_t shim_small_base, shim_small_size;
unsigned shim_small_slice_shift;
#define slice_shift shim_small_slice_shift
/* Bytes mapped from the start of each slice; they only grow. */
uintptr_t shim_small_mapped[SHIM_MAX_CLASSES];
static struct small_class classes[SHIM_MAX_CLASSES];
static int num_classes;
static int small_enabled;
static unsigned num_arenas;
/* Threads bound to each slot's arenas now: a new thread takes the least
 * loaded slot (as jemalloc's own arena choice does), so a program whose
 * threads come and go keeps reusing the same few arenas instead of
 * spreading its objects over all of them. */
static unsigned slot_threads[MAX_ARENAS];
static pthread_key_t slot_key;
static int slot_key_ready;
static void thread_gone(void *slot_plus_one);
static size_t thread_arena_mib[3], thread_arena_miblen = 3;
SHIM_TLS int shim_small_bound; /* this thread is bound to a class-0 arena */
#define thread_bound shim_small_bound
static SHIM_TLS unsigned thread_slot;

/* Applies a class's placement to a range; 0 or -1. MPOL_LOCAL takes no
 * node mask. */
static int place(struct small_class *class, uintptr_t start, size_t size)
{
	int mode = __atomic_load_n(&class->mode, __ATOMIC_ACQUIRE);
	if (mode == AML_MPOL_DEFAULT || size == 0)
		return 0;
	int saved = errno;
	long ret = mode == AML_MPOL_LOCAL ? aml_os_mbind((void *)start, size, mode, NULL, 0UL, 0U)
	                                  : aml_os_mbind((void *)start, size, mode, class->mask, AML_OS_MAXNODE, 0U);
	errno = saved;
	return ret == 0 ? 0 : -1;
}

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
	struct rlimit limit;
	int saved = errno;
	int limited = getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY;
	errno = saved;
	if (!limited)
		return SIZE_MAX;
	size_t total = 0;
	for (int c = 0; c < num_classes; c++)
		total += __atomic_load_n(&shim_small_mapped[c], __ATOMIC_RELAXED);
	size_t share = (size_t)(limit.rlim_cur / 4);
	return total < share ? share - total : 0;
}

/* Maps more of a class's slice, so that it covers up to want_end; 0 or -1
 * (the address space limit, or something else mapped next to the slice's
 * front: jemalloc then fails the allocation and the shim takes glibc's).
 * The new size is published after the mapping exists: a reader that sees
 * it finds jemalloc's memory there, and a pointer jemalloc hands out from
 * the new part is never taken for a foreign one. */
static int grow(struct small_class *class, uintptr_t want_end)
{
	uintptr_t *mapped = &shim_small_mapped[class - classes];
	int ret = 0, saved = errno;
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
	errno = saved;
	return ret;
}

static void *hook_alloc(extent_hooks_t *hooks, void *new_addr, size_t size, size_t alignment,
                        bool *zero, bool *commit, unsigned arena_ind)
{
	(void)arena_ind;
	struct small_class *class = (struct small_class *)hooks;
	const uintptr_t *mapped = &shim_small_mapped[class - classes];
	uintptr_t cur = __atomic_load_n(&class->next, __ATOMIC_RELAXED), start;
	for (;;) {
		if (new_addr) {
			/* Growing in place works only at the bump pointer. */
			if ((uintptr_t)new_addr != cur)
				return NULL;
			start = cur;
		} else {
			start = (cur + alignment - 1) & ~(uintptr_t)(alignment - 1);
		}
		if (start < cur || start + size > class->end || start + size < start)
			return NULL;
		if (start + size > class->begin + __atomic_load_n(mapped, __ATOMIC_ACQUIRE)) {
			if (grow(class, start + size) != 0)
				return NULL;
			cur = __atomic_load_n(&class->next, __ATOMIC_RELAXED);
			continue;
		}
		if (__atomic_compare_exchange_n(&class->next, &cur, start + size, true, __ATOMIC_RELAXED,
		                                __ATOMIC_RELAXED))
			break;
	}
	place(class, start, size);
	*zero = true; /* never touched since mapped */
	*commit = true;
	return (void *)start;
}

/* Extents stay in the range: jemalloc retains them for reuse. */
static bool hook_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind)
{
	(void)h, (void)addr, (void)size, (void)committed, (void)ind;
	return true;
}

static void hook_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind)
{
	(void)h, (void)committed, (void)ind;
	int saved = errno;
	aml_os_madvise(addr, size, MADV_DONTNEED);
	errno = saved;
}

static bool hook_commit(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind)
{
	(void)h, (void)addr, (void)size, (void)off, (void)len, (void)ind;
	return false; /* the range is always readable and writable */
}

static bool hook_decommit(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind)
{
	(void)h, (void)addr, (void)size, (void)off, (void)len, (void)ind;
	return true; /* opt out: jemalloc purges instead */
}

static bool purge(void *addr, size_t off, size_t len, int advice)
{
	int saved = errno;
	int ret = aml_os_madvise((char *)addr + off, len, advice);
	errno = saved;
	return ret != 0;
}

static bool hook_purge_lazy(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind)
{
	(void)h, (void)size, (void)ind;
	return purge(addr, off, len, MADV_FREE);
}

static bool hook_purge_forced(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind)
{
	(void)h, (void)size, (void)ind;
	return purge(addr, off, len, MADV_DONTNEED);
}

static bool hook_split(extent_hooks_t *h, void *addr, size_t size, size_t a, size_t b, bool committed, unsigned ind)
{
	(void)h, (void)addr, (void)size, (void)a, (void)b, (void)committed, (void)ind;
	return false;
}

/* Only extents of one class merge: a class is one slice of the range. */
static bool hook_merge(extent_hooks_t *h, void *a, size_t sa, void *b, size_t sb, bool committed, unsigned ind)
{
	(void)h, (void)a, (void)sa, (void)b, (void)sb, (void)committed, (void)ind;
	return false;
}

static const extent_hooks_t hooks_template = {
	hook_alloc, hook_dalloc, hook_destroy, hook_commit, hook_decommit,
	hook_purge_lazy, hook_purge_forced, hook_split, hook_merge,
};

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
	struct rlimit limit;
	if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
		return PROBE_UNKNOWN;
	void *got = aml_os_mmap((void *)addr, size, PROT_NONE,
	                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (got == MAP_FAILED)
		return errno == EEXIST ? PROBE_TAKEN : PROBE_UNKNOWN;
	aml_os_munmap(got, size);
	return got == (void *)addr ? PROBE_FREE : PROBE_UNSUPPORTED; /* before Linux 4.17: a hint */
}

/* Cuts [base, base + size) into power-of-two slices, so that a pointer's
 * class is one shift, and maps the front of class 0's; 0 or -1. */
static int plan_range(uintptr_t base, size_t size)
{
	/* Base before any mapped size (all 0 until grow succeeds): a pointer
	 * below base + mapped must never look like ours before base is set. */
	__atomic_store_n(&shim_small_base, base, __ATOMIC_RELEASE);
	slice_shift = 63 - (unsigned)__builtin_clzl(size);
	while ((1UL << slice_shift) * (unsigned long)num_classes > size)
		slice_shift--;
	for (int c = 0; c < num_classes; c++) {
		classes[c].begin = classes[c].next = base + ((uintptr_t)c << slice_shift);
		classes[c].end = classes[c].begin + (1UL << slice_shift);
	}
	return grow(&classes[0], classes[0].begin + GROW_MIN);
}

/* Plans the range: at a random place low in the address space, checked
 * free when the limit allows a look; else where the kernel finds room for
 * it (growth may then meet the program's own mappings sooner). */
static int plan(void)
{
	int saved = errno;
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
			errno = saved;
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
			errno = saved;
			return 0;
		}
	}
	errno = saved;
	return -1;
}

static int placement_mode(const struct amlshim_placement *placement)
{
	switch (placement->kind) {
	case AMLSHIM_PLACE_LOCAL: return AML_MPOL_LOCAL;
	case AMLSHIM_PLACE_BIND: return AML_MPOL_BIND;
	case AMLSHIM_PLACE_PREFERRED: return AML_MPOL_PREFERRED;
	case AMLSHIM_PLACE_INTERLEAVE: return AML_MPOL_INTERLEAVE;
	default: return AML_MPOL_DEFAULT;
	}
}

int shim_small_placeable(const struct amlshim_placement *placement)
{
	return placement->kind == AMLSHIM_PLACE_DEFAULT || placement_mode(placement) != AML_MPOL_DEFAULT;
}

void shim_small_set_placement(int class_index, const struct amlshim_placement *placement)
{
	if (class_index < 0 || class_index >= num_classes)
		return;
	struct small_class *class = &classes[class_index];
	for (size_t w = 0; w < AMLSHIM_NODE_WORDS; w++)
		class->mask[w] = placement->nodes[w];
	if (placement->all_nodes) {
		/* "all": the nodes this process may use, as the kernel says. */
		aml_os_get_mempolicy(NULL, class->mask, AML_OS_MAXNODE, NULL, AML_MPOL_F_MEMS_ALLOWED);
	}
	snprintf(class->text, sizeof(class->text), "%s", placement->text);
	__atomic_store_n(&class->mode, placement_mode(placement), __ATOMIC_RELEASE);
	/* Extents carved before start-up finished get the placement too:
	 * jemalloc keeps reusing them. Their resident pages stay where they
	 * are; new faults follow the policy. */
	uintptr_t carved = __atomic_load_n(&class->next, __ATOMIC_ACQUIRE);
	if (place(class, class->begin, carved - class->begin) != 0)
		shim_log(AMLSHIM_LOG_WARN, "small objects (%s): the kernel refused the placement", class->text);
}

int shim_small_init(int extra_classes)
{
	num_classes = 1 + extra_classes;
	if (num_classes > SHIM_MAX_CLASSES)
		num_classes = SHIM_MAX_CLASSES;
	for (int c = 0; c < num_classes; c++) {
		classes[c].hooks = hooks_template;
		snprintf(classes[c].text, sizeof(classes[c].text), "default");
	}
	if (plan() != 0) {
		shim_log(AMLSHIM_LOG_WARN, "cannot map address space for small objects; they stay with glibc");
		return -1;
	}
	__atomic_store_n(&shim_small_size, (uintptr_t)num_classes << slice_shift, __ATOMIC_RELEASE);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	num_arenas = cpus > 0 ? (unsigned)cpus * 4 : 4;
	if (num_arenas > MAX_ARENAS)
		num_arenas = MAX_ARENAS;
	if (je_mallctlnametomib("thread.arena", thread_arena_mib, &thread_arena_miblen) != 0) {
		shim_log(AMLSHIM_LOG_WARN, "jemalloc has no thread.arena control; small objects stay with glibc");
		return -1;
	}
	slot_key_ready = pthread_key_create(&slot_key, thread_gone) == 0;
	small_enabled = 1;
	return 0;
}

/* The arena of a class for this thread's slot, created on first use. */
static int arena_of(struct small_class *class, unsigned slot, unsigned *index)
{
	if (!__atomic_load_n(&class->created[slot], __ATOMIC_ACQUIRE)) {
		shim_lock(&class->lock);
		if (!class->created[slot]) {
			extent_hooks_t *hooks = &class->hooks;
			size_t len = sizeof(unsigned);
			if (je_mallctl("arenas.create", &class->arena[slot], &len, &hooks, sizeof(hooks)) == 0)
				__atomic_store_n(&class->created[slot], 1, __ATOMIC_RELEASE);
		}
		shim_unlock(&class->lock);
		if (!class->created[slot])
			return -1;
	}
	*index = class->arena[slot];
	return 0;
}

static void thread_gone(void *slot_plus_one)
{
	__atomic_sub_fetch(&slot_threads[(uintptr_t)slot_plus_one - 1], 1, __ATOMIC_RELAXED);
}

static unsigned least_loaded_slot(void)
{
	unsigned best = 0, best_threads = UINT_MAX;
	unsigned slots = __atomic_load_n(&num_arenas, __ATOMIC_RELAXED);
	for (unsigned s = 0; s < slots; s++) {
		unsigned threads = __atomic_load_n(&slot_threads[s], __ATOMIC_RELAXED);
		if (threads < best_threads) {
			best = s;
			best_threads = threads;
		}
	}
	return best;
}

/* mallopt(M_ARENA_MAX): threads bound from now on share the first slots;
 * those already bound keep their arenas. */
void shim_small_set_max_arenas(unsigned count)
{
	if (count > MAX_ARENAS)
		count = MAX_ARENAS;
	__atomic_store_n(&num_arenas, count ? count : 1, __ATOMIC_RELAXED);
}

/* Binds this thread to a class-0 arena: from then on plain jemalloc calls
 * (with the thread cache) serve it. */
static int bind_thread(void)
{
	thread_slot = least_loaded_slot();
	unsigned index;
	if (arena_of(&classes[0], thread_slot, &index) != 0 ||
	    je_mallctlbymib(thread_arena_mib, thread_arena_miblen, NULL, NULL, &index, sizeof(index)) != 0)
		return -1;
	thread_bound = 1;
	__atomic_add_fetch(&slot_threads[thread_slot], 1, __ATOMIC_RELAXED);
	/* Bound first: a key past the first 32 makes glibc allocate here. */
	if (slot_key_ready)
		pthread_setspecific(slot_key, (void *)(uintptr_t)(thread_slot + 1));
	return 0;
}

static inline int small_usable_here(void)
{
	return SHIM_LIKELY(thread_bound) || (small_enabled && bind_thread() == 0);
}

/* jemalloc's realloc leaves errno alone when a size is too large. */
static void *nonnull_or_enomem(void *ptr)
{
	if (!ptr)
		errno = ENOMEM;
	return ptr;
}

static inline size_t at_least_min(size_t size)
{
	return size < SHIM_MIN_ALIGN ? SHIM_MIN_ALIGN : size;
}

void *shim_small_malloc(size_t size)
{
	if (!small_usable_here())
		return __libc_malloc(size);
	void *ptr = je_malloc(at_least_min(size));
	return ptr ? ptr : __libc_malloc(size); /* range exhausted: glibc still works */
}

void *shim_small_calloc(size_t size)
{
	if (!small_usable_here())
		return __libc_calloc(1, size);
	void *ptr = je_calloc(1, at_least_min(size));
	return ptr ? ptr : __libc_calloc(1, size);
}

void *shim_small_aligned(size_t alignment, size_t size)
{
	if (alignment < SHIM_MIN_ALIGN)
		alignment = SHIM_MIN_ALIGN;
	if (!small_usable_here())
		return __libc_memalign(alignment, size);
	void *ptr = je_mallocx(at_least_min(size), MALLOCX_ALIGN(alignment));
	return ptr ? ptr : __libc_memalign(alignment, size);
}

/* Flags that put an allocation of a class's arena, cache bypassed. */
static int class_flags(int class_index, unsigned *index)
{
	if (!small_usable_here() || class_index <= 0 || class_index >= num_classes ||
	    arena_of(&classes[class_index], thread_slot, index) != 0)
		return -1;
	return MALLOCX_ARENA(*index) | MALLOCX_TCACHE_NONE;
}

void *shim_small_class_alloc(int class_index, size_t size, size_t alignment, int zero)
{
	unsigned index;
	int flags = class_flags(class_index, &index);
	if (flags < 0)
		return zero ? shim_small_calloc(size) : shim_small_aligned(alignment, size);
	if (alignment > SHIM_MIN_ALIGN)
		flags |= MALLOCX_ALIGN(alignment);
	if (zero)
		flags |= MALLOCX_ZERO;
	void *ptr = je_mallocx(at_least_min(size), flags);
	if (!ptr) /* slice exhausted: the plain path still works */
		return zero ? shim_small_calloc(size) : shim_small_aligned(alignment, size);
	return ptr;
}

/* fork: the arena-creation locks are held across it (see fork.c). */
void shim_small_before_fork(void)
{
	for (int c = 0; c < num_classes; c++)
		shim_lock(&classes[c].lock);
}

void shim_small_after_fork(void)
{
	for (int c = 0; c < num_classes; c++)
		shim_unlock(&classes[c].lock);
}

int shim_small_class_of(const void *ptr)
{
	return (int)(((uintptr_t)ptr - shim_small_base) >> slice_shift);
}

void *shim_small_realloc(void *ptr, size_t size)
{
	int class_index = shim_small_class_of(ptr);
	unsigned index;
	void *moved = NULL;
	if (class_index > 0) {
		int flags = class_flags(class_index, &index);
		if (flags >= 0)
			moved = je_rallocx(ptr, at_least_min(size), flags);
	} else if (small_usable_here()) {
		moved = je_realloc(ptr, at_least_min(size));
	}
	if (moved)
		return moved;
	/* jemalloc could not (its share of an address-space limit is used up)
	 * or may not serve this thread: glibc takes the block. Never let
	 * jemalloc's automatic arena serve the program: its memory lies
	 * outside our range and would look foreign. */
	moved = __libc_malloc(size);
	if (moved) {
		size_t old = je_malloc_usable_size(ptr);
		memcpy(moved, ptr, old < size ? old : size);
		shim_small_free(ptr);
	}
	return nonnull_or_enomem(moved);
}

void shim_small_free(void *ptr)
{
	if (SHIM_LIKELY(shim_small_class_of(ptr) == 0))
		je_free(ptr);
	else
		je_dallocx(ptr, MALLOCX_TCACHE_NONE);
}

size_t shim_small_usable(void *ptr)
{
	return je_malloc_usable_size(ptr);
}

void shim_small_after_fork_child(void)
{
	/* Held only inside a hook, which jemalloc's own fork handler waits for;
	 * whoever held one is gone. */
	for (int c = 0; c < num_classes; c++)
		classes[c].grow_lock = 0;
	for (unsigned s = 0; s < MAX_ARENAS; s++)
		slot_threads[s] = 0;
	if (thread_bound)
		slot_threads[thread_slot] = 1;
}

void shim_small_describe(char *buf, size_t len)
{
	size_t mapped = 0;
	for (int c = 0; c < num_classes; c++)
		mapped += __atomic_load_n(&shim_small_mapped[c], __ATOMIC_RELAXED);
	if (!small_enabled)
		snprintf(buf, len, "%s (glibc)", classes[0].text);
	else
		snprintf(buf, len, "%s (jemalloc arenas, %zu MiB mapped of a %zu GiB range)", classes[0].text,
		         mapped >> 20, (size_t)(shim_small_size >> 30));
}
