/* The small path: the private jemalloc, with arenas whose extents are carved
 * from one planned virtual range. The range is cut into slices, one per
 * placement class: class 0 is AMLSHIM_SMALL (every allocation no rule
 * claims), classes 1.. serve rules that cover small sizes ("0-64K=local").
 * Only the front of each slice is mapped: it grows by adjacent mappings as
 * jemalloc asks for extents, so the shim holds little more address space
 * than it hands out (every mapping counts toward RLIMIT_AS, PROT_NONE and
 * MAP_NORESERVE ones too). Ownership is one range compare for the primary
 * class (slice 0's mapped front, small.h), two for the others; the class is
 * one shift and a swap. Each thread is bound once to an arena of the
 * primary class (the class serving most of the sizes jemalloc caches:
 * class 0, or a rule's "0-64K=local"; routes.c) and then calls plain
 * jemalloc malloc/free with its thread cache; other classes, class 0
 * included when it is not the primary, take an explicit arena and the
 * thread's cache of that class, which frees of its pointers go through.
 *
 * Invariant: jemalloc's implicit thread cache only ever holds objects of
 * the primary class (a hit ignores the arena: another class's object in
 * it would be handed out with the wrong placement). So every plain
 * je_malloc/je_calloc/je_realloc and every mallocx without MALLOCX_TCACHE
 * is for the primary class (shim_small_malloc, _calloc, _aligned, and
 * realloc of a primary pointer), and every plain je_free is of a pointer
 * on the primary's slice (override.c's free, shim_small_free).
 *
 * This file: the classes, their arenas and the calls; the range is
 * small_range.c, the extent hooks and placement small_extents.c, the
 * per-class caches small_tcache.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "small_class.h"
#include "small_tcache.h"

/* Options of the private copy: one automatic arena (jemalloc's internal
 * metadata only; user memory comes from our arenas), no background thread.
 * The thread cache keeps sizes up to 64K (the least threshold of the large
 * path; jemalloc's own stops at 32K): past 32K each malloc and free
 * otherwise splits and coalesces extents under the arena's lock. Seven blocks per size past 14K
 * (not 20) keep the most a thread may cache of them (2.3 MiB) below
 * jemalloc's own (2.4 MiB). */
const char *je_malloc_conf = "narenas:1,background_thread:false,abort_conf:false,"
                             "tcache_max:65536,tcache_nslots_large:7";

struct small_class shim_small_classes[SHIM_MAX_CLASSES];
int shim_small_num_classes;
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
static size_t tcache_enabled_mib[3], tcache_enabled_miblen = 3;
int shim_small_primary;
SHIM_TLS struct shim_small_tally shim_small_tally;
static struct shim_small_tally exited_tally; /* of threads gone */
SHIM_TLS int shim_small_bound; /* this thread is bound to a primary-class arena */
#define thread_bound shim_small_bound
static SHIM_TLS unsigned thread_slot;
static SHIM_TLS unsigned long long thread_bound_at; /* aml_os_now_ns() */
#define SHORT_LIVED_NS 1000000000ULL
/* Past the thread's slot destructor: the destructors that run after it
 * (keys created later) allocate from glibc, whatever state jemalloc's own
 * cleanup leaves the thread in. */
static SHIM_TLS int thread_exited;

