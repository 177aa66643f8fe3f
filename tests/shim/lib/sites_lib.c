/* Helper library of tests/shim/sites.c: a buffer allocated inside a
 * shared library built without frame pointers, two frames deep
 * (sites_lib_outer calls sites_lib_alloc, which calls malloc), so the
 * site, the func= rules and the profile's frames cross a library. */
#include <stdlib.h>
#include <string.h>

__attribute__((noipa, optimize("omit-frame-pointer"))) void *sites_lib_alloc(size_t size)
{
	char *buf = malloc(size);
	if (buf)
		memset(buf, 7, 64); /* work after the call: no tail call */
	return buf;
}

__attribute__((noipa, optimize("omit-frame-pointer"))) void *sites_lib_outer(size_t size)
{
	char *buf = sites_lib_alloc(size);
	if (buf)
		buf[1] = 8;
	return buf;
}
