/* hwloc, opened at its first use. The hwloc areas are linked into the shim
 * (one area library, one aml_errno per process), but hwloc is not: loading
 * it costs every process about a millisecond at start, and only a ranked
 * policy (bandwidth, latency, capacity) calls it. So the shim defines the
 * hwloc functions the areas use (areas/external_hwloc.h: the list and why),
 * hidden, as forwarders that open libhwloc at the first call. Without it
 * (or with one lacking a function) they answer as a failing hwloc: no
 * topology, so no hwloc area. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stddef.h>

#include "external_hwloc.h"
#include "lazy_lib.h"

#define SLOT(type, name, params, args, fail) type(*name) params;
#define VOID_SLOT(name, params, args) void(*name) params;
static struct {
	AML_HWLOC_CALLS(SLOT, VOID_SLOT)
} libhwloc;
static pthread_once_t libhwloc_once = PTHREAD_ONCE_INIT;

#define NAME(type, name, params, args, fail) #name,
#define VOID_NAME(name, params, args) #name,
static const char *const names[] = {AML_HWLOC_CALLS(NAME, VOID_NAME)};
_Static_assert(sizeof(names) / sizeof(names[0]) == sizeof(libhwloc) / sizeof(void *),
               "one name per hwloc function");

/* All or nothing: a libhwloc missing one of these is not used. */
static void open_libhwloc(void)
{
	shim_lazy_open(AML_HWLOC_SONAME, names, (void **)&libhwloc, sizeof(names) / sizeof(names[0]));
}

static int have_libhwloc(void)
{
	pthread_once(&libhwloc_once, open_libhwloc);
	return libhwloc.hwloc_topology_init != NULL;
}

#define FORWARD(type, name, params, args, fail)                    \
	type name params                                           \
	{                                                          \
		return have_libhwloc() ? libhwloc.name args : fail; \
	}
#define VOID_FORWARD(name, params, args)   \
	void name params                   \
	{                                  \
		if (have_libhwloc())       \
			libhwloc.name args; \
	}
AML_HWLOC_CALLS(FORWARD, VOID_FORWARD)
