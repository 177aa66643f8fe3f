/* The soft-dirty bits of this process's pages (declared in os.h): which
 * pages were written since the last clear, read from /proc/self/pagemap
 * (bit 55) and cleared through /proc/self/clear_refs, for the heat of a
 * call-site profile. Raw calls: no stdio, no malloc, errno kept. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "os.h"

#define SOFT_DIRTY (1ULL << 55)

static int clear_fd = -1, pagemap_fd = -1;

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
