/* Raw kernel calls used by the areas: through syscall(), so an interposed
 * mmap (the shim's) is never re-entered and nothing allocates. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <aml/area/linux.h>
#include "internal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

void *aml_os_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int aml_os_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

int aml_os_madvise(void *addr, size_t len, int advice)
{
	return (int)syscall(SYS_madvise, addr, len, advice);
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

size_t aml_os_page_size(void)
{
	static size_t page_size;
	if (!page_size)
		page_size = (size_t)sysconf(_SC_PAGESIZE);
	return page_size;
}

int aml_os_populate_write(void *addr, size_t len)
{
	static int no_populate; /* kernel < 5.14: fall back to touching */
	if (!no_populate) {
		int saved = errno;
		if (aml_os_madvise(addr, len, MADV_POPULATE_WRITE) == 0)
			return 0;
		if (errno != EINVAL)
			return -1;
		errno = saved;
		no_populate = 1;
	}
	size_t page = aml_os_page_size();
	for (size_t off = 0; off < len; off += page)
		((volatile char *)addr)[off] = ((volatile char *)addr)[off];
	return 0;
}
