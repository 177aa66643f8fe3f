/* Start-up (init.c): lazy, never waits; the policy in force; another
 * allocator preloaded in front of us. */
#ifndef AMLSHIM_INIT_H
#define AMLSHIM_INIT_H

#include "shim.h"

enum shim_state { SHIM_UNINIT, SHIM_BOOTING, SHIM_READY };
extern int shim_state;
extern int shim_secure_mode; /* setuid: no environment, no files */
extern struct amlshim_policy shim_policy;
/* Sizes at or above this may match a rule (SIZE_MAX: no rule). */
extern size_t shim_large_min;
/* Starts the shim if nobody has; 1 when the shim's allocators can serve this
 * call, 0 when the caller must use glibc (start-up in progress). */
int shim_start(void);
static inline int shim_ready(void)
{
	return SHIM_LIKELY(__atomic_load_n(&shim_state, __ATOMIC_ACQUIRE) == SHIM_READY) || shim_start();
}
/* This thread is inside shim code that may call out (hwloc, CUDA, dlsym):
 * its allocations take the plain path and its mmaps pass through. */
extern SHIM_TLS int shim_thread_busy;

/* Another allocator preloaded in front of us. */
extern int shim_forward;
extern void *(*shim_global_realloc)(void *, size_t);
extern int (*shim_global_posix_memalign)(void **, size_t, size_t);
extern size_t (*shim_global_usable_size)(void *);
/* The first shared object's definition of name in load order (the
 * executable skipped), or NULL. Calls dlopen and dlsym: not from malloc. */
void *shim_global_symbol(const char *name);

#endif
