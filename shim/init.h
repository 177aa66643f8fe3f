/* Start-up (init.c): lazy, never waits; the policy in force; another
 * allocator preloaded in front of us. */
#ifndef AMLSHIM_INIT_H
#define AMLSHIM_INIT_H

#include "job.h"
#include "shim.h"

enum shim_state { SHIM_UNINIT, SHIM_BOOTING, SHIM_READY };
/* The process's start-up state and the policy in force. */
struct shim_process {
	int state;       /* enum shim_state */
	int secure_mode; /* setuid: no environment, no files */
	struct amlshim_policy policy;
	/* Sizes at or above this may match a rule (SIZE_MAX: no rule). */
	size_t large_min;
	/* Sizes in [primary_begin, primary_begin + primary_span) are the
	 * primary class's (small.c): the fast path, one compare. */
	size_t primary_begin, primary_span;
	/* Last, off the fields the allocation paths read: the rank, local rank
	 * and local size from the launcher (report, %r). */
	struct amlshim_job job;
};
extern SHIM_HIDDEN struct shim_process shim_process;
/* getenv with secure_getenv's rule (nothing in setuid processes), in the
 * parsers' reader shape (ctx unused). */
SHIM_HIDDEN const char *shim_read_env(const char *name, void *ctx);
/* Starts the shim if nobody has; 1 when the shim's allocators can serve this
 * call, 0 when the caller must use glibc (start-up in progress). */
int shim_start(void);
static inline int shim_ready(void)
{
	return SHIM_LIKELY(__atomic_load_n(&shim_process.state, __ATOMIC_ACQUIRE) == SHIM_READY) || shim_start();
}
/* This thread is inside shim code that may call out (hwloc, CUDA, dlsym):
 * its allocations take the plain path and its mmaps pass through. */
extern SHIM_TLS int shim_thread_busy;

/* Another allocator preloaded in front of us. */
struct shim_front {
	int forward; /* it owns malloc: forward to it */
	void *(*realloc_fn)(void *, size_t);
	int (*posix_memalign_fn)(void **, size_t, size_t);
	size_t (*usable_size_fn)(void *);
};
extern struct shim_front shim_front;
/* The first shared object's definition of name in load order (the
 * executable skipped), or NULL. Calls dlopen and dlsym: not from malloc. */
void *shim_global_symbol(const char *name);

/* A size the primary class serves (the fast paths' test). */
static inline int shim_primary_size(size_t size)
{
	return size - shim_process.primary_begin < shim_process.primary_span;
}

#endif
