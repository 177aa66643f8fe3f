/* The allocator behind us. Pointers we did not hand out (allocated before
 * start-up, during it, or by code bound to glibc with RTLD_DEEPBIND) are
 * glibc's and go back to it. */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "shim.h"

static size_t (*glibc_usable_size)(void *ptr);

/* Called once start-up allows dlsym; RTLD_NEXT from here is glibc's. */
__attribute__((noinline)) void shim_glibc_resolve(void)
{
	shim_thread_busy++;
	glibc_usable_size = (size_t(*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
	shim_thread_busy--;
	__asm__ volatile("" ::: "memory"); /* no tail call: dlsym needs our return address */
}

size_t shim_glibc_usable_size(void *ptr)
{
	if (!ptr)
		return 0;
	if (glibc_usable_size)
		return glibc_usable_size(ptr);
	/* Before resolution: glibc's chunk header (size | flags) precedes the
	 * pointer; mmapped chunks (bit 1) carry two words of overhead. */
	size_t header = ((size_t *)ptr)[-1];
	size_t chunk = header & ~(size_t)7;
	return (header & 2) ? chunk - 2 * sizeof(size_t) : chunk - sizeof(size_t);
}
