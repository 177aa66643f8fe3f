/* Helper library of tests/shim/foreign.c. Opened with RTLD_DEEPBIND, its
 * malloc family binds to glibc's (its own dependencies come before the
 * global scope, where the preloaded shim is); opened without, to the
 * shim's. The test calls these to hand pointers across that line. */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *dl_malloc(size_t size)
{
	return malloc(size);
}

void *dl_calloc(size_t count, size_t size)
{
	return calloc(count, size);
}

void *dl_realloc(void *ptr, size_t size)
{
	return realloc(ptr, size);
}

void *dl_memalign(size_t alignment, size_t size)
{
	void *ptr = NULL;
	return posix_memalign(&ptr, alignment, size) == 0 ? ptr : NULL;
}

void dl_free(void *ptr)
{
	free(ptr);
}

size_t dl_usable(void *ptr)
{
	return malloc_usable_size(ptr);
}

/* The malloc this library's calls reach. */
void *dl_malloc_address(void)
{
	return (void *)&malloc;
}

void *dl_free_address(void)
{
	return (void *)&free;
}

/* A checksum of memory the caller owns (read from inside the library). */
uint64_t dl_checksum(const void *ptr, size_t size)
{
	const unsigned char *b = ptr;
	uint64_t sum = 1469598103934665603ULL;
	for (size_t i = 0; i < size; i++)
		sum = (sum ^ b[i]) * 1099511628211ULL;
	return sum;
}

/* The library allocates, grows, checks and frees its own memory; 0 when
 * everything held. */
int dl_self_test(void)
{
	enum { COUNT = 200 };
	unsigned char *blocks[COUNT];
	size_t sizes[COUNT];
	for (int i = 0; i < COUNT; i++) {
		sizes[i] = (i % 10 == 0) ? (size_t)(i + 1) << 16 : (size_t)(i * 13 + 1);
		blocks[i] = malloc(sizes[i]);
		if (!blocks[i])
			return 1;
		memset(blocks[i], i & 0xff, sizes[i]);
	}
	for (int i = 0; i < COUNT; i += 3) {
		unsigned char *grown = realloc(blocks[i], sizes[i] * 3);
		if (!grown)
			return 2;
		for (size_t b = 0; b < sizes[i]; b++)
			if (grown[b] != (unsigned char)(i & 0xff))
				return 3;
		memset(grown, i & 0xff, sizes[i] * 3);
		blocks[i] = grown;
		sizes[i] *= 3;
	}
	for (int i = 0; i < COUNT; i++) {
		for (size_t b = 0; b < sizes[i]; b += 7)
			if (blocks[i][b] != (unsigned char)(i & 0xff))
				return 4;
		if (malloc_usable_size(blocks[i]) < sizes[i])
			return 5;
		free(blocks[i]);
	}
	return 0;
}
