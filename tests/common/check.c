/* Placement queries and skip helpers shared by the C tests. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <numa.h>
#include <numaif.h>

#include "check.h"

static void vskip(const char *fmt, va_list ap)
{
	fputs("SKIP: ", stdout);
	vfprintf(stdout, fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
}

void test_skip_hardware(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vskip(fmt, ap);
	va_end(ap);
	exit(TEST_SKIP_CODE);
}

void test_skip_dependency(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const char *ci = getenv("CI");
	if (ci && strcmp(ci, "true") == 0) {
		fputs("FAIL: missing dependency in CI: ", stdout);
		vfprintf(stdout, fmt, ap);
		fputc('\n', stdout);
		exit(1);
	}
	vskip(fmt, ap);
	va_end(ap);
	exit(TEST_SKIP_CODE);
}

size_t test_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

int test_allowed_nodes(int *nodes, int max)
{
	struct bitmask *allowed = numa_get_mems_allowed();
	int count = 0;
	for (unsigned node = 0; allowed && node < allowed->size && count < max; node++)
		if (numa_bitmask_isbitset(allowed, node))
			nodes[count++] = (int)node;
	if (allowed)
		numa_bitmask_free(allowed);
	return count;
}

int test_page_node(const void *addr)
{
	void *page = (void *)((unsigned long)addr & ~(test_page_size() - 1));
	int status = -1;
	if (syscall(SYS_move_pages, 0, 1UL, &page, NULL, &status, 0) != 0)
		return -errno;
	return status;
}

int test_pages_nodes(const void *addr, size_t size, int *nodes)
{
	size_t page = test_page_size();
	size_t count = (size + page - 1) / page;
	enum { CHUNK = 4096 };
	void *pages[CHUNK];
	for (size_t done = 0; done < count; done += CHUNK) {
		size_t n = count - done < CHUNK ? count - done : CHUNK;
		for (size_t i = 0; i < n; i++)
			pages[i] = (char *)addr + (done + i) * page;
		if (syscall(SYS_move_pages, 0, n, pages, NULL, nodes + done, 0) != 0)
			return -1;
	}
	return 0;
}

int test_node_histogram(const void *addr, size_t size, long *counts, int max_node)
{
	size_t page = test_page_size();
	size_t count = (size + page - 1) / page;
	int *nodes = calloc(count, sizeof(int));
	if (!nodes)
		return -1;
	int ret = test_pages_nodes(addr, size, nodes);
	for (int n = 0; n <= max_node; n++)
		counts[n] = 0;
	for (size_t i = 0; ret == 0 && i < count; i++)
		if (nodes[i] >= 0 && nodes[i] <= max_node)
			counts[nodes[i]]++;
	free(nodes);
	return ret;
}

int test_range_policy(const void *addr, int *mode, unsigned long *mask)
{
	unsigned long masks[1024 / (8 * sizeof(unsigned long))] = {0};
	long ret = syscall(SYS_get_mempolicy, mode, masks, 1025UL, addr, MPOL_F_ADDR);
	if (mask)
		*mask = masks[0];
	return ret == 0 ? 0 : -errno;
}

int test_vma_count(void)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	if (!maps)
		return -1;
	int lines = 0, c;
	while ((c = fgetc(maps)) != EOF)
		lines += c == '\n';
	fclose(maps);
	return lines;
}

void test_touch(void *addr, size_t size)
{
	size_t page = test_page_size();
	for (size_t off = 0; off < size; off += page)
		((volatile char *)addr)[off] = (char)(off / page);
}

size_t test_resident_pages(const void *addr, size_t size)
{
	const size_t page = test_page_size(), pages = (size + page - 1) / page;
	unsigned char *vec = malloc(pages);
	CHECK(vec != NULL, "malloc");
	CHECK(mincore((void *)addr, size, vec) == 0, "mincore: %s", strerror(errno));
	size_t count = 0;
	for (size_t i = 0; i < pages; i++)
		count += vec[i] & 1;
	free(vec);
	return count;
}

double test_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int test_thp_usable(void)
{
	char mode[128] = "";
	FILE *file = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (file) {
		if (!fgets(mode, sizeof(mode), file))
			mode[0] = '\0';
		fclose(file);
	}
	return (strstr(mode, "[always]") || strstr(mode, "[madvise]")) && prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 0;
}
