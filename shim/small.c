/* The small path: the private jemalloc, with arenas whose extents are carved
 * from one reserved virtual range and placed by AMLSHIM_SMALL. Ownership of
 * a pointer is one range compare; each thread is bound to one of our arenas
 * once, then calls plain jemalloc malloc/free (thread cache kept). */
#define _GNU_SOURCE
#include <errno.h>
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

uintptr_t shim_small_base, shim_small_size;
static uintptr_t reserve_next; /* bump pointer, advanced with CAS */
static int small_enabled;

/* Placement of extents, precomputed: hooks run under jemalloc locks and may
 * only make system calls. */
static int place_mode;
static unsigned long place_mask[AMLSHIM_NODE_WORDS];
static const char *place_text = "default";

static unsigned arena_index[MAX_ARENAS];
static int arena_created[MAX_ARENAS];
static unsigned num_arenas;
static unsigned next_slot;
static int arena_lock;
static size_t thread_arena_mib[3], thread_arena_miblen = 3;
static SHIM_TLS int thread_bound;

static void *hook_alloc(extent_hooks_t *hooks, void *new_addr, size_t size, size_t alignment,
                        bool *zero, bool *commit, unsigned arena_ind)
{
	(void)hooks;
	(void)arena_ind;
	uintptr_t end = shim_small_base + shim_small_size;
	uintptr_t cur = __atomic_load_n(&reserve_next, __ATOMIC_RELAXED), start;
	do {
		if (new_addr) {
			/* Growing in place works only at the bump pointer. */
			if ((uintptr_t)new_addr != cur)
				return NULL;
			start = cur;
		} else {
			start = (cur + alignment - 1) & ~(uintptr_t)(alignment - 1);
		}
		if (start < cur || start + size > end || start + size < start)
			return NULL;
	} while (!__atomic_compare_exchange_n(&reserve_next, &cur, start + size, true,
	                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	if (place_mode != 0) {
		int saved = errno;
		syscall(SYS_mbind, (void *)start, size, place_mode, place_mask,
		        (unsigned long)AMLSHIM_MAX_NODES + 1, 0U);
		errno = saved;
	}
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

static bool hook_merge(extent_hooks_t *h, void *a, size_t sa, void *b, size_t sb, bool committed, unsigned ind)
{
	(void)h, (void)a, (void)sa, (void)b, (void)sb, (void)committed, (void)ind;
	return false;
}

static extent_hooks_t small_hooks = {
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

void shim_small_set_placement(const struct amlshim_placement *placement)
{
	for (size_t w = 0; w < AMLSHIM_NODE_WORDS; w++)
		place_mask[w] = placement->all_nodes ? ~0UL : placement->nodes[w];
	if (placement->all_nodes) {
		/* "all": the nodes this process may use, as the kernel wants them. */
		syscall(SYS_get_mempolicy, NULL, place_mask, (unsigned long)AMLSHIM_MAX_NODES + 1, NULL,
		        4 /* MPOL_F_MEMS_ALLOWED */);
	}
	place_text = placement->text;
	__atomic_store_n(&place_mode, placement_mode(placement), __ATOMIC_RELEASE);
}

int shim_small_init(void)
{
	for (size_t size = reservation_size(); size >= RESERVE_MIN; size >>= 1) {
		void *range = shim_os_mmap(NULL, size, PROT_READ | PROT_WRITE,
		                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (range == MAP_FAILED)
			continue;
		reserve_next = (uintptr_t)range;
		/* Base before size: with size set first, every pointer below it
		 * would look like ours for a moment. */
		__atomic_store_n(&shim_small_base, (uintptr_t)range, __ATOMIC_RELEASE);
		__atomic_store_n(&shim_small_size, size, __ATOMIC_RELEASE);
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
	small_enabled = 1;
	return 0;
}

static void spin_lock(int *lock)
{
	while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void spin_unlock(int *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

/* Binds this thread to one of our arenas, created on first use. */
static int bind_thread(void)
{
	unsigned slot = __atomic_fetch_add(&next_slot, 1, __ATOMIC_RELAXED) % num_arenas;
	spin_lock(&arena_lock);
	if (!arena_created[slot]) {
		extent_hooks_t *hooks = &small_hooks;
		size_t len = sizeof(unsigned);
		if (je_mallctl("arenas.create", &arena_index[slot], &len, &hooks, sizeof(hooks)) == 0)
			arena_created[slot] = 1;
	}
	int ok = arena_created[slot];
	spin_unlock(&arena_lock);
	if (!ok || je_mallctlbymib(thread_arena_mib, thread_arena_miblen, NULL, NULL,
	                           &arena_index[slot], sizeof(unsigned)) != 0)
		return -1;
	thread_bound = 1;
	return 0;
}

static inline int small_usable_here(void)
{
	return SHIM_LIKELY(thread_bound) || (small_enabled && bind_thread() == 0);
}

void *shim_small_malloc(size_t size)
{
	if (!small_usable_here())
		return __libc_malloc(size);
	void *ptr = je_malloc(size < SHIM_MIN_ALIGN ? SHIM_MIN_ALIGN : size);
	return ptr ? ptr : __libc_malloc(size); /* range exhausted: glibc still works */
}

void *shim_small_calloc(size_t size)
{
	if (!small_usable_here())
		return __libc_calloc(1, size);
	void *ptr = je_calloc(1, size < SHIM_MIN_ALIGN ? SHIM_MIN_ALIGN : size);
	return ptr ? ptr : __libc_calloc(1, size);
}

void *shim_small_aligned(size_t alignment, size_t size)
{
	if (alignment < SHIM_MIN_ALIGN)
		alignment = SHIM_MIN_ALIGN;
	if (size < SHIM_MIN_ALIGN)
		size = SHIM_MIN_ALIGN;
	if (!small_usable_here())
		return __libc_memalign(alignment, size);
	void *ptr = je_mallocx(size, MALLOCX_ALIGN(alignment));
	return ptr ? ptr : __libc_memalign(alignment, size);
}

void *shim_small_realloc(void *ptr, size_t size)
{
	if (!small_usable_here()) {
		/* Never let jemalloc's automatic arena serve the program: its
		 * memory lies outside our range and would look foreign. */
		void *moved = __libc_malloc(size);
		if (moved) {
			size_t old = je_malloc_usable_size(ptr);
			memcpy(moved, ptr, old < size ? old : size);
			je_free(ptr);
		}
		return moved;
	}
	return je_realloc(ptr, size < SHIM_MIN_ALIGN ? SHIM_MIN_ALIGN : size);
}

void shim_small_free(void *ptr)
{
	je_free(ptr);
}

size_t shim_small_usable(void *ptr)
{
	return je_malloc_usable_size(ptr);
}

void shim_small_describe(char *buf, size_t len)
{
	snprintf(buf, len, "%s (%s, %zu GiB reserved)", place_text,
	         small_enabled ? "jemalloc arenas" : "glibc", (size_t)(shim_small_size >> 30));
}
