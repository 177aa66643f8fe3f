/* Every function of the malloc family on the same pointers, in the
 * combinations programs use: reallocarray on a malloc'ed block, free of a
 * memalign'ed, valloc'ed or pvalloc'ed one, malloc_usable_size of each.
 * Under the shim alone, or with another allocator preloaded before it,
 * every call must reach the allocator that owns the pointer. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *p = malloc(100);
	if (!p)
		return 1;
	memset(p, 'x', 100);
	for (int i = 1; i < 3000; i += 7) {
		p = reallocarray(p, (size_t)i, 100);
		if (!p || p[0] != 'x' || p[99] != 'x')
			return 2;
	}
	free(p);
	void *blocks[5];
	blocks[0] = memalign(64, 1000);
	blocks[1] = valloc(5000);
	blocks[2] = pvalloc(5000);
	blocks[3] = aligned_alloc(4096, 8192);
	if (posix_memalign(&blocks[4], 256, 300) != 0)
		return 3;
	for (int i = 0; i < 5; i++) {
		if (!blocks[i] || malloc_usable_size(blocks[i]) < 300)
			return 4;
		memset(blocks[i], i, 300);
		blocks[i] = realloc(blocks[i], 20000);
		if (!blocks[i] || ((char *)blocks[i])[299] != i)
			return 5;
		free(blocks[i]);
	}
	puts("realloc family: ok");
	return 0;
}
