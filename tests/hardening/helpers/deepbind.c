/* A program that loads a plugin with RTLD_DEEPBIND (helpers/lib/deep.so,
 * next to this program) and uses it: the plugin frees what libc allocated
 * for it, keeps its own buffers, and hands the program strings to free.
 * Prints one line per step; the output must be the same with and without
 * the shim (tests/hardening/hostile.bats). "deepbind local" loads it with
 * RTLD_LOCAL only (no DEEPBIND), the control. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int deep = !(argc > 1 && strcmp(argv[1], "local") == 0);
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n <= 0)
		return 2;
	path[n] = '\0';
	strcpy(strrchr(path, '/'), "/lib/deep.so");
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL | (deep ? RTLD_DEEPBIND : 0));
	if (!lib) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		return 2;
	}
	int (*libc_roundtrip)(int) = (int (*)(int))dlsym(lib, "deep_libc_roundtrip");
	int (*own_buffers)(int) = (int (*)(int))dlsym(lib, "deep_own_buffers");
	char *(*make_string)(const char *) = (char *(*)(const char *))dlsym(lib, "deep_make_string");
	if (!libc_roundtrip || !own_buffers || !make_string)
		return 2;
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
	printf("libc allocations freed by the plugin: %d of 100\n", libc_roundtrip(100));
	fflush(stdout);
	dlclose(lib);
	printf("done\n");
	return 0;
}
