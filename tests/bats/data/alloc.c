/* Compiled by gcc under the shim (tests/bats/programs.bats), then run:
 * allocations of many sizes through every malloc-family call, with a
 * checksum of their contents, so a misplaced or lost byte shows in stdout. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 4093)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h ^ n;
}

static int by_value(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

int main(void)
{
	uint64_t h = 14695981039346656037ULL;
	for (size_t size = 1; size <= ((size_t)64 << 20); size = size * 3 + 7) {
		unsigned char *p = malloc(size);
		memset(p, (int)(size & 0xff), size);
		p = realloc(p, size * 2 + 1);
		memset(p + size, 0x5a, size + 1);
		h = mix(h, p, size * 2 + 1);
		free(p);
		unsigned char *z = calloc(size, 1);
		h = mix(h, z, size);
		free(z);
		void *a = NULL;
		if (posix_memalign(&a, 4096, size) == 0) {
			memset(a, 1, size);
			h = mix(h, a, size);
			free(a);
		}
		void *b = aligned_alloc(64, (size + 63) & ~(size_t)63);
		memset(b, 2, size);
		h = mix(h, b, size);
		free(b);
	}
	size_t n = (size_t)1 << 20;
	uint32_t *v = malloc(n * sizeof(*v));
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		v[i] = x;
	}
	qsort(v, n, sizeof(*v), by_value);
	h = mix(h, (const unsigned char *)v, n * sizeof(*v));
	free(v);
	printf("checksum %016llx\n", (unsigned long long)h);
	return 0;
}
