/* The one OS layer: every system call of the project (memory mappings,
 * memory policy, page moves, the clock, the CPU's node, random bits, /proc
 * and sysfs reads) goes through these functions, and the kernel numbers
 * they take are named here once. It is the lowest layer: the areas, the
 * policy and the shim include it ("os.h", -Iareas).
 *
 * Every function is hidden (in libaml.so, libaml.a and the shim, exported by
 * none) and never allocates. Calls the shim interposes (the mmap family)
 * and those glibc may lack go to the kernel through syscall(), so the
 * shim's mmap is never re-entered; the rest (read, close, clock_gettime,
 * sysconf) are libc wrappers that neither allocate nor are interposed. Failures return -1 (or
 * MAP_FAILED) and set errno, like libc, unless a comment says otherwise. */
#ifndef AML_AREAS_OS_H
#define AML_AREAS_OS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>

#include <aml.h>

#define AML_HIDDEN __attribute__((visibility("hidden")))

/* errno as it was when the enclosing block declared AML_KEEP_ERRNO, back
 * on every way out of it: work a caller did not ask about (a probe, a read
 * of /proc, a call that succeeds) must not show in errno. */
static inline void aml_errno_restore(const int *saved)
{
	errno = *saved;
}
#define AML_KEEP_ERRNO int aml_kept_errno_ __attribute__((cleanup(aml_errno_restore))) = errno

/* Node masks: <aml/utils/nodemask.h>. The kernel's maxnode counts one bit
 * more than it reads. */
#define AML_MASK_BITS AML_NODEMASK_WORD_BITS
#define AML_MASK_WORDS AML_NODEMASK_WORDS
#define AML_OS_MAXNODE ((unsigned long)AML_MAX_NODES + 1)

/* The kernel files the areas read through aml_os_read_file/_lines, named
 * here so that every /proc and /sys path is in the OS layer. */
#define AML_OS_THP_DIR "/sys/kernel/mm/transparent_hugepage"
#define AML_OS_ZONEINFO "/proc/zoneinfo"
#define AML_OS_NODE_DIR "/sys/devices/system/node"
/* The system weights of MPOL_WEIGHTED_INTERLEAVE (Linux 6.9+): nodeN files. */
#define AML_OS_WEIGHTED_DIR "/sys/kernel/mm/mempolicy/weighted_interleave"

/* Kernel policy numbers (linux/mempolicy.h); some headers lack the newer. */
enum {
	AML_MPOL_DEFAULT = 0,
	AML_MPOL_PREFERRED = 1,
	AML_MPOL_BIND = 2,
	AML_MPOL_INTERLEAVE = 3,
	AML_MPOL_LOCAL = 4,
	AML_MPOL_PREFERRED_MANY = 5,
	AML_MPOL_WEIGHTED_INTERLEAVE = 6, /* Linux 6.9+ */
};
/* A mode as get_mempolicy reports it, less its MPOL_F_* mode flags. */
#define AML_MPOL_MODE_BITS 0xff
/* get_mempolicy flags. */
#define AML_MPOL_F_NODE (1UL << 0)
#define AML_MPOL_F_ADDR (1UL << 1)
#define AML_MPOL_F_MEMS_ALLOWED (1UL << 2)
/* madvise advice Debian 12's headers may lack. */
#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Mappings. */
AML_HIDDEN void *aml_os_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
AML_HIDDEN int aml_os_munmap(void *addr, size_t len);
AML_HIDDEN void *aml_os_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);
AML_HIDDEN int aml_os_madvise(void *addr, size_t len, int advice);
AML_HIDDEN int aml_os_mprotect(void *addr, size_t len, int prot);
/* Whether the kernel would give a private mapping of len bytes at all
 * (address space, overcommit): mapped and unmapped at once; errno kept. */
AML_HIDDEN int aml_os_could_map(size_t len);
AML_HIDDEN size_t aml_os_page_size(void);
/* Touches every page of the range for writing (MADV_POPULATE_WRITE, or a
 * write per page on kernels without it); 0 or -1. */
AML_HIDDEN int aml_os_populate_write(void *addr, size_t len);
/* MADV_POPULATE_WRITE alone, no writes: for hugetlb, where a write the
 * pool cannot serve is a SIGBUS. 0, or -1 (EINVAL: a kernel before 5.14). */
AML_HIDDEN int aml_os_prefault_write(void *addr, size_t len);
/* Whether the kernel has MADV_POPULATE_WRITE (Linux 5.14). */
AML_HIDDEN int aml_os_can_prefault(void);
/* The same, never failing: a refused madvise falls back to the writes. */
AML_HIDDEN void aml_os_populate(void *addr, size_t len);

/* Memory policy and page placement. */
AML_HIDDEN long aml_os_mbind(void *addr, size_t len, int mode, const unsigned long *mask,
                             unsigned long maxnode, unsigned flags);
