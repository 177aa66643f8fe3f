/* Internal interfaces of the shim, one section per file. */
#ifndef AMLSHIM_SHIM_H
#define AMLSHIM_SHIM_H

#include <stddef.h>
#include <sched.h>
#include <stdint.h>
#include <sys/types.h>

#include <aml.h>
#include "policy.h"

#define SHIM_LIKELY(x) __builtin_expect(!!(x), 1)
#define SHIM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SHIM_TLS __thread __attribute__((tls_model("initial-exec")))
#define SHIM_MIN_ALIGN 16
#define SHIM_PAGE 4096UL
#define SHIM_MAX_NODES 64 /* nodes the shim tracks for per-thread areas and reports */
#define SHIM_MAX_CLASSES (1 + AMLSHIM_MAX_RULES) /* small-path placements */
/* Below this, a rule whose placement jemalloc's arenas can carry is served
 * by a small-path class; from it on, by the rule's area. */
#define SHIM_LARGE_FLOOR ((size_t)64 << 10)

/* ---- init.c: lazy start-up that never waits ---- */
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

/* ---- init.c: another allocator preloaded in front of us ---- */
extern int shim_forward;
extern void *(*shim_global_realloc)(void *, size_t);
extern int (*shim_global_posix_memalign)(void **, size_t, size_t);
extern size_t (*shim_global_usable_size)(void *);
/* The definition the program's own lookup finds first, the executable left
 * out (NULL: none). */
void *shim_global_symbol(const char *name);

/* ---- malloc_extras.c: malloc_trim, mallopt, mallinfo, malloc_stats/info ---- */
/* Finds glibc's extras (and those of an allocator in front); at start-up,
 * so that a call from a fork child or a signal handler needs no dlsym. */
void shim_extras_resolve(void);

/* The first shared object's definition of name in load order (the
 * executable skipped), or NULL. Calls dlopen and dlsym: not from malloc. */
void *shim_global_symbol(const char *name);

/* ---- deepbind_got.c: RTLD_DEEPBIND kept, the malloc family rebound ---- */
/* 0 where the relocation types are not known: the flag is dropped instead. */
extern const int shim_deepbind_supported;
/* glibc's dlopen (next) of file with flags (RTLD_DEEPBIND among them) on
 * behalf of the code at caller; then the malloc-family references of the
 * objects it loaded that DEEPBIND bound to glibc point at ours. */
void *shim_deepbind_open(void *(*next)(const char *, int), const char *file, int flags, const void *caller);
void shim_deepbind_after_fork_child(void);

/* ---- glibc.c: the allocator behind us, for pointers that are not ours ---- */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *ptr);
size_t shim_glibc_usable_size(void *ptr);
void shim_glibc_resolve(void);

/* ---- the OS layer: areas/os.h (aml_os_*, every system call) ---- */
#include "os.h"

