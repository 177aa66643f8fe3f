/* What every file of the shim shares: its limits and its lock (errno kept
 * across its own work is AML_KEEP_ERRNO, areas/os.h). Each file's interface
 * is in the header named after it (init.h, small.h, registry.h, large.h
 * ...); the list at the end brings them all in for files that include only
 * this one. */
#ifndef AMLSHIM_SHIM_H
#define AMLSHIM_SHIM_H

#include <errno.h>
#include <stddef.h>
#include <sched.h>
#include <stdint.h>
#include <sys/types.h>

#include <aml.h>
#include "policy.h"

#define SHIM_LIKELY(x) __builtin_expect(!!(x), 1)
#define SHIM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SHIM_TLS __thread __attribute__((tls_model("initial-exec")))
/* A variable of another file of the shim: read in place, not through the GOT. */
#define SHIM_HIDDEN __attribute__((visibility("hidden")))
#define SHIM_MIN_ALIGN 16
#define SHIM_PAGE 4096UL
#define SHIM_MAX_NODES 64 /* nodes the shim tracks for per-thread areas and reports */
#define SHIM_MAX_CLASSES (1 + AMLSHIM_MAX_RULES) /* small-path placements */
/* Below this, a rule whose placement jemalloc's arenas can carry is served
 * by a small-path class; from it on, by the rule's area. */
#define SHIM_LARGE_FLOOR ((size_t)64 << 10)

/* The shim's locks: short sections, no waiting on anything else. Each one
 * held counts in shim_locks_held (pool.c), so a signal handler's mmap or
 * munmap on this thread takes the kernel's path instead of waiting for it. */
extern SHIM_TLS int shim_locks_held;

static inline void shim_lock(int *flag)
{
	shim_locks_held++;
	while (__atomic_exchange_n(flag, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static inline void shim_unlock(int *flag)
{
	__atomic_store_n(flag, 0, __ATOMIC_RELEASE);
	shim_locks_held--;
}

/* ---- the OS layer: areas/os.h (aml_os_*, every system call) ---- */
#include "os.h"

#include "deepbind_got.h"
#include "dispatch.h"
#include "fork.h"
#include "glibc.h"
#include "init.h"
#include "large.h"
#include "log.h"
#include "malloc_extras.h"
#include "registry.h"
#include "report.h"
#include "small.h"

#endif
