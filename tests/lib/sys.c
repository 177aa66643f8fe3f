/* What the tests ask of the machine and the process: the monotonic clock,
 * the VMA count (/proc/self/maps), the THP mode (sysfs). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "sys.h"

double test_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int test_vma_count(void)
{
	char buf[4096];
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int lines = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	return lines;
}

/* The line of /sys/kernel/mm/transparent_hugepage/enabled ("" if none). */
static void thp_mode(char *mode, size_t len)
{
	mode[0] = '\0';
	FILE *file = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (file) {
		if (!fgets(mode, (int)len, file))
			mode[0] = '\0';
		fclose(file);
	}
}

int test_thp_usable(void)
{
	char mode[128];
	thp_mode(mode, sizeof(mode));
	return (strstr(mode, "[always]") || strstr(mode, "[madvise]")) && prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 0;
}

int test_thp_always(void)
{
	char mode[128];
	thp_mode(mode, sizeof(mode));
	return strstr(mode, "[always]") != NULL;
}
