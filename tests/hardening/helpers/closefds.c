/* A program that closes every file descriptor first thing (as some daemons
 * and sandboxes do), then allocates every way, mmaps, reallocates across
 * sizes, and writes what it computed to the file named by argv[1] (opened
 * after the closing, so it gets fd 0). The result must be the same with and
 * without the shim. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	for (int fd = 0; fd < 4096; fd++)
		close(fd);
	uint64_t sum = 0;
	for (int i = 0; i < 2000; i++) {
		size_t size = (size_t)(i * 7919 % 300000) + 1;
		unsigned char *p = i % 3 ? malloc(size) : calloc(1, size);
		if (!p)
			return 3;
		memset(p, i, size);
		p = realloc(p, size * 2 + 10);
		if (!p)
			return 4;
		sum += p[size - 1] + p[0];
		free(p);
		void *q = NULL;
		if (posix_memalign(&q, 4096, size) != 0)
			return 5;
		free(q);
	}
	void *m = mmap(NULL, 8 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 6;
	memset(m, 1, 8 << 20);
	munmap(m, 8 << 20);
	int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		return 7;
	char line[64];
	int n = snprintf(line, sizeof(line), "fd %d, sum %llu\n", out, (unsigned long long)sum);
	if (write(out, line, (size_t)n) != n)
		return 8;
	close(out);
	return 0;
}
