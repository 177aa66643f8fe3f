/* The contract: what the area library calls outside itself, besides the
 * kernel (which only os.h calls). The library is built twice from the same
 * objects, and the same call may reach different code in each:
 *
 *   libaml.so, libaml.a in programs and the amlshim command:
 *              every name below is the C library's, libnuma's, hwloc's.
 *   libaml.a inside libamlshim.so (linked -Bsymbolic): a name the shim
 *              defines itself binds to the shim's definition.
 *
 * Nothing else is called; a new outside call is added to a list here, with
 * what it binds to inside the shim.
 *
 * ---- the C library's allocator: malloc, calloc, free (AML_INNER_MALLOC) ----
 * Inside the shim these are the shim's own exported malloc/calloc/free. Safe
 * because the shim calls the areas only with shim_thread_busy raised (area
 * creation in shim_routes_resolve, aml_area_mmap/munmap in the pools): a
 * busy thread's allocations take the plain path (the private jemalloc's
 * small path), which never calls back into an area or takes a pool lock.
 * One exception: a large realloc asks aml_area_linux_fits (through
 * amlshim_resolved_fits) without it, so that function and aml_node_room
 * must never allocate (they read sysfs through aml_os_read_file).
 *
 * ---- the dynamic loader: dlopen, dlsym, dlclose (areas/cuda_runtime.c) ----
 * libcudart is opened at the first CUDA area, never linked. Inside the shim
 * dlopen is the shim's exported one (shim/dlopen.c), which passes a plain
 * open through to glibc.
 *
 * ---- libnuma: the functions below (AML_EXTERNAL_LIBNUMA) ----
 * The Linux and block areas take libnuma's struct bitmask in their API. In
 * libaml.so they are libnuma's own (linked, -lnuma). Inside the shim they
 * are hidden forwarders (shim/numa_loader.c) that open libnuma.so.1 at the
 * first call: libnuma's constructor reads /proc/self/status and sysfs, about
 * 0.2 ms of every process under the shim, and a program with no placement
 * never needs it. The loader forwards this list and the few more that
 * policy/resolve.c uses. */
#ifndef AML_AREAS_EXTERNAL_H
#define AML_AREAS_EXTERNAL_H

#include <dlfcn.h>
#include <stdlib.h>
#include <numa.h>

/* libnuma functions the areas call, as X(name). */
#define AML_EXTERNAL_LIBNUMA(X)    \
	X(numa_available)          \
	X(numa_allocate_nodemask)  \
	X(numa_get_mems_allowed)   \
	X(numa_bitmask_free)       \
	X(numa_bitmask_isbitset)   \
	X(copy_bitmask_to_bitmask)

/* ---- hwloc: the functions the hwloc areas call ----
 * Listed in areas/external_hwloc.h (AML_HWLOC_CALLS), with why: hwloc's own
 * where libaml is linked with -lhwloc; inside the shim, forwarders that open
 * libhwloc at the first call (shim/hwloc_loader.c). */

#endif
