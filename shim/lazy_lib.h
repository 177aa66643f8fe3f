/* Libraries the shim opens at their first use (libnuma, hwloc). */
#ifndef AMLSHIM_LAZY_LIB_H
#define AMLSHIM_LAZY_LIB_H

#include <stddef.h>

/* Opens soname and fills slots[i] with names[i], for i < count: all of
 * them (0), or none and the library closed again (-1). */
int shim_lazy_open(const char *soname, const char *const *names, void **slots, size_t count);

#endif
