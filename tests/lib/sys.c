/* What the tests ask of the machine and the process: the monotonic clock,
 * the VMA count (/proc/self/maps), the THP mode (sysfs). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
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

void test_seccomp(const struct sock_filter *rules, size_t count)
{
	struct sock_filter filter[26];
	CHECK(count <= 24, "test_seccomp: %zu rules, at most 24", count);
	filter[0] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	memcpy(filter + 1, rules, count * sizeof(*rules));
	filter[count + 1] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = {.len = (unsigned short)(count + 2), .filter = filter};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		test_skip_dependency("no seccomp filter (%s)", strerror(errno));
}
