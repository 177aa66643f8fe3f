/* Capturing output in memory: memfds read back with read(2), so that a
 * test under the shim can look at output without calling malloc. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "capture.h"
#include "check.h"

int test_memfd(const char *name)
{
	int fd = (int)syscall(SYS_memfd_create, name, 1U /* MFD_CLOEXEC */);
	CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
	return fd;
}

size_t shim_test_read_back(int fd, char *buf, size_t len)
{
	CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek");
	size_t used = 0;
	ssize_t n;
	while (used < len - 1 && (n = read(fd, buf + used, len - 1 - used)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
	return used;
}

size_t test_capture(int fd, void (*fn)(int fd), char *buf, size_t len)
{
	int memfd = test_memfd("capture");
	if (fd < 0) {
		fn(memfd);
	} else {
		fflush(NULL);
		int saved = dup(fd);
		CHECK(saved >= 0 && dup2(memfd, fd) == fd, "dup2");
		fn(fd);
		CHECK(dup2(saved, fd) == fd, "restore fd %d", fd);
		close(saved);
	}
	off_t written = lseek(memfd, 0, SEEK_CUR);
	size_t used = shim_test_read_back(memfd, buf, len);
	close(memfd);
	CHECK((off_t)used == written, "captured %zu of %ld bytes", used, (long)written);
	return used;
}
