/* The program's own mmap family. Private anonymous read-write mappings a
 * rule selects are placed through the rule's area; everything else (files,
 * shared, fixed, stacks, reservations, the shim's and its libraries' own
 * calls) passes straight to the kernel. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>

#include "large.h"

#define EXPORT __attribute__((visibility("default")))

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static int placeable(void *addr, size_t len, int prot, int flags)
{
	const int excluded = MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_STACK | MAP_GROWSDOWN | MAP_NORESERVE |
	                     MAP_HUGETLB | MAP_32BIT | MAP_LOCKED;
	return __atomic_load_n(&shim_state, __ATOMIC_ACQUIRE) == SHIM_READY && shim_policy.mmap_on &&
	       !shim_thread_busy && !shim_locks_held && addr == NULL && len >= shim_large_min &&
	       prot == (PROT_READ | PROT_WRITE) && (flags & MAP_TYPE) == MAP_PRIVATE && (flags & MAP_ANONYMOUS) &&
	       !(flags & excluded);
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
	if (placeable(addr, len, prot, flags)) {
		struct shim_route *route = shim_route_for(len);
		if (route && route != &shim_implicit_route) {
			int saved = errno;
			void *ptr = shim_large_mmap(route, len);
			if (ptr == MAP_FAILED) {
				errno = ENOMEM;
				return MAP_FAILED;
			}
			if (ptr && (flags & MAP_POPULATE)) /* after placement, so pages land right */
				aml_os_populate(ptr, len);
			errno = saved;
			if (ptr)
				return ptr;
		}
	}
	return aml_os_mmap(addr, len, prot, flags, fd, offset);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
	__attribute__((alias("mmap")));

EXPORT int munmap(void *addr, size_t len)
{
	if (__atomic_load_n(&shim_mmap_live_blocks, __ATOMIC_RELAXED) && !shim_locks_held)
		shim_large_unmap_range(addr, len);
	return aml_os_munmap(addr, len);
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
	struct shim_block *block = shim_registry_lookup(old);
	if (block && block->kind == SHIM_BLOCK_MMAP && ((old_len + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1)) == block->mapped)
		return shim_large_mremap(block, new_len, flags, new_addr);
	return aml_os_mremap(old, old_len, new_len, flags, new_addr);
}
