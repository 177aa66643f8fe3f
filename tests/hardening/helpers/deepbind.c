/* A program that loads a plugin with RTLD_DEEPBIND (helpers/lib/deep.so,
 * next to this program) and uses it: the plugin frees what libc allocated
 * for it, keeps its own buffers, hands the program strings to free, and
 * frees and grows the program's. Both define helper(): with RTLD_DEEPBIND
 * the plugin's call reaches its own, without it the program's (exported:
 * built with -rdynamic). Prints one line per step; the output must be the
 * same with and without the shim (tests/hardening/hostile.bats).
 * "deepbind local" loads it with RTLD_LOCAL only (no DEEPBIND), the
 * control; "deepbind name" loads it by name, found through the program's
 * RUNPATH ($ORIGIN/lib). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The plugin defines one too. */
__attribute__((noinline)) const char *helper(void)
{
	return "program";
}

int main(int argc, char **argv)
{
	int deep = !(argc > 1 && strcmp(argv[1], "local") == 0);
	int by_name = argc > 1 && strcmp(argv[1], "name") == 0;
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n <= 0)
		return 2;
	path[n] = '\0';
	strcpy(strrchr(path, '/'), "/lib/deep.so");
	if (by_name)
		strcpy(path, "deep.so");
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL | (deep ? RTLD_DEEPBIND : 0));
	if (!lib) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		return 2;
	}
	int (*libc_roundtrip)(int) = (int (*)(int))dlsym(lib, "deep_libc_roundtrip");
	int (*own_buffers)(int) = (int (*)(int))dlsym(lib, "deep_own_buffers");
	char *(*make_string)(const char *) = (char *(*)(const char *))dlsym(lib, "deep_make_string");
	const char *(*which_helper)(void) = (const char *(*)(void))dlsym(lib, "deep_which_helper");
	void (*deep_free)(void *) = (void (*)(void *))dlsym(lib, "deep_free");
	void *(*deep_realloc)(void *, size_t) = (void *(*)(void *, size_t))dlsym(lib, "deep_realloc");
	if (!libc_roundtrip || !own_buffers || !make_string || !which_helper || !deep_free || !deep_realloc)
		return 2;
	printf("helper called by the program: %s\n", helper());
	printf("helper called by the plugin: %s\n", which_helper());
	fflush(stdout);
	printf("own buffers: %d of 100\n", own_buffers(100));
	fflush(stdout);
	for (int i = 0; i < 50; i++) {
		char *s = make_string("handed to the program");
		char *bigger = realloc(s, 100000); /* the program grows it, then frees it */
		if (!bigger)
			return 3;
		free(bigger);
	}
	printf("strings handed over: 50\n");
	fflush(stdout);
	/* The program's memory (small, large, from libc) freed and grown by the plugin. */
	int crossed = 0;
	for (int i = 0; i < 50; i++) {
		size_t size = (size_t)(i % 5) * 50000 + 24;
		char *mine = malloc(size);
		char *dup = strdup("the program's copy, freed by the plugin");
		if (!mine || !dup)
			return 3;
		memset(mine, 'p', size);
		char *grown = deep_realloc(mine, size * 4);
		if (!grown)
			return 3;
		crossed += grown[size - 1] == 'p';
		deep_free(grown);
		deep_free(dup);
	}
	printf("program buffers freed by the plugin: %d of 50\n", crossed);
	fflush(stdout);
	printf("libc allocations freed by the plugin: %d of 100\n", libc_roundtrip(100));
	fflush(stdout);
	dlclose(lib);
	printf("done\n");
	return 0;
}
