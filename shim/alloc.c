/* The exported malloc family, with glibc's semantics. Each call is routed
 * by size: the small path (private jemalloc), a rule's area (large path),
 * or glibc for pointers that are not ours and while the shim starts. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <amlshim.h>
#include "jemalloc_api.h"
#include "shim.h"

#define EXPORT __attribute__((visibility("default")))

unsigned long shim_foreign_frees, shim_bootstrap_allocs;

static void count_bootstrap(void)
{
	__atomic_add_fetch(&shim_bootstrap_allocs, 1, __ATOMIC_RELAXED);
}

/* Sizes at or above shim_large_min: a rule's area, or the small path. */
static void *alloc_large_or_small(size_t size, size_t alignment, int zero)
{
	struct shim_route *route = shim_thread_busy ? NULL : shim_route_for(size);
	if (route) {
		int class_index = shim_route_small_class(route);
		if (class_index && size < SHIM_LARGE_FLOOR) {
			shim_route_count_small(route, size);
			return shim_small_class_alloc(class_index, size, alignment, zero);
		}
		return shim_large_alloc(route, size, alignment, zero);
	}
	if (zero)
		return shim_small_calloc(size);
	return alignment > SHIM_MIN_ALIGN ? shim_small_aligned(alignment, size) : shim_small_malloc(size);
}

/* Another allocator in front: aligned requests go to it (see init.c). */
static void *forward_aligned(size_t alignment, size_t size)
{
	void *ptr = NULL;
	if (alignment < sizeof(void *))
		alignment = sizeof(void *);
	int err = shim_global_posix_memalign ? shim_global_posix_memalign(&ptr, alignment, size) : ENOMEM;
	if (err)
		errno = err;
	return err ? NULL : ptr;
}

static void *alloc_aligned(size_t alignment, size_t size)
{
	if (SHIM_UNLIKELY(shim_forward))
		return forward_aligned(alignment, size);
	if (!shim_ready()) {
		count_bootstrap();
		return __libc_memalign(alignment, size);
	}
	if (size >= shim_large_min)
		return alloc_large_or_small(size, alignment, 0);
	return shim_small_aligned(alignment, size);
}

static __attribute__((noinline)) void *malloc_slow(size_t size)
{
	if (SHIM_LIKELY(shim_ready())) {
		if (SHIM_LIKELY(size < shim_large_min))
			return shim_small_malloc(size);
		return alloc_large_or_small(size, SHIM_MIN_ALIGN, 0);
	}
	count_bootstrap();
	return __libc_malloc(size);
}

/* The common case in a few instructions: a thread bound to its arena asks
 * for a size no rule claims. */
EXPORT void *malloc(size_t size)
{
	if (SHIM_LIKELY(shim_small_bound) && SHIM_LIKELY(size < shim_large_min)) {
		void *ptr = je_malloc(size < SHIM_MIN_ALIGN ? SHIM_MIN_ALIGN : size);
		if (SHIM_LIKELY(ptr != NULL))
			return ptr;
	}
	return malloc_slow(size);
}

