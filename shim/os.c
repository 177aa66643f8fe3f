/* Raw system calls for the shim: they never reach our interposed mmap and
 * never allocate. */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

void *shim_os_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int shim_os_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

void *shim_os_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

int shim_os_current_node(void)
{
	unsigned cpu = 0, node = 0;
	if (syscall(SYS_getcpu, &cpu, &node, NULL) != 0)
		return 0;
	return (int)node;
}

/* jemalloc's own mappings (its imports renamed to these) bypass the shim. */
void *amlshim_je_os_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return shim_os_mmap(addr, len, prot, flags, fd, off);
}

int amlshim_je_os_munmap(void *addr, size_t len)
{
	return shim_os_munmap(addr, len);
}
