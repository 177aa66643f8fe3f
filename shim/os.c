/* Raw system calls for the shim: they never reach our interposed mmap and
 * never allocate. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
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

void shim_os_populate(void *addr, size_t len)
{
	if (syscall(SYS_madvise, addr, len, 23 /* MADV_POPULATE_WRITE */) == 0)
		return;
	for (size_t off = 0; off < len; off += SHIM_PAGE) /* kernels before 5.14 */
		((volatile char *)addr)[off] = ((volatile char *)addr)[off];
}

size_t shim_os_available_memory(void)
{
	char text[4096];
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/meminfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SIZE_MAX;
	ssize_t len = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (len <= 0)
		return SIZE_MAX;
	text[len] = '\0';
	const char *field = strstr(text, "MemAvailable:");
	if (!field)
		return SIZE_MAX;
	return (size_t)strtoull(field + 13, NULL, 10) * 1024;
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
