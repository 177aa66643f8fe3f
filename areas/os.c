/* The OS layer's system calls (declared in os.h): mappings, memory policy,
 * page moves, the CPU's node, the clock and random bits. Through syscall(),
 * so an interposed mmap (the shim's) is never re-entered and nothing
 * allocates. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "os.h"

#define AML_GRND_NONBLOCK 1 /* getrandom flag (linux/random.h) */

void *aml_os_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int aml_os_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

void *aml_os_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

int aml_os_madvise(void *addr, size_t len, int advice)
{
	return (int)syscall(SYS_madvise, addr, len, advice);
}

int aml_os_mprotect(void *addr, size_t len, int prot)
{
	return (int)syscall(SYS_mprotect, addr, len, prot);
}

int aml_os_could_map(size_t len)
{
	AML_KEEP_ERRNO;
	void *probe = aml_os_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ok = probe != MAP_FAILED;
	if (ok)
		aml_os_munmap(probe, len);
	return ok;
}

size_t aml_os_page_size(void)
{
	static size_t page_size;
	if (!page_size)
		page_size = (size_t)sysconf(_SC_PAGESIZE);
	return page_size;
}

static void touch_pages(void *addr, size_t len)
{
	size_t page = aml_os_page_size();
	for (size_t off = 0; off < len; off += page)
		((volatile char *)addr)[off] = ((volatile char *)addr)[off];
}

static int no_populate; /* kernel < 5.14: MADV_POPULATE_WRITE is EINVAL */

int aml_os_prefault_write(void *addr, size_t len)
{
	if (__atomic_load_n(&no_populate, __ATOMIC_RELAXED)) {
		errno = EINVAL;
		return -1;
	}
	if (aml_os_madvise(addr, len, MADV_POPULATE_WRITE) == 0)
		return 0;
	if (errno == EINVAL)
		__atomic_store_n(&no_populate, 1, __ATOMIC_RELAXED);
	return -1;
}

int aml_os_can_prefault(void)
{
	/* The advice is checked before the range, and an empty range is 0. */
	int saved = errno;
	if (!__atomic_load_n(&no_populate, __ATOMIC_RELAXED) &&
	    aml_os_madvise((void *)aml_os_page_size(), 0, MADV_POPULATE_WRITE) != 0 && errno == EINVAL)
		__atomic_store_n(&no_populate, 1, __ATOMIC_RELAXED);
	errno = saved;
	return !__atomic_load_n(&no_populate, __ATOMIC_RELAXED);
}

int aml_os_populate_write(void *addr, size_t len)
{
	int saved = errno;
	if (aml_os_prefault_write(addr, len) == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
	errno = saved; /* falls back to touching */
	touch_pages(addr, len);
	return 0;
}

void aml_os_populate(void *addr, size_t len)
{
	if (aml_os_populate_write(addr, len) != 0)
		touch_pages(addr, len);
}

long aml_os_mbind(void *addr, size_t len, int mode, const unsigned long *mask,
                  unsigned long maxnode, unsigned flags)
{
	return syscall(SYS_mbind, addr, len, mode, mask, maxnode, flags);
}

long aml_os_set_mempolicy(int mode, const unsigned long *mask, unsigned long maxnode)
{
	return syscall(SYS_set_mempolicy, mode, mask, maxnode);
}

long aml_os_get_mempolicy(int *mode, unsigned long *mask, unsigned long maxnode,
                          void *addr, unsigned long flags)
{
	return syscall(SYS_get_mempolicy, mode, mask, maxnode, addr, flags);
}

long aml_os_move_pages(int pid, unsigned long count, void **pages, const int *nodes,
                       int *status, int flags)
{
	return syscall(SYS_move_pages, pid, count, pages, nodes, status, flags);
}

int aml_os_current_node(void)
{
	unsigned cpu = 0, node = 0;
	if (syscall(SYS_getcpu, &cpu, &node, NULL) != 0)
		return 0;
	return (int)node;
}

size_t aml_os_address_space_limit(void)
{
	struct rlimit limit;
	AML_KEEP_ERRNO;
	int limited = syscall(SYS_getrlimit, RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY;
	return limited ? (size_t)limit.rlim_cur : SIZE_MAX;
}

int aml_os_thp_disabled(void)
{
	return syscall(SYS_prctl, PR_GET_THP_DISABLE, 0, 0, 0, 0) != 0;
}

unsigned long long aml_os_now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	return (unsigned long long)now.tv_sec * 1000000000ULL + (unsigned long long)now.tv_nsec;
}

unsigned long long aml_os_random_seed(void)
{
	uint64_t r = 0;
	AML_KEEP_ERRNO;
	if (syscall(SYS_getrandom, &r, sizeof(r), AML_GRND_NONBLOCK) != (long)sizeof(r)) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		r = (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 32) ^ (uint64_t)(uintptr_t)&r ^
		    ((uint64_t)getpid() << 16);
	}
	return r;
}

int aml_errno_from_os(int err)
{
	switch (err) {
	case ENOMEM: return AML_ENOMEM;
	case EINVAL: case EBADF: case EOVERFLOW: return AML_EINVAL;
	case EPERM: case EACCES: return AML_EPERM;
	case EBUSY: return AML_EBUSY;
	case ENOSYS: return AML_ENOTSUP;
	default: return AML_FAILURE;
	}
}
