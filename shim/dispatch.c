/* Which path serves each call of the malloc and mmap families, with
 * glibc's semantics: the small path (private jemalloc), a rule's pool
 * (large path), or glibc for pointers that are not ours and while the
 * shim starts. The exported entry points (override.c) forward here; the
 * shim's own code calls these, never the exported ones. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dispatch.h"
#include "glibc.h"
#include "init.h"
#include "large.h"
#include "os.h"
#include "shim.h"
#include "site_rules.h"
#include "small.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static void count_bootstrap(void)
{
	__atomic_add_fetch(&shim_stats.bootstrap_allocs, 1, __ATOMIC_RELAXED);
}

/* Sizes the primary class does not serve: a rule's area, or the small
 * path's class of the size (0 with no route). */
static void *alloc_large_or_small(size_t size, size_t alignment, int zero)
{
	if (SHIM_UNLIKELY(size >= shim_sites.min) && !shim_thread_busy)
		return shim_sites_alloc(size, alignment, zero); /* call-site rules, profile mode */
	struct shim_route *route = size < shim_process.large_min || shim_thread_busy ? NULL : shim_route_for(size);
	int class_index = 0;
	if (route) {
		class_index = shim_route_small_class(route);
		if (!class_index || size >= SHIM_LARGE_FLOOR)
			return shim_large_alloc(route, size, alignment, zero);
		if (class_index != shim_small_primary) /* else counted by the small path */
			shim_route_count_small(route, size);
	}
	return shim_small_class_alloc(class_index, size, alignment, zero);
}

/* Another allocator in front: aligned requests go to it (see init.c). */
static void *forward_aligned(size_t alignment, size_t size)
{
	void *ptr = NULL;
	if (alignment < sizeof(void *))
		alignment = sizeof(void *);
	int err = shim_front.posix_memalign_fn ? shim_front.posix_memalign_fn(&ptr, alignment, size) : ENOMEM;
	if (err)
		errno = err;
	return err ? NULL : ptr;
}

static void *alloc_aligned(size_t alignment, size_t size)
{
	if (SHIM_UNLIKELY(shim_front.forward))
		return forward_aligned(alignment, size);
	if (!shim_ready()) {
		count_bootstrap();
		return __libc_memalign(alignment, size);
	}
	if (!shim_primary_size(size))
		return alloc_large_or_small(size, alignment, 0);
	return shim_small_aligned(alignment, size);
}

void *shim_malloc(size_t size)
{
	if (SHIM_LIKELY(shim_ready())) {
		if (SHIM_LIKELY(shim_primary_size(size)))
			return shim_small_malloc(size);
		return alloc_large_or_small(size, SHIM_MIN_ALIGN, 0);
	}
	count_bootstrap();
	return __libc_malloc(size);
}

