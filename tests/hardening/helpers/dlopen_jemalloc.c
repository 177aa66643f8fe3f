/* A program that loads jemalloc itself at run time (dlopen of Debian's
 * libjemalloc.so.2) and uses its allocator for some objects (mallocx,
 * free through the handle) next to the plain malloc family: two allocators
 * side by side, as programs with a pluggable allocator do. The output must
 * be the same with and without the shim. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	void *je = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_LOCAL);
	if (!je) {
		printf("jemalloc not loadable: %s\n", dlerror());
		return 0;
	}
	void *(*je_malloc)(size_t) = (void *(*)(size_t))dlsym(je, "malloc");
	void (*je_free)(void *) = (void (*)(void *))dlsym(je, "free");
	void *(*je_mallocx)(size_t, int) = (void *(*)(size_t, int))dlsym(je, "mallocx");
	void (*je_dallocx)(void *, int) = (void (*)(void *, int))dlsym(je, "dallocx");
	if (!je_malloc || !je_free || !je_mallocx || !je_dallocx) {
		printf("jemalloc symbols missing\n");
		return 1;
	}
	unsigned long sum = 0;
	for (int i = 1; i < 4000; i++) {
		size_t size = (size_t)i * 613 % 3000000 + 1;
		unsigned char *a = je_malloc(size), *b = malloc(size), *c = je_mallocx(size, 0);
		if (!a || !b || !c)
			return 3;
		memset(a, 1, size);
		memset(b, 2, size);
		memset(c, 3, size);
		sum += a[size - 1] + b[size - 1] + c[size - 1];
		je_free(a);
		free(b);
		je_dallocx(c, 0);
	}
	printf("two allocators side by side: sum %lu\n", sum);
	return 0;
}
