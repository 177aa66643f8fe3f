/* Raw system calls for the shim: they never reach our interposed mmap and
 * never allocate. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/* Whether the kernel would give a private mapping of len bytes at all
 * (address space, overcommit): mapped and unmapped at once, never touched. */
int shim_os_could_map(size_t len)
{
	int saved = errno;
	void *probe = shim_os_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ok = probe != MAP_FAILED;
	if (ok)
		shim_os_munmap(probe, len);
	errno = saved;
	return ok;
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

/* Reads a number from a small file; 0 when it says "max", -1 on error. */
static int read_number(const char *path, size_t *out)
{
	char value[64];
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t len = read(fd, value, sizeof(value) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	value[len] = '\0';
	*out = strncmp(value, "max", 3) == 0 ? SIZE_MAX : (size_t)strtoull(value, NULL, 10);
	return 0;
}

/* What the memory cgroup (v2, or v1's memory controller) still allows this
 * process, or SIZE_MAX when nothing limits it. */
static size_t cgroup_room(void)
{
	char text[2048], path[1200];
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SIZE_MAX;
	ssize_t len = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (len <= 0)
		return SIZE_MAX;
	text[len] = '\0';
	const char *limit_file = NULL, *usage_file = NULL, *dir = NULL;
	char *line = text;
	while (line && *line) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, "0::", 3) == 0 && !dir) {
			dir = line + 3;
			limit_file = "/sys/fs/cgroup%s/memory.max";
			usage_file = "/sys/fs/cgroup%s/memory.current";
		} else if (strstr(line, ":memory:")) {
			dir = strstr(line, ":memory:") + 8;
			limit_file = "/sys/fs/cgroup/memory%s/memory.limit_in_bytes";
			usage_file = "/sys/fs/cgroup/memory%s/memory.usage_in_bytes";
		}
		line = next;
	}
	size_t limit, usage;
	if (!dir || strlen(dir) > 1000)
		return SIZE_MAX;
	snprintf(path, sizeof(path), limit_file, dir);
	if (read_number(path, &limit) != 0 || limit == SIZE_MAX || limit >= ((size_t)1 << 60))
		return SIZE_MAX;
	snprintf(path, sizeof(path), usage_file, dir);
	if (read_number(path, &usage) != 0)
		return SIZE_MAX;
	return limit > usage ? limit - usage : 0;
}

size_t shim_os_available_memory(void)
{
	size_t room = cgroup_room();
	size_t system = shim_os_system_available();
	return room < system ? room : system;
}

size_t shim_os_system_available(void)
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

/* The private jemalloc must not obey MALLOC_CONF or /etc/malloc.conf: they
 * are meant for the program's own jemalloc, and its options are ours. */
char *amlshim_je_os_secure_getenv(const char *name)
{
	(void)name;
	return NULL;
}

ssize_t amlshim_je_os_readlink(const char *path, char *buf, size_t len)
{
	(void)path, (void)buf, (void)len;
	errno = ENOENT;
	return -1;
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
