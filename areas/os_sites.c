/* The OS calls of the shim's call sites (declared in os_sites.h): an ELF
 * file mapped read-only for its symbol tables, the program's own path,
 * and the soft-dirty bits of pages (written since the last clear), read
 * from /proc/self/pagemap (bit 55) and cleared through
 * /proc/self/clear_refs. Raw calls: no stdio, no malloc, errno kept. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "os_sites.h"

#define SOFT_DIRTY (1ULL << 55)

static int clear_fd = -1, pagemap_fd = -1;

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

int aml_os_soft_dirty_open(void)
{
	AML_KEEP_ERRNO;
	if (clear_fd < 0)
		clear_fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (pagemap_fd < 0)
		pagemap_fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	return clear_fd >= 0 && pagemap_fd >= 0 ? 0 : -1;
}

int aml_os_soft_dirty_clear(void)
{
	AML_KEEP_ERRNO;
	return pwrite(clear_fd, "4", 1, 0) == 1 ? 0 : -1;
}

unsigned long aml_os_soft_dirty_count(uintptr_t start, size_t pages)
{
	AML_KEEP_ERRNO;
	uint64_t entries[512];
	size_t page = aml_os_page_size();
	unsigned long dirty = 0;
	for (size_t done = 0; done < pages;) {
		size_t n = pages - done < 512 ? pages - done : 512;
		ssize_t got = pread(pagemap_fd, entries, n * 8, (off_t)((start / page + done) * 8));
		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got / 8; i++)
			dirty += (entries[i] & SOFT_DIRTY) != 0;
		done += (size_t)got / 8;
	}
	return dirty;
}