int shim_small_init(int extra_classes)
{
	/* Before jemalloc's own key (its first call creates it): keys are
	 * destroyed in creation order, and thread_gone must run while the
	 * thread's jemalloc state is still whole. */
	slot_key_ready = pthread_key_create(&slot_key, thread_gone) == 0;
	shim_small_num_classes = 1 + extra_classes;
	if (shim_small_num_classes > SHIM_MAX_CLASSES)
		shim_small_num_classes = SHIM_MAX_CLASSES;
	for (int c = 0; c < shim_small_num_classes; c++) {
		shim_small_classes[c].hooks = shim_small_hooks_template;
		snprintf(shim_small_classes[c].text, sizeof(shim_small_classes[c].text), "default");
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	num_arenas = cpus > 0 ? (unsigned)cpus * 4 : 4;
	if (num_arenas > MAX_ARENAS)
		num_arenas = MAX_ARENAS;
	small_enabled = 1;
	return 0;
}

/* The range is planned and the private jemalloc starts at the first small
 * allocation, not at load (jemalloc's constructor is dropped at build
 * time): a program that allocates nothing small maps and touches none of
 * it. Thread-safe; while this thread starts it, its own nested allocations
 * take glibc. jemalloc's fork handlers are then registered, ours again
 * after them (fork.c). */
static int opened, open_lock;
static SHIM_TLS int opening;

int shim_small_open(void)
{
	if (SHIM_LIKELY(__atomic_load_n(&opened, __ATOMIC_ACQUIRE) > 0))
		return 0;
	if (opening)
		return -1;
	/* The program's first small malloc: jemalloc's start (its options are
	 * parsed with errno = 0) must not show in errno. */
	AML_KEEP_ERRNO;
	opening = 1;
	shim_lock(&open_lock);
	if (!opened) {
		if (shim_small_plan() == 0) {
			__atomic_store_n(&shim_small_size, (uintptr_t)shim_small_num_classes << slice_shift,
			                 __ATOMIC_RELEASE);
		} else {
			shim_log(AMLSHIM_LOG_WARN, "cannot map address space for small objects; they stay with glibc");
			small_enabled = 0;
		}
		int ok = je_mallctlnametomib("thread.arena", thread_arena_mib, &thread_arena_miblen) == 0 &&
		         je_mallctlnametomib("thread.tcache.enabled", tcache_enabled_mib, &tcache_enabled_miblen) == 0;
		if (!ok) {
			shim_log(AMLSHIM_LOG_WARN, "jemalloc has no thread.arena control; small objects stay with glibc");
			small_enabled = 0;
		}
		__atomic_store_n(&opened, ok ? 1 : -1, __ATOMIC_RELEASE);
		if (ok)
			shim_fork_install();
	}
	shim_unlock(&open_lock);
	opening = 0;
	return opened > 0 && small_enabled ? 0 : -1;
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

/* A thread that leaves an arena no other thread holds: at its exit
 * jemalloc purges every free page of that arena (one madvise per free
 * extent). Where threads come and go, the next thread on the slot faults
 * them all in again, at every exit. The purge comes with the thread
 * cache's teardown once the thread has left its arena; for a short-lived
 * thread the cache is torn down here, while the thread still holds the
 * arena: jemalloc flushes it and only decays as usual, and the pages stay
 * for the next thread. A thread that lived a second or more leaves the
 * purge to jemalloc: its slot may well stay empty. This destructor runs
 * before jemalloc's own (its key is older). */
static void thread_gone(void *slot_plus_one)
{
	thread_bound = 0;
	thread_exited = 1;
	__atomic_add_fetch(&exited_tally.count, shim_small_tally.count, __ATOMIC_RELAXED);
	__atomic_add_fetch(&exited_tally.bytes, shim_small_tally.bytes, __ATOMIC_RELAXED);
	shim_small_tally = (struct shim_small_tally){0, 0};
	__atomic_sub_fetch(&slot_threads[(uintptr_t)slot_plus_one - 1], 1, __ATOMIC_RELAXED);
	if (aml_os_now_ns() - thread_bound_at >= SHORT_LIVED_NS)
		return;
	bool off = false;
	je_mallctlbymib(tcache_enabled_mib, tcache_enabled_miblen, NULL, NULL, &off, sizeof(off));
}

struct shim_small_tally shim_small_take_tally(void)
{
	struct shim_small_tally taken = shim_small_tally;
	shim_small_tally = (struct shim_small_tally){0, 0};
	taken.count += __atomic_exchange_n(&exited_tally.count, 0, __ATOMIC_RELAXED);
	taken.bytes += __atomic_exchange_n(&exited_tally.bytes, 0, __ATOMIC_RELAXED);
	return taken;
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

/* Binds this thread to a primary-class arena: from then on plain jemalloc
 * calls (with the thread cache) serve it. */
static int bind_thread(void)
{
	if (shim_small_open() != 0)
		return -1;
	thread_slot = least_loaded_slot();
	unsigned index;
	if (arena_of(&shim_small_classes[shim_small_primary], thread_slot, &index) != 0 ||
	    je_mallctlbymib(thread_arena_mib, thread_arena_miblen, NULL, NULL, &index, sizeof(index)) != 0)
		return -1;
	thread_bound = 1;
	thread_bound_at = aml_os_now_ns();
	__atomic_add_fetch(&slot_threads[thread_slot], 1, __ATOMIC_RELAXED);
	/* Bound first: a key past the first 32 makes glibc allocate here. */
	if (slot_key_ready)
		pthread_setspecific(slot_key, (void *)(uintptr_t)(thread_slot + 1));
	return 0;
}

static inline int small_usable_here(void) /* binds once the classes are placed */
{
	return SHIM_LIKELY(thread_bound) || (small_enabled && !thread_exited && shim_small_placed() && !bind_thread());
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

static void *glibc_alloc(size_t size, size_t alignment, int zero)
{
	return zero ? __libc_calloc(1, size)
	       : alignment > SHIM_MIN_ALIGN ? __libc_memalign(alignment, size) : __libc_malloc(size);
}

static void *class_fallback(void *ptr, int class_index, size_t size, size_t alignment, int zero);

/* The primary class: this thread's arena through jemalloc's own cache. */
void *shim_small_malloc(size_t size)
{
	shim_small_count(size);
	if (!small_usable_here())
		return __libc_malloc(size);
	void *ptr = je_malloc(at_least_min(size));
	return ptr ? ptr : class_fallback(NULL, shim_small_primary, size, SHIM_MIN_ALIGN, 0);
}

void *shim_small_calloc(size_t size)
{
	shim_small_count(size);
	if (!small_usable_here())
		return __libc_calloc(1, size);
	void *ptr = je_calloc(1, at_least_min(size));
	return ptr ? ptr : class_fallback(NULL, shim_small_primary, size, SHIM_MIN_ALIGN, 1);
}

void *shim_small_aligned(size_t alignment, size_t size)
{
	shim_small_count(size);
	if (alignment < SHIM_MIN_ALIGN)
		alignment = SHIM_MIN_ALIGN;
	if (!small_usable_here())
		return __libc_memalign(alignment, size);
	void *ptr = je_mallocx(at_least_min(size), MALLOCX_ALIGN(alignment));
	return ptr ? ptr : class_fallback(NULL, shim_small_primary, size, alignment, 0);
}

/* This thread's arena of each class, as a MALLOCX_ARENA flag (0: not
 * looked up yet; a thread keeps its slot). */
static SHIM_TLS int thread_class_arena[SHIM_MAX_CLASSES];

/* Flags that put an allocation of a class other than the primary (callers
 * pass the class of a route or of an owned pointer) in its arena, through
 * this thread's cache of the class; -1 when the class cannot serve this
 * thread. */
static inline int class_flags(int class_index)
{
	int arena = thread_class_arena[class_index];
	if (SHIM_UNLIKELY(arena == 0)) {
		unsigned index;
		if (!small_usable_here() || class_index < 0 || class_index >= shim_small_num_classes ||
		    arena_of(&shim_small_classes[class_index], thread_slot, &index) != 0)
			return -1;
		arena = thread_class_arena[class_index] = MALLOCX_ARENA(index);
	}
	return arena | shim_small_tcache(class_index);
}

/* When a class's arena did not serve (ptr: memory outside the range). */
static __attribute__((noinline, cold)) void *class_fallback(void *ptr, int class_index, size_t size,
                                                            size_t alignment, int zero)
{
	/* A key destructor that runs after jemalloc's own thread-exit cleanup
	 * gets its automatic arena whatever the flags say (it counts as
	 * reentrant then): memory free would take for glibc's. */
	if (ptr) {
		je_dallocx(ptr, MALLOCX_TCACHE_NONE);
		return glibc_alloc(size, alignment, zero);
	}
	/* No arena, or the slice exhausted: class 0 (AMLSHIM_SMALL) still
	 * may, then glibc. */
	if (class_index != 0 && small_usable_here())
		return shim_small_class_alloc(0, size, alignment, zero);
	return glibc_alloc(size, alignment, zero);
}

void *shim_small_class_alloc(int class_index, size_t size, size_t alignment, int zero)
{
	if (class_index == shim_small_primary)
		return zero ? shim_small_calloc(size)
		       : alignment > SHIM_MIN_ALIGN ? shim_small_aligned(alignment, size) : shim_small_malloc(size);
	int flags = class_flags(class_index);
	if (SHIM_UNLIKELY(flags < 0))
		return class_fallback(NULL, class_index, size, alignment, zero);
	if (alignment > SHIM_MIN_ALIGN)
		flags |= MALLOCX_ALIGN(alignment);
	if (zero)
		flags |= MALLOCX_ZERO;
	void *ptr = je_mallocx(at_least_min(size), flags);
	if (SHIM_LIKELY(ptr != NULL) && SHIM_LIKELY(shim_small_owns(ptr)))
		return ptr;
	return class_fallback(ptr, class_index, size, alignment, zero);
}

/* fork: the arena-creation locks are held across it (see fork.c). */
void shim_small_before_fork(void)
{
	for (int c = 0; c < shim_small_num_classes; c++)
		shim_lock(&shim_small_classes[c].lock);
}

void shim_small_after_fork(void)
{
	for (int c = 0; c < shim_small_num_classes; c++)
		shim_unlock(&shim_small_classes[c].lock);
}

int shim_small_class_of(const void *ptr)
{
	return (int)shim_small_slice_of((int)(((uintptr_t)ptr - shim_small_base) >> slice_shift));
}

/* The block's bytes into moved (NULL: out of memory, block kept). */
static void *copy_and_free(void *ptr, void *moved, size_t size)
{
	if (moved) {
		size_t old = je_malloc_usable_size(ptr);
		memcpy(moved, ptr, old < size ? old : size);
		shim_small_free(ptr);
	}
	return nonnull_or_enomem(moved);
}

void *shim_small_realloc(void *ptr, size_t size)
{
	int class_index = shim_small_class_of(ptr);
	void *moved = NULL;
	if (class_index != shim_small_primary) {
		int flags = class_flags(class_index);
		/* In place when the size class stays, else moved by
		 * shim_small_class_alloc, which knows what to do when jemalloc
		 * gives memory outside the range. */
		if (flags >= 0 && je_xallocx(ptr, at_least_min(size), 0, flags) == je_nallocx(at_least_min(size), flags))
			return ptr;
		if (flags >= 0)
			return copy_and_free(ptr, shim_small_class_alloc(class_index, size, SHIM_MIN_ALIGN, 0), size);
	} else if (small_usable_here()) {
		moved = je_realloc(ptr, at_least_min(size));
	}
	if (moved)
		return moved;
	/* jemalloc could not (its share of an address-space limit is used up)
	 * or may not serve this thread: glibc takes the block. Never let
	 * jemalloc's automatic arena serve the program: its memory lies
	 * outside our range and would look foreign. */
	return copy_and_free(ptr, __libc_malloc(size), size);
}

void shim_small_free(void *ptr)
{
	int class_index = shim_small_class_of(ptr);
	if (SHIM_LIKELY(class_index == shim_small_primary))
		je_free(ptr);
	else /* only into a cache of the pointer's own class */
		je_dallocx(ptr, shim_small_tcache(class_index));
}

size_t shim_small_usable(void *ptr)
{
	return je_malloc_usable_size(ptr);
}

void shim_small_after_fork_child(void)
{
	/* Held only inside a hook, which jemalloc's own fork handler waits for;
	 * whoever held one is gone. */
	for (int c = 0; c < shim_small_num_classes; c++)
		shim_small_classes[c].grow_lock = 0;
	for (unsigned s = 0; s < MAX_ARENAS; s++)
		slot_threads[s] = 0;
	shim_small_take_tally(); /* the child reports what it does itself */
	if (thread_bound)
		slot_threads[thread_slot] = 1;
	/* A thread starting jemalloc is gone, its open_lock held (not taken before
	 * fork: pthread_atfork, called under it, waits for fork): glibc serves. */
	if (__atomic_exchange_n(&open_lock, 0, __ATOMIC_RELAXED) && !opening && !opened) {
		small_enabled = 0;
		opened = -1;
	}
}

void shim_small_describe(char *buf, size_t len)
{
	size_t mapped = 0;
	for (int c = 0; c < shim_small_num_classes; c++)
		mapped += __atomic_load_n(&shim_small_mapped[c], __ATOMIC_RELAXED);
	if (!small_enabled)
		snprintf(buf, len, "%s (glibc)", shim_small_classes[0].text);
	else if (!shim_small_size)
		snprintf(buf, len, "%s (jemalloc arenas, not started: nothing allocated)", shim_small_classes[0].text);
	else
		snprintf(buf, len, "%s (jemalloc arenas, %zu MiB mapped of a %zu GiB range)", shim_small_classes[0].text,
		         mapped >> 20, (size_t)(shim_small_size >> 30));
}
