/* The small path: the private jemalloc, with arenas whose extents are carved
 * from one reserved virtual range. The range is cut into slices, one per
 * placement class: class 0 is AMLSHIM_SMALL (every allocation no rule
 * claims), classes 1.. serve rules that cover small sizes ("0-64K=local").
 * Ownership is one range compare, the class one shift. Each thread is bound
 * once to a class-0 arena and then calls plain jemalloc malloc/free with its
 * thread cache; other classes take an explicit arena without thread cache
 * (a cache hit would ignore the arena and mix placements). */
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
#include <sys/syscall.h>
#include <unistd.h>

#include "jemalloc_api.h"
#include "shim.h"

/* Options of the private copy: one automatic arena (jemalloc's internal
 * metadata only; user memory comes from our arenas), no background thread. */
const char *je_malloc_conf = "narenas:1,background_thread:false,abort_conf:false";

#define RESERVE_MAX ((size_t)1 << 40) /* virtual only: MAP_NORESERVE */
#define RESERVE_MIN ((size_t)1 << 28)
#define MAX_ARENAS 64

struct small_class {
	extent_hooks_t hooks; /* first: a hook finds its class from its hooks pointer */
	uintptr_t begin, end;
	uintptr_t next; /* bump pointer, advanced with CAS */
	/* Placement, precomputed: hooks run under jemalloc locks and may only
	 * make system calls. */
	int mode;
	unsigned long mask[AMLSHIM_NODE_WORDS];
	char text[96];
	unsigned arena[MAX_ARENAS];
	int created[MAX_ARENAS];
	int lock;
};

uintptr_t shim_small_base, shim_small_size;
static unsigned slice_shift;
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
uintptr_t shim_small_class0_size;
static SHIM_TLS unsigned thread_slot;

/* Applies a class's placement to a range; 0 or -1. MPOL_LOCAL takes no
 * node mask. */
static int place(struct small_class *class, uintptr_t start, size_t size)
{
	int mode = __atomic_load_n(&class->mode, __ATOMIC_ACQUIRE);
	if (mode == 0 || size == 0)
		return 0;
	int saved = errno;
	long ret = mode == 4 ? syscall(SYS_mbind, (void *)start, size, mode, NULL, 0UL, 0U)
	                     : syscall(SYS_mbind, (void *)start, size, mode, class->mask,
	                               (unsigned long)AMLSHIM_MAX_NODES + 1, 0U);
	errno = saved;
	return ret == 0 ? 0 : -1;
}

static void *hook_alloc(extent_hooks_t *hooks, void *new_addr, size_t size, size_t alignment,
                        bool *zero, bool *commit, unsigned arena_ind)
{
	(void)arena_ind;
	struct small_class *class = (struct small_class *)hooks;
	uintptr_t cur = __atomic_load_n(&class->next, __ATOMIC_RELAXED), start;
	do {
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
	} while (!__atomic_compare_exchange_n(&class->next, &cur, start + size, true,
	                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	place(class, start, size);
	*zero = true; /* never touched since reserved */
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
	madvise(addr, size, MADV_DONTNEED);
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
	int ret = madvise((char *)addr + off, len, advice);
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

static size_t reservation_size(void)
{
	size_t size = RESERVE_MAX;
	struct rlimit limit;
	if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
		/* Leave most of a limited address space to everything else. */
		while (size > RESERVE_MIN && size > limit.rlim_cur / 4)
			size >>= 1;
	}
	return size;
}

static int placement_mode(const struct amlshim_placement *placement)
{
	switch (placement->kind) {
	case AMLSHIM_PLACE_LOCAL: return 4; /* MPOL_LOCAL */
	case AMLSHIM_PLACE_BIND: return 2;
	case AMLSHIM_PLACE_PREFERRED: return 1;
	case AMLSHIM_PLACE_INTERLEAVE: return 3;
	default: return 0;
	}
}

int shim_small_placeable(const struct amlshim_placement *placement)
{
	return placement->kind == AMLSHIM_PLACE_DEFAULT || placement_mode(placement) != 0;
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
		syscall(SYS_get_mempolicy, NULL, class->mask, (unsigned long)AMLSHIM_MAX_NODES + 1, NULL,
		        4 /* MPOL_F_MEMS_ALLOWED */);
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
	for (size_t size = reservation_size(); size >= RESERVE_MIN; size >>= 1) {
		void *range = shim_os_mmap(NULL, size, PROT_READ | PROT_WRITE,
		                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (range == MAP_FAILED)
			continue;
		/* Power-of-two slices, so a pointer's class is one shift. */
		slice_shift = 63 - (unsigned)__builtin_clzl(size);
		while ((1UL << slice_shift) * (unsigned long)num_classes > size)
			slice_shift--;
		for (int c = 0; c < num_classes; c++) {
			classes[c].begin = classes[c].next = (uintptr_t)range + ((uintptr_t)c << slice_shift);
			classes[c].end = classes[c].begin + (1UL << slice_shift);
		}
		/* Base before size: with size set first, every pointer below it
		 * would look like ours for a moment. */
		__atomic_store_n(&shim_small_base, (uintptr_t)range, __ATOMIC_RELEASE);
		__atomic_store_n(&shim_small_size, (uintptr_t)num_classes << slice_shift, __ATOMIC_RELEASE);
		__atomic_store_n(&shim_small_class0_size, (uintptr_t)1 << slice_shift, __ATOMIC_RELEASE);
		break;
	}
	if (!shim_small_size) {
		shim_log(AMLSHIM_LOG_WARN, "cannot reserve address space for small objects; they stay with glibc");
		return -1;
	}
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
	if (class_index > 0) {
		int flags = class_flags(class_index, &index);
		if (flags >= 0)
			return nonnull_or_enomem(je_rallocx(ptr, at_least_min(size), flags));
	} else if (small_usable_here()) {
		return nonnull_or_enomem(je_realloc(ptr, at_least_min(size)));
	}
	/* Never let jemalloc's automatic arena serve the program: its memory
	 * lies outside our range and would look foreign. */
	void *moved = __libc_malloc(size);
	if (moved) {
		size_t old = je_malloc_usable_size(ptr);
		memcpy(moved, ptr, old < size ? old : size);
		shim_small_free(ptr);
	}
	return moved;
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
	for (unsigned s = 0; s < MAX_ARENAS; s++)
		slot_threads[s] = 0;
	if (thread_bound)
		slot_threads[thread_slot] = 1;
}

void shim_small_describe(char *buf, size_t len)
{
	snprintf(buf, len, "%s (%s, %zu GiB reserved)", classes[0].text,
	         small_enabled ? "jemalloc arenas" : "glibc", (size_t)(shim_small_size >> 30));
}
