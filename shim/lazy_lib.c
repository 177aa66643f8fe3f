/* Libraries the shim opens at their first use (numa_loader.c,
 * hwloc_loader.c): a table of functions, all found or none used. */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "lazy_lib.h"
#include "shim.h"

int shim_lazy_open(const char *soname, const char *const *names, void **slots, size_t count)
{
	shim_thread_busy++; /* dlopen allocates: the plain path serves it */
	void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	size_t found = 0;
	for (size_t i = 0; lib && i < count; i++)
		found += (slots[i] = dlsym(lib, names[i])) != NULL;
	if (lib && found != count) {
		for (size_t i = 0; i < count; i++)
			slots[i] = NULL;
		dlclose(lib);
	}
	shim_thread_busy--;
	return lib && found == count ? 0 : -1;
}
