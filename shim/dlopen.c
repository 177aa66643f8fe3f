/* dlopen without RTLD_DEEPBIND. A library opened with it binds malloc and
 * free to glibc's while libc itself (strdup, getline, asprintf, ...)
 * allocates through the shim: its free of what libc gave it would hand our
 * pointer to glibc and abort. Dropping the flag binds it as the program is
 * bound (preloaded jemalloc and tcmalloc abort the same way; they do not
 * wrap dlopen). The last call is a tail call, so dlopen still sees the
 * program as its caller for RPATH, RUNPATH and $ORIGIN. */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "shim.h"

#define EXPORT __attribute__((visibility("default")))

typedef void *(*dlopen_fn)(const char *file, int flags);
static dlopen_fn next_dlopen;

/* RTLD_NEXT is resolved from the caller's address: from here, glibc's. */
__attribute__((noinline)) static dlopen_fn resolve_next_dlopen(void)
{
	dlopen_fn next = (dlopen_fn)dlsym(RTLD_NEXT, "dlopen");
	__atomic_store_n(&next_dlopen, next, __ATOMIC_RELEASE);
	__asm__ volatile("" ::: "memory"); /* keep this a real call, not a jump */
	return next;
}

EXPORT void *dlopen(const char *file, int flags)
{
	dlopen_fn next = __atomic_load_n(&next_dlopen, __ATOMIC_ACQUIRE);
	if (SHIM_UNLIKELY(!next))
		next = resolve_next_dlopen();
	return next(file, flags & ~RTLD_DEEPBIND);
}
