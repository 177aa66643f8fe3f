/* Helper library of tests/hardening/helpers/deepbind.c, opened with
 * RTLD_DEEPBIND as plugins of some programs are: its own malloc family binds
 * to glibc's. What it does is what ordinary library code does: libc
 * functions allocate for it (strdup, getline, asprintf, realpath) and it
 * frees the result itself; it mallocs and frees its own buffers; it hands
 * the program a string the program frees, and frees or grows what the
 * program hands it. It defines helper(), as the program does: RTLD_DEEPBIND
 * exists so that its calls reach its own (a plugin bundling its own copy of
 * a library). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libc allocates, the library frees: the everyday pattern. */
int deep_libc_roundtrip(int rounds)
{
	int ok = 0;
	for (int i = 0; i < rounds; i++) {
		char *s = strdup("a string duplicated by libc for a DEEPBIND library");
		char *t = NULL;
		int n = asprintf(&t, "%s/%d", s ? s : "", i);
		char *real = realpath("/", NULL);
		char text[] = "first line\nsecond line\n";
		FILE *f = fmemopen(text, sizeof(text) - 1, "r");
		char *line = NULL;
		size_t cap = 0;
		ssize_t len = f ? getline(&line, &cap, f) : -1;
		if (f)
			fclose(f);
		ok += s && n > 0 && t && real && strcmp(real, "/") == 0 && len == 11;
		free(line);
		free(real);
		free(t);
		free(s);
	}
	return ok;
}

/* The library's own buffers. */
int deep_own_buffers(int rounds)
{
	int ok = 0;
	for (int i = 0; i < rounds; i++) {
		size_t size = (size_t)(i % 7 + 1) * 40000;
		char *p = malloc(size);
		if (!p)
			continue;
		memset(p, i, size);
		p = realloc(p, size * 3);
		if (p && p[size - 1] == (char)i)
			ok++;
		free(p);
	}
	return ok;
}

/* A string the program frees (glibc's: the shim sends it back there). */
char *deep_make_string(const char *text)
{
	char *copy = malloc(strlen(text) + 1);
	if (copy)
		strcpy(copy, text);
	return copy;
}

/* Defined by the program too: DEEPBIND binds the plugin's calls here. */
__attribute__((noinline)) const char *helper(void)
{
	return "plugin";
}

/* Which helper() the plugin's own call reaches. */
const char *deep_which_helper(void)
{
	return helper();
}

/* The program's pointers, freed and grown by the plugin. */
void deep_free(void *ptr)
{
	free(ptr);
}

void *deep_realloc(void *ptr, size_t size)
{
	return realloc(ptr, size);
}