void *shim_calloc(size_t count, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(count, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (SHIM_LIKELY(shim_ready())) {
		if (SHIM_LIKELY(shim_primary_size(total)))
			return shim_small_calloc(total);
		return alloc_large_or_small(total, SHIM_MIN_ALIGN, 1);
	}
	count_bootstrap();
	return __libc_calloc(count, size);
}

void shim_free(void *ptr)
{
	if (!ptr)
		return;
	AML_KEEP_ERRNO;
	if (SHIM_LIKELY(shim_small_owns(ptr))) {
		shim_small_free(ptr);
	} else {
		struct shim_block *block = shim_registry_lookup(ptr);
		if (block && block->kind == SHIM_BLOCK_MALLOC) {
			shim_large_free(block);
		} else {
			__atomic_add_fetch(&shim_stats.foreign_frees, 1, __ATOMIC_RELAXED);
			__libc_free(ptr);
		}
	}
}

/* Moves a pointer into a new home: copy what fits, free the old one. */
static void *move_to(void *fresh, void *old, size_t old_size, size_t size)
{
	if (fresh) {
		memcpy(fresh, old, old_size < size ? old_size : size);
		shim_free(old);
	}
	return fresh;
}

void *shim_realloc(void *ptr, size_t size)
{
	if (!ptr)
		return shim_malloc(size);
	if (size == 0) { /* glibc: frees and returns NULL */
		shim_free(ptr);
		return NULL;
	}
	/* The primary class's pointer and size: stays in place if it can. */
	if ((uintptr_t)ptr - shim_small_base < shim_small_primary_size && shim_primary_size(size))
		return shim_small_realloc(ptr, size);
	struct shim_route *route = size >= shim_process.large_min && shim_ready() && !shim_thread_busy
	                                   ? shim_route_for(size) : NULL;
	if (shim_small_owns(ptr)) {
		/* Stays in its class (0: no rule), or moves where the size belongs. */
		int target = !route ? 0
		             : shim_route_small_class(route) && size < SHIM_LARGE_FLOOR ? shim_route_small_class(route)
		                                                                      : -1;
		if (target == shim_small_class_of(ptr))
			return shim_small_realloc(ptr, size);
		return move_to(shim_malloc(size), ptr, shim_small_usable(ptr), size);
	}
	struct shim_block *block = shim_registry_lookup(ptr);
	if (block && block->kind == SHIM_BLOCK_MALLOC)
		return shim_large_realloc(block, size);
	/* glibc's: stays there unless a rule now wants it. */
	if (route)
		return move_to(shim_malloc(size), ptr, shim_glibc_usable_size(ptr), size);
	return __libc_realloc(ptr, size);
}

void *shim_reallocarray(void *ptr, size_t count, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(count, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (SHIM_UNLIKELY(shim_front.forward) && shim_front.realloc_fn)
		return shim_front.realloc_fn(ptr, total);
	return shim_realloc(ptr, total);
}

static int power_of_two(size_t value)
{
	return value && !(value & (value - 1));
}

int shim_posix_memalign(void **out, size_t alignment, size_t size)
{
	if (!power_of_two(alignment) || alignment % sizeof(void *) != 0)
		return EINVAL;
	AML_KEEP_ERRNO;
	void *ptr = alloc_aligned(alignment, size);
	if (!ptr)
		return ENOMEM;
	*out = ptr;
	return 0;
}

void *shim_aligned_alloc(size_t alignment, size_t size)
{
	if (!power_of_two(alignment)) {
		errno = EINVAL;
		return NULL;
	}
	return alloc_aligned(alignment, size);
}

void *shim_memalign(size_t alignment, size_t size)
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

void *shim_valloc(size_t size)
{
	return alloc_aligned(SHIM_PAGE, size);
}

void *shim_pvalloc(size_t size)
{
	if (size > SIZE_MAX - SHIM_PAGE) {
		errno = ENOMEM;
		return NULL;
	}
	size_t rounded = size ? (size + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1) : SHIM_PAGE;
	return alloc_aligned(SHIM_PAGE, rounded);
}

size_t shim_usable_size(void *ptr)
{
	if (!ptr)
		return 0;
	if (SHIM_UNLIKELY(shim_front.forward) && !shim_small_owns(ptr) && !shim_registry_lookup(ptr))
		return shim_front.usable_size_fn ? shim_front.usable_size_fn(ptr) : 0;
	if (shim_small_owns(ptr))
		return shim_small_usable(ptr);
	struct shim_block *block = shim_registry_lookup(ptr);
	if (block && block->kind == SHIM_BLOCK_MALLOC)
		return shim_large_usable(block);
	return shim_glibc_usable_size(ptr);
}

/* The program's private anonymous read-write mappings a rule selects are
 * placed through the rule's pool; everything else (files, shared, fixed,
 * stacks, reservations, the shim's and its libraries' own calls) passes
 * straight to the kernel. */
static int placeable(void *addr, size_t len, int prot, int flags)
{
	const int excluded = MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_STACK | MAP_GROWSDOWN | MAP_NORESERVE |
	                     MAP_HUGETLB | MAP_32BIT | MAP_LOCKED;
	return __atomic_load_n(&shim_process.state, __ATOMIC_ACQUIRE) == SHIM_READY && shim_process.policy.mmap_on &&
	       !shim_thread_busy && !shim_locks_held && addr == NULL && len >= shim_process.large_min &&
	       prot == (PROT_READ | PROT_WRITE) && (flags & MAP_TYPE) == MAP_PRIVATE && (flags & MAP_ANONYMOUS) &&
	       !(flags & excluded);
}

/* A route's mapping, errno untouched (NULL: not placed; MAP_FAILED:
 * strict, placement failed). */
static void *placed_mmap(struct shim_route *route, size_t len, int flags)
{
	AML_KEEP_ERRNO;
	void *ptr = shim_large_mmap(route, len);
	if (ptr && ptr != MAP_FAILED && (flags & MAP_POPULATE)) /* after placement, so pages land right */
		aml_os_populate(ptr, len);
	return ptr;
}

void *shim_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
	if (placeable(addr, len, prot, flags)) {
		struct shim_route *route = shim_route_for(len);
		if (route && route != &shim_route_table.implicit) {
			void *ptr = placed_mmap(route, len, flags);
			if (ptr == MAP_FAILED) {
				errno = ENOMEM;
				return MAP_FAILED;
			}
			if (ptr)
				return ptr;
		}
	}
	return aml_os_mmap(addr, len, prot, flags, fd, offset);
}

int shim_munmap(void *addr, size_t len)
{
	if (__atomic_load_n(&shim_mmap_live_blocks, __ATOMIC_RELAXED) && !shim_locks_held)
		shim_large_unmap_range(addr, len);
	return aml_os_munmap(addr, len);
}

void *shim_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	struct shim_block *block = shim_registry_lookup(old);
	if (block && block->kind == SHIM_BLOCK_MMAP && ((old_len + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1)) == block->mapped)
		return shim_large_mremap(block, new_len, flags, new_addr);
	return aml_os_mremap(old, old_len, new_len, flags, new_addr);
}
