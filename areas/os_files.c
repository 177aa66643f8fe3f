/* The OS layer's file reads (declared in os.h): small /proc and sysfs
 * files, read with raw openat/read/close into the caller's buffer, so they
 * work inside allocator hooks (no stdio, no malloc) and keep errno; the
 * memory still available to this process (meminfo and the memory cgroup);
 * a whole file mapped read-only (ELF symbol tables) and the program's
 * path. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "os.h"

static int open_read(const char *path)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
}

/* Reads up to len bytes at buf; the count, or -1 on a read error. */
static ssize_t read_some(int fd, char *buf, size_t len)
{
	size_t used = 0;
	while (used < len) {
		ssize_t n = read(fd, buf + used, len - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return used ? (ssize_t)used : -1;
		if (n == 0)
			break;
		used += (size_t)n;
	}
	return (ssize_t)used;
}

ssize_t aml_os_read_file(const char *path, char *buf, size_t len)
{
	if (len == 0)
		return -1;
	AML_KEEP_ERRNO;
	ssize_t got = -1;
	int fd = open_read(path);
	if (fd >= 0) {
		got = read_some(fd, buf, len - 1);
		close(fd);
	}
	buf[got > 0 ? got : 0] = '\0';
	return got;
}

int aml_os_read_lines(const char *path, char *buf, size_t len,
                      int (*each)(char *line, void *ctx), void *ctx)
{
	AML_KEEP_ERRNO;
	int fd = len > 1 ? open_read(path) : -1;
	if (fd < 0)
		return -1;
	size_t kept = 0; /* bytes of an unfinished line at the start of buf */
	int stop = 0, at_end = 0;
	while (!stop && !at_end) {
		ssize_t n = read_some(fd, buf + kept, len - 1 - kept);
		at_end = n <= 0 || (size_t)n < len - 1 - kept;
		size_t filled = kept + (size_t)(n > 0 ? n : 0);
		buf[filled] = '\0';
		char *line = buf;
		for (char *newline; !stop && (newline = memchr(line, '\n', filled - (size_t)(line - buf)));) {
			*newline = '\0';
			stop = each(line, ctx);
			line = newline + 1;
		}
		kept = filled - (size_t)(line - buf);
		if (!stop && kept && (at_end || kept == len - 1)) {
			stop = each(line, ctx); /* the last line, or one cut */
			kept = 0;
		}
		memmove(buf, line, kept);
	}
	close(fd);
	return 0;
}

int aml_os_read_long(const char *path, long *out)
{
	char text[32], *end;
	if (aml_os_read_file(path, text, sizeof(text)) <= 0)
		return -1;
	*out = strtol(text, &end, 10);
	return end == text ? -1 : 0;
}

/* Reads a number from a small file; SIZE_MAX when it says "max", -1 on error. */
static int read_number(const char *path, size_t *out)
{
	char value[64];
	if (aml_os_read_file(path, value, sizeof(value)) <= 0)
		return -1;
	*out = strncmp(value, "max", 3) == 0 ? SIZE_MAX : (size_t)strtoull(value, NULL, 10);
	return 0;
}

/* What the memory cgroup (v2, or v1's memory controller) still allows this
 * process, or SIZE_MAX when nothing limits it. */
static size_t cgroup_room(void)
{
	char text[2048], path[1200];
	if (aml_os_read_file("/proc/self/cgroup", text, sizeof(text)) <= 0)
		return SIZE_MAX;
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

size_t aml_os_available_memory(void)
{
	size_t room = cgroup_room();
	size_t system = aml_os_system_available();
	return room < system ? room : system;
}

size_t aml_os_system_available(void)
{
	char text[4096];
	if (aml_os_read_file("/proc/meminfo", text, sizeof(text)) <= 0)
		return SIZE_MAX;
	const char *field = strstr(text, "MemAvailable:");
	if (!field)
		return SIZE_MAX;
	return (size_t)strtoull(field + 13, NULL, 10) * 1024;
}

int aml_os_open_private(const char *path)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
}

int aml_os_each_entry(const char *dir, void (*each)(const char *name, void *ctx), void *ctx)
{
	/* getdents64 into a stack buffer: opendir would malloc. */
	struct entry {
		uint64_t ino;
		int64_t off;
		unsigned short reclen;
		unsigned char type;
		char name[];
	};
	char buf[4096] __attribute__((aligned(8)));
	int fd = (int)syscall(SYS_openat, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	long got;
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long at = 0; at < got;) {
			const struct entry *e = (const struct entry *)(buf + at);
			each(e->name, ctx);
			at += e->reclen;
		}
	}
	close(fd);
	return got < 0 ? -1 : 0;
}

int aml_os_process_stat(long pid, char *state, unsigned long long *start)
{
	char path[48], text[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (aml_os_read_file(path, text, sizeof(text)) <= 0)
		return -1;
	char *at = strrchr(text, ')'); /* the command name may hold spaces */
	if (!at || sscanf(at + 1, " %c", state) != 1)
		return -1;
	for (int field = 3; field <= 22 && at; field++) /* at: the space before field */
		at = strchr(at + 1, ' ');
	return at && sscanf(at, " %llu", start) == 1 ? 0 : -1;
}

int aml_os_create_file(const char *path)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

const void *aml_os_map_file(const char *path, size_t *size)
{
	AML_KEEP_ERRNO;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return NULL;
	void *map = MAP_FAILED;
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		map = aml_os_mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return NULL;
	*size = (size_t)st.st_size;
	return map;
}

void aml_os_exe_path(char *buf, size_t len)
{
	AML_KEEP_ERRNO;
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
}