AML_HIDDEN long aml_os_set_mempolicy(int mode, const unsigned long *mask, unsigned long maxnode);
AML_HIDDEN long aml_os_get_mempolicy(int *mode, unsigned long *mask, unsigned long maxnode,
                                     void *addr, unsigned long flags);
AML_HIDDEN long aml_os_move_pages(int pid, unsigned long count, void **pages, const int *nodes,
                                  int *status, int flags);
/* The node of the CPU this thread runs on (0 when the kernel cannot say). */
AML_HIDDEN int aml_os_current_node(void);

/* Limits of this process. */
/* RLIMIT_AS's soft limit in bytes, SIZE_MAX when unlimited or unknown;
 * read each time (the program may change it); errno kept. */
AML_HIDDEN size_t aml_os_address_space_limit(void);
/* 1 when this process asked for no transparent huge pages
 * (prctl PR_SET_THP_DISABLE, inherited across exec), else 0. */
AML_HIDDEN int aml_os_thp_disabled(void);

/* Time and randomness. */
/* CLOCK_MONOTONIC_COARSE in nanoseconds. */
AML_HIDDEN unsigned long long aml_os_now_ns(void);
/* 64 bits for seeding: getrandom without blocking, else the clock, the
 * stack address and the pid mixed (not for secrets); errno kept. */
AML_HIDDEN unsigned long long aml_os_random_seed(void);

/* Files of /proc and /sys (os_files.c): no stdio, no malloc, errno kept. */
/* Reads the file (from its start, up to len - 1 bytes) into buf and
 * terminates it; the length, or -1 when it cannot be opened or read. */
AML_HIDDEN ssize_t aml_os_read_file(const char *path, char *buf, size_t len);
/* The first number of a small kernel file into *out; 0, or -1. */
AML_HIDDEN int aml_os_read_long(const char *path, long *out);
/* Calls each(line, ctx) on every line of the file (without its newline),
 * read through buf; a line longer than len - 1 comes in pieces. Stops when
 * each returns non-zero. 0, or -1 when the file cannot be opened. */
AML_HIDDEN int aml_os_read_lines(const char *path, char *buf, size_t len,
                                 int (*each)(char *line, void *ctx), void *ctx);
/* Creates or truncates a file for writing (0644, close-on-exec): the
 * descriptor, or -1 with errno. */
AML_HIDDEN int aml_os_create_file(const char *path);
/* Opens or creates a file for reading and writing (0600, no symbolic
 * link, close-on-exec): the descriptor, or -1 with errno. */
AML_HIDDEN int aml_os_open_private(const char *path);
/* path mapped read-only (its size in *size), or NULL; errno kept. */
AML_HIDDEN const void *aml_os_map_file(const char *path, size_t *size);
/* The running program's path (/proc/self/exe) into buf; "" if unknown. */
AML_HIDDEN void aml_os_exe_path(char *buf, size_t len);
/* Calls each(name, ctx) for every entry of a directory (no malloc); 0, or
 * -1 when it cannot be read. */
AML_HIDDEN int aml_os_each_entry(const char *dir, void (*each)(const char *name, void *ctx), void *ctx);
/* State (field 3) and start time (field 22, clock ticks since boot) of a
 * process from /proc/PID/stat; 0, or -1 when it cannot be read. */
AML_HIDDEN int aml_os_process_stat(long pid, char *state, unsigned long long *start);
/* MemAvailable of /proc/meminfo in bytes (SIZE_MAX when unknown). */
AML_HIDDEN size_t aml_os_system_available(void);
/* The same, less what the memory cgroup would still allow if that is less. */
AML_HIDDEN size_t aml_os_available_memory(void);
/* A NUMA node's MemTotal in bytes, 0 when sysfs cannot tell (node_memory.c). */
AML_HIDDEN size_t aml_os_node_total(unsigned node);

/* Huge pages (os_huge.c). The transparent huge page (PMD) size, 0 when
 * the kernel has no THP. The free pages of the kernel's pool of size
 * bytes on a node (node < 0: the whole system); -1 when there is no such
 * pool. The pool sizes the kernel has, "2M, 1G", into buf; their count. */
AML_HIDDEN size_t aml_os_thp_size(void);
AML_HIDDEN long aml_os_huge_free(int node, size_t size);
AML_HIDDEN int aml_os_huge_sizes(char *buf, size_t len);

/* Soft-dirty bits (os_soft_dirty.c; /proc/self/clear_refs and
 * /proc/self/pagemap): opened once (0, or -1 when the kernel or the
 * sandbox refuses); every page's bit cleared (writes 4 to clear_refs; 0 or
 * -1); the pages among `pages` from `start` (page-aligned) whose bit is
 * set (a page not mapped counts as clean). */
AML_HIDDEN int aml_os_soft_dirty_open(void);
AML_HIDDEN int aml_os_soft_dirty_clear(void);
AML_HIDDEN unsigned long aml_os_soft_dirty_count(uintptr_t start, size_t pages);

/* The AML error code for a system call's errno. */
AML_HIDDEN int aml_errno_from_os(int err);

#endif
