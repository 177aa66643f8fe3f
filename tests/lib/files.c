/* Files for the tests: reading whole files (into a buffer without malloc,
 * or into a grown one), temporary directories. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "files.h"

long shim_test_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t used = 0;
	for (;;) {
		ssize_t n = read(fd, buf + used, len - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used == len - 1)
			break;
	}
	close(fd);
	buf[used] = '\0';
	return (long)used;
}

char *shim_vm_read_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t used = 0, cap = 4096;
	char *text = malloc(cap);
	CHECK(text != NULL, "out of memory");
	for (;;) {
		if (used + 1 >= cap) {
			cap *= 2;
			text = realloc(text, cap);
			CHECK(text != NULL, "out of memory");
		}
		ssize_t n = read(fd, text + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		CHECK(n >= 0, "read %s: %s", path, strerror(errno));
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	text[used] = '\0';
	return text;
}

void shim_test_tmpdir(char *buf, size_t len)
{
	const char *base = getenv("TMPDIR");
	snprintf(buf, len, "%s/amlshim-test.XXXXXX", base && *base ? base : "/tmp");
	CHECK(mkdtemp(buf) != NULL, "mkdtemp %s: %s", buf, strerror(errno));
}

void shim_test_remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *entry;
		while ((entry = readdir(d))) {
			if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
				continue;
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}