/* ---- log.c: messages with raw write(2) ---- */
/* Buffered raw-write output (out.c): the report, malloc_stats. */
struct shim_out {
	int fd;
	size_t used;
	char buf[4096];
};
void shim_out_put(struct shim_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void shim_out_flush(struct shim_out *out);
void shim_log(enum amlshim_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void shim_log_fd(int fd, enum amlshim_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void shim_log_line(const char *line, void *ctx); /* a policy message sink */
/* 0 when the program started with stderr closed: then nothing is written
 * to fd 2, which may hold the program's own file later. */
extern int shim_stderr_open;

/* ---- small.c: jemalloc arenas on a planned range ---- */
/* The range: num_classes slices of 1 << shim_small_slice_shift bytes from
 * shim_small_base (shim_small_size in all); of each, the first
 * shim_small_mapped[class] bytes are mapped and jemalloc's, the rest is
 * not the shim's (the program may have mapped something there). */
extern uintptr_t shim_small_base, shim_small_size;
extern unsigned shim_small_slice_shift;
extern uintptr_t shim_small_mapped[];
/* Fast paths (alloc.c): a bound thread may call the private jemalloc
 * directly; a pointer in class 0's mapped front goes straight back to it. */
extern SHIM_TLS int shim_small_bound;
#define shim_small_class0_size shim_small_mapped[0]
static inline int shim_small_owns(const void *ptr)
{
	uintptr_t off = (uintptr_t)ptr - shim_small_base;
	if (off >= __atomic_load_n(&shim_small_size, __ATOMIC_ACQUIRE))
		return 0;
	unsigned shift = shim_small_slice_shift;
	return (off & (((uintptr_t)1 << shift) - 1)) <
	       __atomic_load_n(&shim_small_mapped[off >> shift], __ATOMIC_ACQUIRE);
}
/* Plans the range for class 0 (AMLSHIM_SMALL) and extra_classes more. */
int shim_small_init(int extra_classes);
/* Whether arenas can carry a placement (an mbind policy, or default). */
int shim_small_placeable(const struct amlshim_placement *placement);
/* A class's placement, once its nodes are checked: extents from now on. */
void shim_small_set_placement(int class_index, const struct amlshim_placement *placement);
void *shim_small_class_alloc(int class_index, size_t size, size_t alignment, int zero);
int shim_small_class_of(const void *ptr);
void shim_small_before_fork(void);
void shim_small_after_fork(void);
void *shim_small_malloc(size_t size);
void *shim_small_calloc(size_t size);
void *shim_small_aligned(size_t alignment, size_t size);
void *shim_small_realloc(void *ptr, size_t size);
void shim_small_free(void *ptr);
size_t shim_small_usable(void *ptr);
void shim_small_describe(char *buf, size_t len);
void shim_small_after_fork_child(void); /* only this thread is left */
void shim_small_set_max_arenas(unsigned count); /* mallopt(M_ARENA_MAX) */

/* ---- registry.c: large blocks by address ---- */
enum shim_block_kind { SHIM_BLOCK_MALLOC, SHIM_BLOCK_MMAP };
struct shim_block {
	void *ptr;              /* what the program holds */
	void *base;             /* what the area returned */
	size_t mapped;          /* bytes the area returned */
	size_t requested;       /* bytes asked for */
	struct shim_pool *pool; /* where it came from and goes back */
	uint8_t kind;
	uint8_t lazy;           /* cached with MADV_FREE (else kept resident) */
	struct shim_block *prev, *next; /* the pool's live list */
};
int shim_registry_init(void);
struct shim_block *shim_registry_lookup(const void *ptr);
int shim_registry_set(const void *ptr, struct shim_block *block);
struct shim_block *shim_block_new(void);
void shim_block_delete(struct shim_block *block);
void shim_registry_before_fork(void);
void shim_registry_after_fork(void);

/* ---- large.c: rules served through areas ---- */
struct shim_route;
int shim_large_init(void);
/* The route for a size, or NULL for the plain path. */
struct shim_route *shim_route_for(size_t size);
void *shim_large_alloc(struct shim_route *route, size_t size, size_t alignment, int zero);
/* The small-path class serving a route's sizes below SHIM_LARGE_FLOOR (0: none). */
int shim_route_small_class(const struct shim_route *route);
void shim_route_count_small(struct shim_route *route, size_t size);
void shim_large_free(struct shim_block *block);
void *shim_large_realloc(struct shim_block *block, size_t size);
size_t shim_large_usable(const struct shim_block *block);
/* NULL: not placed, the kernel maps it; MAP_FAILED: strict, placement failed. */
void *shim_large_mmap(struct shim_route *route, size_t len);
/* munmap: placed mappings inside the range lose that part. */
void shim_large_unmap_range(void *addr, size_t len);
extern unsigned long shim_mmap_live_blocks;
extern SHIM_TLS int shim_locks_held;

/* The shim's locks: short sections, no waiting on anything else. Each one
 * held counts in shim_locks_held, so a signal handler's mmap or munmap on
 * this thread takes the kernel's path instead of waiting for it. */
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
void *shim_large_mremap(struct shim_block *block, size_t new_len, int flags, void *new_addr);

/* ---- routes.c: phase 2, areas for the rules; returns failures ---- */
int shim_routes_resolve(void);

/* ---- report.c ---- */
extern unsigned long shim_foreign_frees, shim_bootstrap_allocs;
int shim_report_write(int fd, int json);
void shim_report_prepare(void); /* phase 2: keep a copy of stderr */
void shim_report_at_exit(void);

/* ---- fork.c ---- */
void shim_fork_install(void);
extern int shim_in_forked_child;

#endif
