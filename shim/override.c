/* The exported malloc and mmap families, nothing else: each forwards to
 * its internal shim_* function (dispatch.c). Two fast paths stay here,
 * inlined: malloc on a thread bound to its arena asks the private
 * jemalloc for a size of the primary class, and free gives a pointer of
 * that class straight back to it (small.h). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <sys/mman.h>

#include "dispatch.h"
#include "init.h"
#include "jemalloc_api.h"
#include "shim.h"
#include "small.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT void *malloc(size_t size)
{
	if (SHIM_LIKELY(shim_small_bound) && SHIM_LIKELY(shim_primary_size(size))) {
		void *ptr = je_malloc(size < SHIM_MIN_ALIGN ? SHIM_MIN_ALIGN : size);
		if (SHIM_LIKELY(ptr != NULL)) {
			shim_small_count(size);
			return ptr;
		}
	}
	return shim_malloc(size);
}

EXPORT void *calloc(size_t count, size_t size)
{
	return shim_calloc(count, size);
}

/* jemalloc's free path leaves errno alone (the extent hooks, its only
 * system calls on that path, save and restore it). */
EXPORT void free(void *ptr)
{
	if (SHIM_LIKELY((uintptr_t)ptr - shim_small_base < shim_small_primary_size)) {
		je_free(ptr);
		return;
	}
	shim_free(ptr);
}

EXPORT void *realloc(void *ptr, size_t size)
{
	return shim_realloc(ptr, size);
}

EXPORT void *reallocarray(void *ptr, size_t count, size_t size)
{
	return shim_reallocarray(ptr, count, size);
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
	return shim_posix_memalign(out, alignment, size);
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
	return shim_aligned_alloc(alignment, size);
}

EXPORT void *memalign(size_t alignment, size_t size)
{
	return shim_memalign(alignment, size);
}

EXPORT void *valloc(size_t size)
{
	return shim_valloc(size);
}

EXPORT void *pvalloc(size_t size)
{
	return shim_pvalloc(size);
}

EXPORT size_t malloc_usable_size(void *ptr)
{
	return shim_usable_size(ptr);
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
	return shim_mmap(addr, len, prot, flags, fd, offset);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
	__attribute__((alias("mmap")));

EXPORT int munmap(void *addr, size_t len)
{
	return shim_munmap(addr, len);
}

EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	return shim_mremap(old, old_len, new_len, flags, new_addr);
}
