/* dlopen and RTLD_DEEPBIND. A library opened with it binds malloc and free
 * to glibc's while libc itself (strdup, getline, asprintf, ...) allocates
 * through the shim: its free of what libc gave it would hand our pointer
 * to glibc and abort (preloaded jemalloc and tcmalloc abort the same way;
 * they do not wrap dlopen). AMLSHIM_DEEPBIND=keep (the default) keeps the
 * flag, so the library's other symbols still bind to its own copies, and
 * rebinds its malloc family to ours (deepbind_got.c); =drop clears the
 * flag, so the library binds as the program is bound. Every other call is
 * a tail call, so glibc's dlopen still sees the program as its caller for
 * RPATH, RUNPATH and $ORIGIN. */
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
	if (SHIM_LIKELY(!(flags & RTLD_DEEPBIND)) || !file)
		return next(file, flags);
	/* The environment is read at start-up; a dlopen may come first. */
	shim_ready();
	if (shim_process.policy.deepbind == AMLSHIM_DEEPBIND_DROP || !shim_deepbind_supported) {
		shim_log(AMLSHIM_LOG_INFO, "RTLD_DEEPBIND dropped for %s (AMLSHIM_DEEPBIND=drop)", file);
		return next(file, flags & ~RTLD_DEEPBIND);
	}
	return shim_deepbind_open(next, file, flags, __builtin_return_address(0));
}