EXPORT void *calloc(size_t count, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(count, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (SHIM_LIKELY(shim_ready())) {
		if (SHIM_LIKELY(total < shim_large_min))
			return shim_small_calloc(total);
		return alloc_large_or_small(total, SHIM_MIN_ALIGN, 1);
	}
	count_bootstrap();
	return __libc_calloc(count, size);
}

static __attribute__((noinline)) void free_slow(void *ptr)
{
	if (!ptr)
		return;
	int saved = errno;
	if (SHIM_LIKELY(shim_small_owns(ptr))) {
		shim_small_free(ptr);
	} else {
		struct shim_block *block = shim_registry_lookup(ptr);
		if (block && block->kind == SHIM_BLOCK_MALLOC) {
			shim_large_free(block);
		} else {
			__atomic_add_fetch(&shim_foreign_frees, 1, __ATOMIC_RELAXED);
			__libc_free(ptr);
		}
	}
	errno = saved;
}

/* A class-0 small pointer goes straight back to jemalloc: its free path
 * leaves errno alone (the extent hooks, its only system calls on that
 * path, save and restore it). */
EXPORT void free(void *ptr)
{
	if (SHIM_LIKELY((uintptr_t)ptr - shim_small_base < shim_small_class0_size)) {
		je_free(ptr);
		return;
	}
	free_slow(ptr);
}

/* Moves a pointer into a new home: copy what fits, free the old one. */
static void *move_to(void *fresh, void *old, size_t old_size, size_t size)
{
	if (fresh) {
		memcpy(fresh, old, old_size < size ? old_size : size);
		free(old);
	}
	return fresh;
}

EXPORT void *realloc(void *ptr, size_t size)
{
	if (!ptr)
		return malloc(size);
	if (size == 0) { /* glibc: frees and returns NULL */
		free(ptr);
		return NULL;
	}
	struct shim_route *route = size >= shim_large_min && shim_ready() && !shim_thread_busy
	                                   ? shim_route_for(size) : NULL;
	if (shim_small_owns(ptr)) {
		/* Stays in its class (0: no rule), or moves where the size belongs. */
		int target = !route ? 0
		             : shim_route_small_class(route) && size < SHIM_LARGE_FLOOR ? shim_route_small_class(route)
		                                                                      : -1;
		if (target == shim_small_class_of(ptr))
			return shim_small_realloc(ptr, size);
		return move_to(malloc(size), ptr, shim_small_usable(ptr), size);
	}
	struct shim_block *block = shim_registry_lookup(ptr);
	if (block && block->kind == SHIM_BLOCK_MALLOC)
		return shim_large_realloc(block, size);
	/* glibc's: stays there unless a rule now wants it. */
	if (route)
		return move_to(malloc(size), ptr, shim_glibc_usable_size(ptr), size);
	return __libc_realloc(ptr, size);
}

EXPORT void *reallocarray(void *ptr, size_t count, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(count, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (SHIM_UNLIKELY(shim_forward) && shim_global_realloc)
		return shim_global_realloc(ptr, total);
	return realloc(ptr, total);
}

static int power_of_two(size_t value)
{
	return value && !(value & (value - 1));
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
	if (!power_of_two(alignment) || alignment % sizeof(void *) != 0)
		return EINVAL;
	int saved = errno;
	void *ptr = alloc_aligned(alignment, size);
	errno = saved;
	if (!ptr)
		return ENOMEM;
	*out = ptr;
	return 0;
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
	if (!power_of_two(alignment)) {
		errno = EINVAL;
		return NULL;
	}
	return alloc_aligned(alignment, size);
}

EXPORT void *memalign(size_t alignment, size_t size)
{
	if (alignment > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	/* glibc rounds a non-power-of-two alignment up. */
	size_t rounded = SHIM_MIN_ALIGN;
	while (rounded < alignment)
		rounded <<= 1;
	return alloc_aligned(rounded, size);
}

EXPORT void *valloc(size_t size)
{
	return alloc_aligned(SHIM_PAGE, size);
}

EXPORT void *pvalloc(size_t size)
{
	if (size > SIZE_MAX - SHIM_PAGE) {
		errno = ENOMEM;
		return NULL;
	}
	size_t rounded = size ? (size + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1) : SHIM_PAGE;
	return alloc_aligned(SHIM_PAGE, rounded);
}

EXPORT size_t malloc_usable_size(void *ptr)
{
	if (!ptr)
		return 0;
	if (SHIM_UNLIKELY(shim_forward) && !shim_small_owns(ptr) && !shim_registry_lookup(ptr))
		return shim_global_usable_size ? shim_global_usable_size(ptr) : 0;
	if (shim_small_owns(ptr))
		return shim_small_usable(ptr);
	struct shim_block *block = shim_registry_lookup(ptr);
	if (block && block->kind == SHIM_BLOCK_MALLOC)
		return shim_large_usable(block);
	return shim_glibc_usable_size(ptr);
}

EXPORT const char *amlshim_version(void)
{
	return AMLSHIM_VERSION;
}

EXPORT int amlshim_write_report(int fd, int json)
{
	if (__atomic_load_n(&shim_state, __ATOMIC_ACQUIRE) != SHIM_READY)
		return -1;
	return shim_report_write(fd, json);
}
